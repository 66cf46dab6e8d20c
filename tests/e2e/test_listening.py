"""End to end: listening queries tag posts from every way in, and share of voice rests on the tags.

Posts arrive through REST, a signed webhook push, a CSV import and an RSS source polled by the
scheduler (served by a local feed server standing in for a news site). Every one must be tagged with
the listening queries it matches, and the per-query mention lists, the share of voice and the
sources' statistics must agree with what was sent.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import http.server
import io
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from dengar_cli.platform import Platform

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC).replace(microsecond=0)

# (external id, text): which brand each mentions is in the text itself.
REST_POSTS = (
    [(f"r-k{i}", f"Kirimin order {i} arrived late again, telat {i * 5} menit") for i in range(12)]
    + [(f"r-g{i}", f"GoCepat driver {i} was friendly and fast") for i in range(6)]
    + [(f"r-b{i}", f"Switched from Kirimin to Go Cepat, order {i} was cheaper") for i in range(2)]
    + [(f"r-n{i}", f"Cooking at home tonight, recipe number {i}") for i in range(4)]
)
PUSH_POSTS = [("w-k0", "@kirimin_id refund belum masuk"), ("w-k1", "Kirimin Food promo today"),
              ("w-k2", "kirimin app crashed at checkout"), ("w-g0", "gocepat ongkirnya naik")]
CSV_ROWS = [("c-k0", "Kirimin courier lost my parcel"), ("c-k1", "KIRIMIN customer service helped fast"),
            ("c-k2", "pakai kirimin lagi, cepat"), ("c-k3", "Kirimin prices went up"),
            ("c-k4", "kirimin late delivery in Bandung"), ("c-g0", "GoCepat new rider jacket"),
            ("c-g1", "gocepat refund done in a day"), ("c-g2", "Go Cepat app update is slow"),
            ("c-g3", "GoCepat Makan lunch promo")]
FEED_ITEMS = [("GoCepat expands food delivery to Medan", "feed-1"),
              ("Kirimin unveils a new logo", "feed-2")]
BRAND_IDS = {e for e, t in REST_POSTS + PUSH_POSTS + CSV_ROWS if "kirimin" in t.lower()} | {"feed-2"}
COMPETITOR_IDS = {e for e, t in REST_POSTS + PUSH_POSTS + CSV_ROWS
                  if "gocepat" in t.lower() or "go cepat" in t.lower()} | {"feed-1"}
TOTAL = len(REST_POSTS) + len(PUSH_POSTS) + len(CSV_ROWS) + len(FEED_ITEMS)


def _rss() -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>https://news.example/{guid}</link><guid>{guid}</guid>"
        f"<description>{title}.</description>"
        f"<pubDate>{format_datetime(NOW - timedelta(minutes=n + 1))}</pubDate></item>"
        for n, (title, guid) in enumerate(FEED_ITEMS))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Berita</title>'
            f"<link>https://news.example/</link><description>d</description>{items}</channel></rss>"
            ).encode()


@pytest.fixture(scope="module")
def feed_url() -> Iterator[str]:
    body = _rss()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    finally:
        server.shutdown()


def _post(external_id: str, text: str) -> dict[str, str]:
    return {"platform": "x", "external_id": external_id, "text": text,
            "created_at": (NOW - timedelta(minutes=30)).isoformat()}


def _wait(what: str, check: object, timeout: float = 180) -> object:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1.0)
    raise AssertionError(f"timed out waiting for {what}: last {value!r}")


def _mention_ids(c: httpx.Client, query_id: str | None = None) -> set[str]:
    params: dict[str, str | int] = {"limit": 200, "from": (NOW - timedelta(days=1)).isoformat(),
                                    "to": (NOW + timedelta(days=1)).isoformat()}
    if query_id:
        params["query_id"] = query_id
    r = c.get("/v1/mentions", params=params)
    assert r.status_code == 200, r.text
    assert r.json().get("next_cursor") is None
    return {m["external_id"] for m in r.json()["data"]}


def test_queries_tag_every_way_in_and_share_of_voice(
        platform: Platform, feed_url: str, new_tenant: Callable[[str, str], str],
        api: Callable[[str], httpx.Client]) -> None:
    key = new_tenant("Gamma Listening", "gamma")
    with api(key) as c:
        bad = c.post("/v1/queries", json={"name": "broken", "role": "brand", "expression": "kirimin AND ("})
        assert bad.status_code == 422, bad.text
        assert bad.json()["position"] == len("kirimin AND (")
        brand = c.post("/v1/queries", json={"name": "Kirimin", "role": "brand",
                                            "expression": 'kirimin OR @kirimin_id OR "kirimin food"'})
        assert brand.status_code == 201, brand.text
        competitor = c.post("/v1/queries", json={"name": "GoCepat", "role": "competitor",
                                                 "expression": 'gocepat OR "go cepat"'})
        assert competitor.status_code == 201, competitor.text
        brand_id, competitor_id = brand.json()["id"], competitor.json()["id"]

        # 1. REST.
        r = c.post("/v1/posts", json={"posts": [_post(e, t) for e, t in REST_POSTS]})
        assert r.status_code == 202 and r.json()["accepted"] == len(REST_POSTS), r.text

        # 2. A signed webhook push (and a forged one, refused).
        hook = c.post("/v1/sources", json={"name": "CRM export", "kind": "webhook"})
        assert hook.status_code == 201, hook.text
        hook_id, secret = hook.json()["id"], hook.json()["webhook_secret"]
        body = httpx.Request("POST", "/", json={"posts": [_post(e, t) for e, t in PUSH_POSTS]}).content
        stamp = str(int(time.time()))
        mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        anonymous = httpx.Client(base_url=platform.api_url, timeout=60)
        forged = anonymous.post(f"/v1/webhooks/{hook_id}", content=body, headers={
            "Content-Type": "application/json", "X-Dengar-Timestamp": stamp,
            "X-Dengar-Signature": "sha256=" + "0" * 64})
        assert forged.status_code == 401, forged.text
        pushed = anonymous.post(f"/v1/webhooks/{hook_id}", content=body, headers={
            "Content-Type": "application/json", "X-Dengar-Timestamp": stamp,
            "X-Dengar-Signature": f"sha256={mac}"})
        assert pushed.status_code == 202 and pushed.json()["accepted"] == len(PUSH_POSTS), pushed.text

        # 3. A CSV import with one bad row (no text), reported with its line.
        rows = [(e, t, (NOW - timedelta(hours=1)).isoformat()) for e, t in CSV_ROWS]
        rows.insert(2, ("c-bad", "", NOW.isoformat()))
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([("id", "message", "posted"), *rows])
        upload = c.post("/v1/imports", files={"file": ("export.csv", out.getvalue(), "text/csv")},
                        data={"map": ["external_id=id", "text=message", "created_at=posted"],
                              "default_platform": "facebook"})
        assert upload.status_code == 202, upload.text
        job_url = upload.headers["Location"]

        def finished() -> dict | None:
            job = c.get(job_url).json()
            return job if job["state"] in ("succeeded", "failed") else None

        job = _wait("the import", finished)
        assert job["state"] == "succeeded", job
        assert (job["accepted"], job["rejected"]) == (len(CSV_ROWS), 1), job
        assert [e["line"] for e in job["errors"]] == [4], job

        # 4. An RSS source, polled by the scheduler.
        feed = c.post("/v1/sources", json={"name": "Berita", "kind": "rss",
                                           "config": {"feed_url": feed_url, "backfill_hours": 24}})
        assert feed.status_code == 201, feed.text
        feed_id = feed.json()["id"]
        source = _wait("the feed's first run", lambda: (s := c.get(f"/v1/sources/{feed_id}").json())
                       ["runs"] >= 1 and s)
        assert source["last_error"] is None and source["items_collected"] == len(FEED_ITEMS), source

        _wait("every post to be stored", lambda: len(_mention_ids(c)) >= TOTAL)
        time.sleep(2)  # a late duplicate would show up now
        assert len(_mention_ids(c)) == TOTAL
        assert _mention_ids(c, brand_id) == BRAND_IDS
        assert _mention_ids(c, competitor_id) == COMPETITOR_IDS

        window = {"from": (NOW - timedelta(days=1)).isoformat(), "to": (NOW + timedelta(days=1)).isoformat()}
        sov = c.get("/v1/analytics/share-of-voice", params=window)
        assert sov.status_code == 200, sov.text
        items = {i["query_id"]: i for i in sov.json()["items"]}
        assert [i["name"] for i in sov.json()["items"]] == ["Kirimin", "GoCepat"]
        assert items[brand_id]["volume"] == len(BRAND_IDS)
        assert items[competitor_id]["volume"] == len(COMPETITOR_IDS)
        assert sov.json()["total"] == len(BRAND_IDS) + len(COMPETITOR_IDS)
        assert abs(sum(i["share"] for i in items.values()) - 1) < 1e-9
        summary = c.get("/v1/analytics/summary", params={**window, "query_id": brand_id}).json()
        assert summary["volume"] == len(BRAND_IDS)

        hook_after = c.get(f"/v1/sources/{hook_id}").json()
        assert hook_after["items_collected"] == len(PUSH_POSTS), hook_after

    # Another tenant sees none of it.
    other = new_tenant("Delta", "delta")
    with api(other) as c:
        assert c.get(f"/v1/queries/{brand_id}").status_code == 404
        assert c.get(f"/v1/sources/{hook_id}").status_code == 404
        assert c.get(job_url).status_code == 404
        assert _mention_ids(c) == set()
