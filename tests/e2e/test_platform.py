"""End to end: the four services as processes, real NATS and store, driven through the public REST API.

2,000 posts for two tenants (10% duplicates) go in through REST; the NLP service is SIGKILLed in the
middle of the stream and restarted. Afterwards every unique post must be queryable with its
enrichment, the time-series must count each unique post exactly once, and no tenant may see the
other's data on any endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dengar_cli.demo import generate_demo_posts
from dengar_cli.platform import Platform

pytestmark = pytest.mark.e2e

UNIQUE_PER_TENANT = 900
DUPLICATES_PER_TENANT = 100


def _posts_for(tenant_seed: int) -> tuple[list[dict], list[dict]]:
    unique = generate_demo_posts(UNIQUE_PER_TENANT, seed=tenant_seed)
    ids = {p["external_id"] for p in unique}
    assert len(ids) == UNIQUE_PER_TENANT
    dupes = [dict(p) for p in unique[::UNIQUE_PER_TENANT // DUPLICATES_PER_TENANT]][:DUPLICATES_PER_TENANT]
    return unique, dupes


def _all_mentions(c: httpx.Client, since: datetime, until: datetime) -> list[dict]:
    out: list[dict] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 200, "from": since.isoformat(), "to": until.isoformat()}
        if cursor:
            params["cursor"] = cursor
        r = c.get("/v1/mentions", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        out.extend(body["data"])
        cursor = body.get("next_cursor")
        if not cursor:
            return out


def _timeseries_total(c: httpx.Client, since: datetime, until: datetime) -> int:
    r = c.get("/v1/analytics/timeseries", params={"metric": "volume", "interval": "day",
                                                  "from": since.isoformat(), "to": until.isoformat()})
    assert r.status_code == 200, r.text
    return sum(int(p["volume"]) for p in r.json()["points"])


def _wait_for_total(c: httpx.Client, since: datetime, until: datetime, expected: int,
                    timeout: float = 300) -> int:
    deadline = time.monotonic() + timeout
    total = -1
    while time.monotonic() < deadline:
        total = _timeseries_total(c, since, until)
        if total >= expected:
            return total
        time.sleep(1.0)
    return total


def test_ingest_enrich_query_isolated_and_exactly_once(
        platform: Platform, new_tenant: Callable[[str, str], str],
        api: Callable[[str], httpx.Client]) -> None:
    keys = {"alpha": new_tenant("Alpha Foods", "alpha"),
            "beta": new_tenant("Beta Mart", "beta")}
    data = {"alpha": _posts_for(11), "beta": _posts_for(23)}
    now = datetime.now(UTC)
    since, until = now - timedelta(days=30), now + timedelta(days=2)

    # Interleave both tenants' batches; duplicates arrive in later requests than their originals.
    per_tenant = {
        tenant: [(tenant, (u + d)[i:i + 100]) for i in range(0, len(u) + len(d), 100)]
        for tenant, (u, d) in data.items()
    }
    batches = [b for pair in zip(per_tenant["alpha"], per_tenant["beta"], strict=True) for b in pair]

    killed = False
    accepted = {"alpha": 0, "beta": 0}
    for n, (tenant, batch) in enumerate(batches):
        with api(keys[tenant]) as c:
            r = c.post("/v1/posts", json={"posts": batch})
        assert r.status_code == 202, r.text
        assert r.json()["rejected"] == 0
        accepted[tenant] += r.json()["accepted"]
        if not killed and n == len(batches) // 2:
            # Mid-stream crash: unacked messages must be redelivered to the new process.
            platform.procs["nlp"].kill()
            killed = True
            time.sleep(0.5)
            platform.restart("nlp")
    assert killed

    for tenant in ("alpha", "beta"):
        with api(keys[tenant]) as c:
            total = _wait_for_total(c, since, until, UNIQUE_PER_TENANT)
            assert total == UNIQUE_PER_TENANT, f"{tenant}: timeseries counts {total}"

    # Give redeliveries a chance to (wrongly) count twice before checking again.
    time.sleep(3)
    for tenant, (unique, _) in data.items():
        with api(keys[tenant]) as c:
            assert _timeseries_total(c, since, until) == UNIQUE_PER_TENANT
            mentions = _all_mentions(c, since, until)
            assert len(mentions) == UNIQUE_PER_TENANT
            assert len({m["id"] for m in mentions}) == UNIQUE_PER_TENANT
            assert {m["external_id"] for m in mentions} == {p["external_id"] for p in unique}
            for m in mentions:
                assert m["sentiment"]["label"] in {"negative", "neutral", "positive"}
                assert m["language"]
            one = c.get(f"/v1/mentions/{mentions[0]['id']}")
            assert one.status_code == 200 and one.json()["id"] == mentions[0]["id"]
            summary = c.get("/v1/analytics/summary", params={"from": since.isoformat(),
                                                             "to": until.isoformat()})
            assert summary.status_code == 200 and summary.json()["volume"] == UNIQUE_PER_TENANT

    # Isolation on every endpoint: alpha's key never reveals beta's data.
    with api(keys["beta"]) as c:
        beta_ids = [m["id"] for m in _all_mentions(c, since, until)[:20]]
    with api(keys["alpha"]) as c:
        for mid in beta_ids:
            assert c.get(f"/v1/mentions/{mid}").status_code == 404
        alpha_texts = {m["text"] for m in _all_mentions(c, since, until)}
        beta_only = {p["text"] for p in data["beta"][0]} - alpha_texts
        word = next(iter(beta_only)).split()[0]
        found = c.get("/v1/mentions", params={"q": word, "limit": 200}).json()["data"]
        assert all(m["text"] in alpha_texts for m in found)

    # One trace follows a post from the HTTP request through gRPC and both NATS hops.
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    post = {"platform": "x", "external_id": "traced-1", "text": "Tracing this delivery complaint",
            "created_at": now.isoformat()}
    with api(keys["alpha"]) as c:
        r = c.post("/v1/posts", json={"posts": [post]},
                   headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
        assert r.status_code == 202, r.text
        [mid] = r.json()["ids"]
        deadline = time.monotonic() + 60
        got = c.get(f"/v1/mentions/{mid}")
        while got.status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.5)
            got = c.get(f"/v1/mentions/{mid}")
        assert got.status_code == 200, got.text
        assert got.json()["trace_id"] == trace_id

    # The platform is still healthy after the crash.
    assert httpx.get(f"{platform.api_url}/readyz", timeout=10).status_code == 200
