"""Scale-out on real engines: a three-node nats-server JetStream cluster with R3 streams, two
replicas each of the collector, nlp and insights (sharing their durable consumers; the gateway
balances its gRPC calls over them) and a gateway, under a steady stream of posts for two tenants
(REST with Idempotency-Keys, signed webhook pushes, deliberate duplicates). In the middle of the
stream the node leading the collected-posts stream is SIGKILLed and stays down.

Afterwards, as in the chaos test: every unique post is stored exactly once, the per-query counts
are exact and every rollup equals a recount from the stored mentions.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_chaos import (
    BRANDS,
    SINCE,
    UNTIL,
    Producer,
    _idle,
    _key,
    _mentions,
    _progress,
    _recount,
    _volume,
    _wait,
)

from dengar_cli.platform import Platform

pytestmark = pytest.mark.e2e

REPLICATED = ("collector", "nlp", "insights")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    home: Path = tmp_path_factory.mktemp("cluster")
    env = {
        # A batch whose acks died with the node comes back in seconds rather than a minute.
        "DENGAR_INSIGHTS__ACK_WAIT_S": "15",
        "DENGAR_GATEWAY__IDEMPOTENCY__LOCK_S": "5",
    }
    p = Platform(home=home, subject_root="cluster", db_prefix="cluster", env=env, replicas=2, nats_nodes=3)
    try:
        p.start()
        yield p
    finally:
        p.stop()


async def _stream_state(p: Platform) -> dict[str, tuple[int, str, int]]:
    """Per stream: (replicas configured, leader node, replicas seen by the leader)."""
    from dengar_common.bus import connect

    assert p.infra is not None
    nc = await connect(p.infra.nats_url, name="cluster-test")
    try:
        out = {}
        for info in await nc.jetstream().streams_info():
            assert info.cluster is not None
            out[info.config.name] = (info.config.num_replicas or 1, info.cluster.leader or "",
                                     1 + len(info.cluster.replicas or []))
        return out
    finally:
        await nc.close()


def test_every_post_is_stored_once_when_a_nats_node_dies_under_replicated_services(cluster) -> None:
    p = cluster
    assert p.infra is not None
    assert {sp.service for sp in p.procs.values()} == {*REPLICATED, "gateway"}
    assert all(len(p.instances(s)) == 2 for s in REPLICATED)
    streams = asyncio.run(_stream_state(p))
    collected = p.subject_root.upper() + "_COLLECTED"
    assert collected in streams, streams
    assert all(r == 3 and seen == 3 for r, _, seen in streams.values()), streams

    keys = {t: _key(p.admin("tenants", "create", t.title(), "--id", t)) for t in BRANDS}
    queries: dict[str, str] = {}
    for tenant, brand in BRANDS.items():
        with httpx.Client(base_url=p.api_url, headers={"Authorization": f"Bearer {keys[tenant]}"},
                          timeout=30) as c:
            r = c.post("/v1/queries", json={"name": "brand", "role": "brand", "expression": brand})
            assert r.status_code == 201, r.text
            queries[tenant] = r.json()["id"]
    with httpx.Client(base_url=p.api_url, headers={"Authorization": f"Bearer {keys['chaosb']}"},
                      timeout=30) as c:
        hook = c.post("/v1/sources", json={"name": "CRM", "kind": "webhook"})
        assert hook.status_code == 201, hook.text
        hook_b = (hook.json()["id"], hook.json()["webhook_secret"])

    producers = [Producer(p.api_url, keys["chaosa"], "chaosa", None),
                 Producer(p.api_url, keys["chaosb"], "chaosb", hook_b)]
    try:
        for pr in producers:
            pr.start()
        _progress(producers, 4)
        # The node that leads the collected-posts stream: its loss forces a leader election
        # while posts are being published to it and consumed from it.
        leader = streams[collected][1]
        index = next(i for i, node in enumerate(p.infra.cluster) if node.name == f"nats-server-{leader}")
        p.infra.kill_nats_node(index)
        _progress(producers, 6)
        for pr in producers:
            pr.done.set()
        for pr in producers:
            pr.join(timeout=400)
            assert pr.error is None, pr.error
            assert not pr.is_alive()
    finally:
        for pr in producers:
            pr.done.set()

    after = asyncio.run(_stream_state(p))
    assert after[collected][1] not in ("", leader), after[collected]
    for pr in producers:
        with httpx.Client(base_url=p.api_url, headers={"Authorization": f"Bearer {pr.key}"}, timeout=60) as c:
            _wait(lambda c=c, pr=pr: _volume(c) >= len(pr.sent), f"{pr.tenant}'s posts to be counted",
                  timeout=300, every=2)
    # Redeliveries still on their way could (wrongly) count a post again: let them all land.
    _wait(lambda: asyncio.run(_idle(p)), "every consumer to be idle", timeout=300, every=2)

    for pr in producers:
        with httpx.Client(base_url=p.api_url, headers={"Authorization": f"Bearer {pr.key}"}, timeout=60) as c:
            unique = pr.sent
            mentions = _mentions(c)
            by_post = Counter(m["external_id"] for m in mentions)
            assert [e for e, k in by_post.items() if k > 1] == [], f"{pr.tenant}: stored twice"
            assert set(by_post) == set(unique), f"{pr.tenant}: lost {set(unique) - set(by_post)}"
            assert _volume(c) == len(unique)
            window = {"from": SINCE.isoformat(), "to": UNTIL.isoformat()}
            tagged = {m["external_id"] for m in _mentions(c, query_id=queries[pr.tenant])}
            assert tagged == {e for e, t in unique.items() if BRANDS[pr.tenant] in t}
            r = c.get("/v1/analytics/summary", params={**window, "query_id": queries[pr.tenant]})
            assert r.status_code == 200, r.text
            assert int(r.json()["volume"]) == len(tagged)
        actual, expected = asyncio.run(_recount(p, pr.tenant))
        assert expected, f"{pr.tenant}: no stored mentions to recount"
        assert actual == expected, f"{pr.tenant}: rollups differ from a recount"

    # Every replica took part and survived: each consumer's replicas joined its durable.
    for sp in p.procs.values():
        assert sp.proc.poll() is None, f"{sp.name} exited; see {sp.log_path}"
    for sp in [*p.instances("nlp"), *p.instances("insights")]:
        assert "consuming" in sp.log_path.read_text(errors="replace"), sp.name
