"""GetTopics against the real store: posts with int8 embeddings in through ingest, topics out.

The embeddings are synthetic (a common direction, as e5's vectors have, plus one direction per
theme and noise); what is under test is the store path: the window reads, the registry in the
``topics`` collection, ids that persist across calls and service restarts, tenant isolation and
INVALID_ARGUMENT on bad input.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import numpy as np
import pytest
from insights_helpers import Env, enriched, make_settings, running, ts
from pymongo import AsyncMongoClient

from dengar.v1 import common_pb2, insights_pb2, insights_pb2_grpc
from dengar_common import grpcutil
from dengar_common.embedding import quantize

NEG = common_pb2.SENTIMENT_NEGATIVE
D = 384
DAY = timedelta(days=1)
START = datetime(2026, 11, 20, tzinfo=UTC)
QUERY = "q_brand00000000001"
THEMES = {"banjir": "Banjir lagi di jalan depan rumah, genangan tinggi sekali {n}",
          "flight": "My flight is delayed again at the gate, boarding chaos {n}",
          "promo": "Promo diskon voucher cashback hari ini mantap {n}"}
_BASIS, _ = np.linalg.qr(np.random.default_rng(5).normal(size=(D, len(THEMES) + 1)))


def vec(theme: str, rng: np.random.Generator) -> bytes:
    v = 3.0 * _BASIS[:, 0] + _BASIS[:, 1 + list(THEMES).index(theme)] + rng.normal(scale=0.02, size=D)
    return quantize(v / np.linalg.norm(v))


def post(tenant: str, ext: str, theme: str, at: datetime, rng: np.random.Generator,
         query_ids: tuple[str, ...] = (QUERY,)) -> common_pb2.EnrichedPost:
    e = enriched(tenant, ext, text=THEMES[theme].format(n=ext), sentiment=NEG, created_at=at,
                 aspects=(("delivery", NEG),) if theme == "banjir" else (), query_ids=query_ids)
    e.enrichment.embedding_i8 = vec(theme, rng)
    return e


@pytest.fixture
async def planted(env: Env) -> Env:
    rng = np.random.default_rng(1)
    # Day 0: banjir 12, promo 12. Day 1: banjir 24, flight 12 (promo gone). One post without a vector.
    plan = [(0, "banjir", 12), (0, "promo", 12), (1, "banjir", 24), (1, "flight", 12)]
    for day, theme, n in plan:
        for k in range(n):
            await env.send(post("acme", f"{theme}{day}-{k}", theme,
                                START + day * DAY + timedelta(minutes=50 * k), rng))
    bare = enriched("acme", "bare", text="no vector", created_at=START + DAY, query_ids=(QUERY,))
    await env.send(bare)
    for k in range(10):
        await env.send(post("beta", f"b{k}", "promo", START + DAY + timedelta(minutes=k), rng))
    await env.settle()
    return env


def request(tenant: str = "acme", day: int = 1, **kw: object) -> insights_pb2.GetTopicsRequest:
    return insights_pb2.GetTopicsRequest(
        tenant_id=tenant, start_time=ts(START + day * DAY), end_time=ts(START + (day + 1) * DAY),
        **kw)  # type: ignore[arg-type]  # loose kwargs


def theme(t: insights_pb2.EmergingTopic) -> str:
    words = " ".join(t.keywords)
    return next(name for name in THEMES if name in words)


async def test_topics_growth_and_stable_ids(planted: Env) -> None:
    first = await planted.stub.GetTopics(request(day=0))
    assert first.volume == 24 and first.previous_volume == 0 and not first.estimated
    before = {theme(t): t.id for t in first.topics}
    assert set(before) == {"banjir", "promo"}

    second = await planted.stub.GetTopics(request(day=1, limit=10))
    assert (second.volume, second.previous_volume, second.sampled) == (36, 24, 36)
    assert second.previous_start_time.ToDatetime(tzinfo=UTC) == START
    got = {theme(t): t for t in second.topics}
    assert set(got) == {"banjir", "flight", "promo"}
    banjir, flight, promo = got["banjir"], got["flight"], got["promo"]
    assert banjir.id == before["banjir"] and banjir.status == "growing"
    assert (banjir.volume, banjir.previous_volume, banjir.change, banjir.relative_change) == (24, 12, 12, 1.0)
    assert (banjir.negative, [(a.key, a.count) for a in banjir.aspects]) == (24, [("delivery", 24)])
    assert len(banjir.representatives) == 3
    assert all(r.snippet.startswith("Banjir lagi") for r in banjir.representatives)
    assert flight.status == "new" and flight.id not in before.values()
    assert not flight.HasField("relative_change")
    assert promo.id == before["promo"] and promo.status == "fading" and promo.volume == 0

    # Scoped to the query: its own registry, so its own ids; then a limit.
    scoped = await planted.stub.GetTopics(request(day=1, query_id=QUERY, limit=1))
    assert len(scoped.topics) == 1 and scoped.topics[0].id not in before.values()


async def test_ids_survive_a_restart_and_tenants_are_apart(planted: Env, infra, unique: str) -> None:
    first = await planted.stub.GetTopics(request(day=1))
    beta = await planted.stub.GetTopics(request("beta", day=1))
    assert beta.volume == 10 and {theme(t) for t in beta.topics} == {"promo"}
    assert {t.id for t in beta.topics}.isdisjoint({t.id for t in first.topics})
    acme_ids = {r.id for t in first.topics for r in t.representatives}
    beta_ids = {r.id for t in beta.topics for r in t.representatives}
    assert acme_ids.isdisjoint(beta_ids)

    # The registry is in the store: another process (a restart, a replica) gives the same ids.
    async with running(make_settings(infra, unique, durable="other")) as other:
        channel = grpcutil.insecure_channel(f"127.0.0.1:{other.port}")
        try:
            again = await insights_pb2_grpc.InsightsServiceStub(channel).GetTopics(request(day=1))
        finally:
            await channel.close()
    assert [(t.id, t.volume) for t in again.topics] == [(t.id, t.volume) for t in first.topics]

    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_uri)
    try:
        docs = await client[f"{unique}_insights"]["topics"].find({}).to_list()
    finally:
        await client.close()
    assert {(d["tenant_id"], d["scope"]) for d in docs} == {("acme", "_all"), ("beta", "_all")}
    for d in docs:
        assert all(len(e["centroid"]) == D for e in d["entries"])


async def test_a_window_over_the_cap_is_sampled_by_id(planted: Env, infra, unique: str) -> None:
    async with running(make_settings(infra, unique, durable="capped", topics_sample_cap=20)) as app:
        channel = grpcutil.insecure_channel(f"127.0.0.1:{app.port}")
        try:
            stub = insights_pb2_grpc.InsightsServiceStub(channel)
            resp = await stub.GetTopics(request(day=1))
            again = await stub.GetTopics(request(day=1))
        finally:
            await channel.close()
    assert (resp.volume, resp.sampled, resp.previous_volume, resp.previous_sampled) == (36, 20, 24, 20)
    assert resp.estimated
    assert sum(t.volume for t in resp.topics) == pytest.approx(36, abs=2)
    assert [(t.id, t.volume) for t in again.topics] == [(t.id, t.volume) for t in resp.topics]


@pytest.mark.parametrize(("req", "field"), [
    (insights_pb2.GetTopicsRequest(tenant_id="acme", end_time=ts(START)), "start_time"),
    (insights_pb2.GetTopicsRequest(tenant_id="acme", start_time=ts(START + DAY), end_time=ts(START)),
     "end_time"),
    (insights_pb2.GetTopicsRequest(tenant_id="acme", start_time=ts(START),
                                   end_time=ts(START + 400 * DAY)), "start_time"),
    (insights_pb2.GetTopicsRequest(tenant_id="acme", start_time=ts(START), end_time=ts(START + DAY),
                                   limit=51), "limit"),
    (insights_pb2.GetTopicsRequest(tenant_id="acme", start_time=ts(START), end_time=ts(START + DAY),
                                   query_id="  "), "query_id"),
])
async def test_bad_input_is_invalid_argument(env: Env, req: insights_pb2.GetTopicsRequest,
                                             field: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.GetTopics(req)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(err.value.trailing_metadata() or ()).get("dengar-error-field") == field
