"""End to end: queries created (and narrowed) after the posts are stored still count them.

Posts go in through REST for a tenant with no listening queries, so nothing is tagged. Queries
created afterwards start a backfill (collector outbox → JetStream → insights job) whose progress
`GET /v1/queries/{id}` shows; once done, the share of voice counts the stored posts. Narrowing a
query re-tags them, removing the tags it no longer gives.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dengar_cli.platform import Platform

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC).replace(microsecond=0)
POSTS = ([(f"k{i}", f"Kirimin order {i} arrived late, telat lagi") for i in range(5)]
         + [(f"kf{i}", f"Kirimin courier {i} was fast") for i in range(3)]
         + [(f"g{i}", f"GoCepat rider {i} friendly") for i in range(4)]
         + [(f"n{i}", f"Cooking dinner at home, recipe {i}") for i in range(2)])
KIRIMIN = {e for e, t in POSTS if "kirimin" in t.lower()}
KIRIMIN_LATE = {e for e, t in POSTS if "kirimin" in t.lower() and "telat" in t}
GOCEPAT = {e for e, t in POSTS if "gocepat" in t.lower()}
WINDOW = {"from": (NOW - timedelta(days=1)).isoformat(), "to": (NOW + timedelta(days=1)).isoformat()}


def _wait(check: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached within {timeout}s"
        time.sleep(0.3)


def _done(c: httpx.Client, query_id: str, version: int) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        r = c.get(f"/v1/queries/{query_id}")
        assert r.status_code == 200, r.text
        b = r.json()["backfill"]
        assert b is not None and b["state"] != "failed", b
        return b if (b["version"], b["state"]) == (version, "done") else None

    return _wait(check, f"backfill of {query_id} v{version}")


def _tagged(c: httpx.Client, query_id: str) -> set[str]:
    r = c.get("/v1/mentions", params={**WINDOW, "query_id": query_id, "limit": 200})
    assert r.status_code == 200, r.text
    return {m["external_id"] for m in r.json()["data"]}


def test_queries_created_after_the_posts_count_them(
        platform: Platform, new_tenant: Callable[[str, str], str],
        api: Callable[[str], httpx.Client]) -> None:
    key = new_tenant("Backfill Co", "backfill")
    with api(key) as c:
        at = (NOW - timedelta(minutes=10)).isoformat()
        r = c.post("/v1/posts", json={"posts": [
            {"platform": "x", "external_id": e, "text": t, "created_at": at} for e, t in POSTS]})
        assert r.status_code == 202 and r.json()["accepted"] == len(POSTS), r.text

        def stored() -> bool:
            r = c.get("/v1/mentions", params={**WINDOW, "limit": 200})
            return len(r.json()["data"]) == len(POSTS)

        _wait(stored, "every post stored")
        empty = c.get("/v1/analytics/share-of-voice", params=WINDOW).json()
        assert empty["total"] == 0, empty

        brand = c.post("/v1/queries", json={"name": "Kirimin", "role": "brand", "expression": "kirimin"})
        rival = c.post("/v1/queries", json={"name": "GoCepat", "role": "competitor", "expression": "gocepat"})
        assert brand.status_code == rival.status_code == 201, (brand.text, rival.text)
        assert brand.json()["backfill"]["state"] == "pending"
        brand_id, rival_id = brand.json()["id"], rival.json()["id"]

        b = _done(c, brand_id, 1)
        assert (b["matched"], b["changed"]) == (len(KIRIMIN), len(KIRIMIN)) and b["scanned"] == len(POSTS)
        _done(c, rival_id, 1)
        listing = {q["id"]: q["backfill"]["state"] for q in c.get("/v1/queries").json()["data"]}
        assert listing == {brand_id: "done", rival_id: "done"}
        assert _tagged(c, brand_id) == KIRIMIN and _tagged(c, rival_id) == GOCEPAT

        sov = c.get("/v1/analytics/share-of-voice", params=WINDOW).json()
        items = {i["query_id"]: i["volume"] for i in sov["items"]}
        assert items == {brand_id: len(KIRIMIN), rival_id: len(GOCEPAT)}, sov
        assert sov["total"] == len(KIRIMIN) + len(GOCEPAT)

        # Narrowing the brand query removes the tags it no longer gives, and only those.
        r = c.patch(f"/v1/queries/{brand_id}", json={"expression": "kirimin AND telat"})
        assert r.status_code == 200 and r.json()["backfill"]["version"] == 2, r.text
        b = _done(c, brand_id, 2)
        assert (b["matched"], b["changed"]) == (len(KIRIMIN_LATE), len(KIRIMIN - KIRIMIN_LATE))
        assert _tagged(c, brand_id) == KIRIMIN_LATE
        sov = c.get("/v1/analytics/share-of-voice", params=WINDOW).json()
        assert {i["query_id"]: i["volume"] for i in sov["items"]} == {
            brand_id: len(KIRIMIN_LATE), rival_id: len(GOCEPAT)}
