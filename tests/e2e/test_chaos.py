"""Chaos, end to end: a platform of its own under a steady stream of posts for two tenants (REST with
Idempotency-Keys, signed webhook pushes, deliberate duplicates), while each of its processes fails in
turn: the collector, nlp, insights and the gateway are SIGKILLed, nats-server and the store are
restarted. The runner's supervisor (the one `dengar run` uses) brings each back on its port.

Afterwards: every unique post is queryable exactly once, every rollup equals a recount from the
stored mentions, the per-query counts are exact, and no alert notification arrived twice.

`DENGAR_CHAOS_ROUNDS` (1 in `make test`, more in `make chaos`) repeats the fault sequence.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import json
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from dengar_cli.platform import SERVICES, Platform
from dengar_cli.supervise import RestartPolicy, Supervisor

pytestmark = pytest.mark.e2e

ROUNDS = int(os.environ.get("DENGAR_CHAOS_ROUNDS", "1"))
BATCH = int(os.environ.get("DENGAR_CHAOS_BATCH", "8"))
# Between two requests of one producer: a steady stream, not a flood (2 shared cores).
PACE_S = 0.4
IMPORT_ROWS = int(os.environ.get("DENGAR_CHAOS_IMPORT_ROWS", "300"))
FAULTS = ("collector", "nlp", "insights", "gateway", "nats-server", "secantusd")
NOW = datetime.now(UTC).replace(microsecond=0)
SINCE, UNTIL = NOW - timedelta(days=2), NOW + timedelta(days=1)

TEMPLATES = [
    "{b} pengiriman telat lagi, pesanan no {n}",
    "{b} rasanya enak sekali, order no {n}",
    "Layanan {b} lambat banget hari ini, tiket {n}",
    "Saya suka promo {b}, kode {n}",
    "Ayo boikot {b} karena harga naik, catatan {n}",
    "Cuaca cerah di Bandung, tidak ada yang lain, hari {n}",
]
BRANDS = {"chaosa": "kopiku", "chaosb": "tehku"}


def _key(cli_output: str) -> str:
    m = re.search(r"dgr_[A-Za-z0-9_\-]+", cli_output)
    assert m, cli_output
    return m.group(0)


def _wait(cond: Callable[[], Any], what: str, timeout: float = 240.0, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(every)


class Receiver:
    """A local webhook channel target: counts each notification it receives by its key."""

    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()
        received = self.keys

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                doc = json.loads(body)
                received[f"{doc.get('id')} {doc.get('key')}"] += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


class Producer(threading.Thread):
    """One tenant's steady stream. Every request is retried until accepted (the faults make some
    fail); REST requests carry an Idempotency-Key, webhook pushes are re-signed on each try. Each
    request also re-sends two earlier posts, which must not count twice."""

    def __init__(self, api_url: str, key: str, tenant: str, hook: tuple[str, str] | None) -> None:
        super().__init__(name=f"producer-{tenant}", daemon=True)
        self.api_url, self.key, self.tenant, self.hook = api_url, key, tenant, hook
        self.sent: dict[str, str] = {}  # external_id -> text, accepted
        self.requests = 0
        self.retries = 0
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.rng = random.Random(tenant)

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.api_url, timeout=30) as c:
                n = 0
                while not self.done.is_set():
                    fresh = []
                    for _ in range(BATCH):
                        text = TEMPLATES[n % len(TEMPLATES)].format(b=BRANDS[self.tenant], n=n)
                        fresh.append((f"{self.tenant}-{n}", text))
                        n += 1
                    again = self.rng.sample(sorted(self.sent.items()), min(2, len(self.sent)))
                    posts = [self._post(e, t) for e, t in fresh + again]
                    self._deliver(c, posts, webhook=self.hook is not None and self.requests % 3 == 2)
                    self.sent.update(fresh)
                    self.requests += 1
                    self.done.wait(PACE_S)
        except BaseException as exc:  # reported by the test thread
            self.error = exc

    @staticmethod
    def _post(external_id: str, text: str) -> dict[str, Any]:
        return {"platform": "x", "external_id": external_id, "text": text, "lang": "id",
                "created_at": (NOW - timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
                "author": {"id": f"a-{external_id}", "handle": f"u_{external_id}"}}

    def _deliver(self, c: httpx.Client, posts: list[dict[str, Any]], *, webhook: bool) -> None:
        body = json.dumps({"posts": posts}).encode()
        idem = f"{self.tenant}-{self.requests}"
        deadline = time.monotonic() + 300
        while True:
            try:
                if webhook:
                    assert self.hook is not None
                    hook_id, secret = self.hook
                    stamp = str(int(time.time()))
                    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
                    r = c.post(f"/v1/webhooks/{hook_id}", content=body, headers={
                        "Content-Type": "application/json", "X-Dengar-Timestamp": stamp,
                        "X-Dengar-Signature": f"sha256={mac}"})
                else:
                    r = c.post("/v1/posts", content=body, headers={
                        "Content-Type": "application/json", "Authorization": f"Bearer {self.key}",
                        "Idempotency-Key": idem})
                if r.status_code == 202:
                    assert r.json()["rejected"] == 0, r.text
                    return
                # A dependency down (5xx), a retry racing the request a killed gateway left in flight
                # (409 until its lock expires), or the rate limit: the client tries again.
                assert r.status_code >= 500 or r.status_code in (409, 429), r.text
            except httpx.TransportError:
                pass
            self.retries += 1
            assert time.monotonic() < deadline, f"{self.tenant}: a request was refused for 300 s"
            time.sleep(0.3)


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, Supervisor]]:
    home: Path = tmp_path_factory.mktemp("chaos")
    env = {
        "DENGAR_INSIGHTS__EGRESS__ALLOW_PRIVATE": "true",
        # Recovery in seconds rather than minutes: a killed insights' batch comes back sooner, and an
        # Idempotency-Key a killed gateway left in flight can be taken over soon.
        "DENGAR_INSIGHTS__ACK_WAIT_S": "15",
        "DENGAR_GATEWAY__IDEMPOTENCY__LOCK_S": "5",
        "DENGAR_INSIGHTS__DELIVERIES__BACKOFF_BASE_S": "1",
        "DENGAR_INSIGHTS__DELIVERIES__BACKOFF_CAP_S": "5",
        # Small import batches, so that the collector's kill lands in the middle of the import, and
        # a short lease, so that the restarted collector resumes it soon.
        "DENGAR_COLLECTOR__IMPORTS__DIR": str(home / "imports"),
        "DENGAR_COLLECTOR__IMPORTS__BATCH_SIZE": "20",
        "DENGAR_COLLECTOR__IMPORTS__LEASE_S": "4",
    }
    p = Platform(home=home, subject_root="chaos", db_prefix="chaos", env=env)
    sup = Supervisor(p, RestartPolicy(base_s=0.5, cap_s=5, max_crashes=10 * ROUNDS + 10))
    try:
        p.start()
        sup.start(interval=0.2)
        yield p, sup
    finally:
        sup.stop()
        p.stop()


def _ready(p: Platform) -> bool:
    try:
        return httpx.get(f"{p.api_url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _fail(p: Platform, sup: Supervisor, name: str) -> None:
    """SIGKILL a service, or restart a server (SIGTERM: a restart, not a power cut); the supervisor
    starts it again on the same port. Returns once the platform answers ready again."""
    before = p.popen(name)
    restarts = sup.restarts(name)
    if name in SERVICES:
        before.kill()
    else:
        before.terminate()
    _wait(lambda: sup.restarts(name) > restarts and p.exit_code(name) is None, f"{name} to be restarted")
    if name in SERVICES:
        _wait(lambda: p.procs[name].port_file.exists(), f"{name} to listen", timeout=180)
    _wait(lambda: _ready(p), f"the platform to be ready after {name}", timeout=180)
    assert sup.failure is None, sup.failure


def _upload(api_url: str, key: str, sent: dict[str, str], tenant: str, tag: str) -> dict[str, str]:
    """A CSV import of IMPORT_ROWS new posts plus a few the stream already sent; retried like the
    stream (importing the same file again adds nothing). Returns the new posts."""
    brand = BRANDS[tenant]
    rows = {f"imp{tag}-{i}": TEMPLATES[i % len(TEMPLATES)].format(b=brand, n=f"i{tag}-{i}")
            for i in range(IMPORT_ROWS)}
    posted = (NOW - timedelta(minutes=20)).isoformat()
    again = list(sent.items())[:10]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [("id", "message", "posted"), *((e, t, posted) for e, t in [*rows.items(), *again])])
    deadline = time.monotonic() + 300
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        while True:
            try:
                r = c.post("/v1/imports", files={"file": ("chaos.csv", out.getvalue(), "text/csv")},
                           data={"map": ["external_id=id", "text=message", "created_at=posted"],
                                 "default_platform": "x"})
                if r.status_code == 202:
                    return rows
                assert r.status_code >= 500 or r.status_code in (409, 429), r.text
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the import was refused for 300 s"
            time.sleep(0.5)


def _imports_done(c: httpx.Client) -> bool:
    jobs = c.get("/v1/imports").json()["data"]
    for job in jobs:
        assert job["state"] != "failed", job
    return bool(jobs) and all(job["state"] == "succeeded" for job in jobs)


def _progress(producers: list[Producer], requests: int) -> None:
    marks = [pr.requests for pr in producers]
    for pr in producers:
        assert pr.error is None, pr.error
    _wait(lambda: all(pr.requests >= m + requests or pr.error
                      for pr, m in zip(producers, marks, strict=True)), "the stream to go on", timeout=300)


def _mentions(c: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 200, "from": SINCE.isoformat(), "to": UNTIL.isoformat(),
                                        **filters}
        if cursor:
            params["cursor"] = cursor
        r = c.get("/v1/mentions", params=params)
        assert r.status_code == 200, r.text
        out.extend(r.json()["data"])
        cursor = r.json().get("next_cursor")
        if not cursor:
            return out


def _volume(c: httpx.Client) -> int:
    r = c.get("/v1/analytics/summary", params={"from": SINCE.isoformat(), "to": UNTIL.isoformat()})
    assert r.status_code == 200, r.text
    return int(r.json()["volume"])


async def _idle(p: Platform) -> bool:
    """Nothing left to deliver or to acknowledge on any consumer of the platform's streams."""
    from dengar_common.bus import connect

    assert p.infra is not None
    nc = await connect(p.infra.nats_url, name="chaos-test")
    try:
        js = nc.jetstream()
        for stream in await js.streams_info():
            for info in await js.consumers_info(stream.config.name):
                if info.num_pending or info.num_ack_pending:
                    return False
        return True
    finally:
        await nc.close()


_META = {"_id", "tenant_id", "interval", "bucket_start", "ops", "lanes"}


def _flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, int]:
    out: dict[str, int] = {}
    for k, v in doc.items():
        if not prefix and k in _META:
            continue
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        elif v:
            out[f"{prefix}{k}"] = v
    return out


async def _recount(p: Platform, tenant: str) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """(rollups as stored, rollups recomputed from the stored mentions), as the insights
    integration tests recount them."""
    from dengar_common.mongo import make_client
    from dengar_insights.domain.mention import stored_contribution

    assert p.infra is not None
    client = make_client(p.infra.mongo_uri, app_name="chaos-test")
    try:
        db = client[f"{p.db_prefix}_insights"]
        expected: dict[str, dict[str, int]] = {}
        async for doc in db["mentions"].find({"tenant_id": tenant}):
            assert "pending" not in doc, doc["_id"]
            for bucket, counters in stored_contribution(doc).expand().items():
                acc = expected.setdefault(bucket, {})
                for k, v in counters.items():
                    acc[k] = acc.get(k, 0) + v
        actual = {}
        async for doc in db["rollups"].find({"tenant_id": tenant}):
            if flat := _flatten(doc):
                actual[doc["_id"]] = flat
        return actual, expected
    finally:
        await client.close()


def test_no_post_is_lost_or_counted_twice_while_every_process_fails_in_turn(chaos) -> None:
    p, sup = chaos
    keys = {t: _key(p.admin("tenants", "create", t.title(), "--id", t)) for t in BRANDS}
    receiver = Receiver()
    producers: list[Producer] = []
    try:
        queries: dict[str, dict[str, str]] = {}
        for tenant, brand in BRANDS.items():
            with httpx.Client(base_url=p.api_url, headers={"Authorization": f"Bearer {keys[tenant]}"},
                              timeout=30) as c:
                queries[tenant] = {}
                for name, expr in (("brand", brand), ("delay", "telat OR lambat")):
                    role = "brand" if name == "brand" else "topic"
                    r = c.post("/v1/queries", json={"name": name, "role": role, "expression": expr})
                    assert r.status_code == 201, r.text
                    queries[tenant][name] = r.json()["id"]
        with httpx.Client(base_url=p.api_url, headers={"Authorization": f"Bearer {keys['chaosa']}"},
                          timeout=30) as c:
            ch = c.post("/v1/alerts/channels", json={"name": "Ops", "kind": "webhook", "url": receiver.url})
            assert ch.status_code == 201, ch.text
            rule = c.post("/v1/alerts/rules", json={
                "name": "Boycott", "condition": "mention_match", "expression": "boikot",
                "severity": "critical", "channel_ids": [ch.json()["id"]]})
            assert rule.status_code == 201, rule.text
        with httpx.Client(base_url=p.api_url, headers={"Authorization": f"Bearer {keys['chaosb']}"},
                          timeout=30) as c:
            hook = c.post("/v1/sources", json={"name": "CRM", "kind": "webhook"})
            assert hook.status_code == 201, hook.text
            hook_b = (hook.json()["id"], hook.json()["webhook_secret"])

        producers = [Producer(p.api_url, keys["chaosa"], "chaosa", None),
                     Producer(p.api_url, keys["chaosb"], "chaosb", hook_b)]
        for pr in producers:
            pr.start()
        _progress(producers, 3)
        imported: dict[str, str] = {}
        for n in range(ROUNDS):
            for name in FAULTS:
                if name == "collector":
                    # Each round's import is underway while the collector dies.
                    imported.update(_upload(p.api_url, keys["chaosa"], producers[0].sent, "chaosa", str(n)))
                _fail(p, sup, name)
                _progress(producers, 3)
        for pr in producers:
            pr.done.set()
        for pr in producers:
            pr.join(timeout=400)
            assert pr.error is None, pr.error
            assert not pr.is_alive()
        with httpx.Client(base_url=p.api_url, headers={"Authorization": f"Bearer {keys['chaosa']}"},
                          timeout=60) as c:
            _wait(lambda: _imports_done(c), "the imports to finish", timeout=300, every=1)
        producers[0].sent.update(imported)

        for pr in producers:
            with httpx.Client(base_url=p.api_url, headers={"Authorization": f"Bearer {pr.key}"},
                              timeout=60) as c:
                _wait(lambda c=c, pr=pr: _volume(c) >= len(pr.sent), f"{pr.tenant}'s posts to be counted",
                      timeout=400, every=2)
        # Redeliveries still on their way could (wrongly) count a post again: let them all land.
        _wait(lambda: asyncio.run(_idle(p)), "every consumer to be idle", timeout=300, every=2)

        for pr in producers:
            with httpx.Client(base_url=p.api_url, headers={"Authorization": f"Bearer {pr.key}"},
                              timeout=60) as c:
                unique = pr.sent
                mentions = _mentions(c)
                by_post = Counter(m["external_id"] for m in mentions)
                assert [e for e, k in by_post.items() if k > 1] == [], f"{pr.tenant}: stored twice"
                assert set(by_post) == set(unique), f"{pr.tenant}: lost {set(unique) - set(by_post)}"
                assert len({m["id"] for m in mentions}) == len(unique)
                assert _volume(c) == len(unique)
                window = {"from": SINCE.isoformat(), "to": UNTIL.isoformat()}
                r = c.get("/v1/analytics/timeseries",
                          params={"metric": "volume", "interval": "hour", **window})
                assert sum(int(x["volume"]) for x in r.json()["points"]) == len(unique)

                # Per query: the tags, the counters and what the texts say all agree.
                brand = BRANDS[pr.tenant]
                want = {"brand": {e for e, t in unique.items() if brand in t},
                        "delay": {e for e, t in unique.items() if "telat" in t or "lambat" in t}}
                for name, qid in queries[pr.tenant].items():
                    tagged = {m["external_id"] for m in _mentions(c, query_id=qid)}
                    assert tagged == want[name], f"{pr.tenant}/{name}"
                    r = c.get("/v1/analytics/summary", params={**window, "query_id": qid})
                    assert r.status_code == 200, r.text
                    assert int(r.json()["volume"]) == len(want[name]), f"{pr.tenant}/{name}: {r.text}"

            actual, expected = asyncio.run(_recount(p, pr.tenant))
            assert expected, f"{pr.tenant}: no stored mentions to recount"
            assert actual == expected, f"{pr.tenant}: rollups differ from a recount"

        # The boycott posts fired an alert; each notification reached the channel exactly once.
        _wait(lambda: receiver.keys, "the alert's delivery", timeout=120)
        assert all(n == 1 for n in receiver.keys.values()), receiver.keys
        assert sup.failure is None
        assert {n: sup.restarts(n) for n in FAULTS} == dict.fromkeys(FAULTS, ROUNDS), \
            "a process crashed on its own (see the logs under the platform's home)"
    finally:
        for pr in producers:
            pr.done.set()
        receiver.close()
