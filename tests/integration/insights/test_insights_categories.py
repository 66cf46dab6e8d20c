"""Categories end to end inside insights: CategoryService over gRPC against the real store, the
examples embedded through a fake NLP gRPC server (a separate service, so its wire contract is what
matters), posts from the bus assigned to categories, filtered and counted by category."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import numpy as np
import pytest
from insights_helpers import Env, enriched, make_settings, running, ts
from test_insights_backfill import assert_exact

from dengar.v1 import common_pb2, insights_pb2, insights_pb2_grpc, nlp_pb2, nlp_pb2_grpc
from dengar_common import grpcutil
from dengar_common.bus import Subjects
from dengar_common.embedding import quantize
from dengar_common.localinfra import LocalInfra

DIM = 384
# Relative to the wall clock: a category's backfill re-tags the mentions of the last 30 days.
T0 = datetime.now(UTC).replace(minute=30, second=0, microsecond=0) - timedelta(days=1)
_TOPICS = {"refund": 1, "delay": 2}


def fake_embedding(text: str) -> np.ndarray:
    """Texts that mention a topic word point near that topic's direction; the rest anywhere."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    v = 0.15 * np.random.default_rng(seed).standard_normal(DIM)
    for word, topic in _TOPICS.items():
        if word in text.lower():
            v += np.random.default_rng(topic).standard_normal(DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


class FakeNlp(nlp_pb2_grpc.NlpServiceServicer):
    def __init__(self) -> None:
        self.requests: list[nlp_pb2.AnalyzeRequest] = []
        self.down = False

    async def Analyze(self, request: nlp_pb2.AnalyzeRequest, context: Any) -> nlp_pb2.AnalyzeResponse:
        self.requests.append(request)
        if self.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "models loading")
        return nlp_pb2.AnalyzeResponse(results=[
            common_pb2.Enrichment(embedding_i8=quantize(fake_embedding(t))) for t in request.texts])


@dataclass
class CatEnv:
    env: Env
    categories: Any
    nlp: FakeNlp


@pytest.fixture
async def cenv(infra: LocalInfra, unique: str, nats_client: Any) -> AsyncIterator[CatEnv]:
    nlp = FakeNlp()
    server = grpc.aio.server()
    nlp_pb2_grpc.add_NlpServiceServicer_to_server(nlp, server)
    nlp_port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    settings = make_settings(infra, unique, nlp_target=f"127.0.0.1:{nlp_port}",
                             categories={"max_per_tenant": 3, "cache_ttl_s": 0.2},
                             backfill={"start_delay_s": 0.0})
    try:
        async with running(settings) as app:
            channel = grpcutil.insecure_channel(f"127.0.0.1:{app.port}")
            try:
                yield CatEnv(Env(app, nats_client.jetstream(), Subjects(unique),
                                 insights_pb2_grpc.InsightsServiceStub(channel)),
                             insights_pb2_grpc.CategoryServiceStub(channel), nlp)
            finally:
                await channel.close()
    finally:
        await server.stop(0)


def post(tenant: str, external_id: str, text: str, *, negative: bool = False,
         minutes: int = 0) -> common_pb2.EnrichedPost:
    e = enriched(tenant, external_id, text=text, created_at=T0 + timedelta(minutes=minutes),
                 sentiment=common_pb2.SENTIMENT_NEGATIVE if negative else common_pb2.SENTIMENT_POSITIVE)
    e.enrichment.embedding_i8 = quantize(fake_embedding(text))
    return e


REFUND_EXAMPLES = ["I want a refund now", "still no refund after two weeks", "refund my ticket please"]


async def wait_backfill(env: Env, tenant: str, category_id: str, changed: datetime,
                        timeout: float = 30.0) -> insights_pb2.Backfill:
    """The category's backfill of the change at ``changed``, once it is done."""
    version = int(changed.timestamp() * 1000)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            job = await env.stub.GetBackfill(insights_pb2.GetBackfillRequest(
                tenant_id=tenant, kind="category", target_id=category_id))
            if job.target_version >= version and job.state == "done":
                return job
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.NOT_FOUND
            job = None
        assert asyncio.get_running_loop().time() < deadline, f"backfill not done: {job}"
        await asyncio.sleep(0.05)


def _metadata(err: grpc.aio.AioRpcError) -> dict[str, str]:
    return {k: v for k, v in (err.trailing_metadata() or ())}


async def _search(env: Env, tenant: str, category_ids: Sequence[str]) -> list[str]:
    resp = await env.stub.SearchMentions(insights_pb2.SearchMentionsRequest(
        tenant_id=tenant, category_ids=list(category_ids)))
    return sorted(m.post.external_id for m in resp.mentions)


async def test_crud_and_its_errors(cenv: CatEnv, unique: str) -> None:
    stub, tenant = cenv.categories, f"t{unique[-8:]}"
    created = await stub.CreateCategory(insights_pb2.CreateCategoryRequest(
        tenant_id=tenant, name="Refunds", examples=REFUND_EXAMPLES))
    assert created.id.startswith("c_") and list(created.examples) == REFUND_EXAMPLES
    # No stored mentions yet: the fallback threshold, the examples' own spread still reported.
    assert created.HasField("threshold") and created.calibration.background_size == 0
    assert 0 < created.calibration.member_min <= created.calibration.member_median
    assert cenv.nlp.requests[-1].include_embedding and cenv.nlp.requests[-1].tenant_id == tenant

    only_words = await stub.CreateCategory(insights_pb2.CreateCategoryRequest(
        tenant_id=tenant, name="Delays", expression="delay OR late"))
    assert not only_words.HasField("threshold") and len(cenv.nlp.requests) == 1

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.CreateCategory(insights_pb2.CreateCategoryRequest(
            tenant_id=tenant, name="Broken", expression="refund AND"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    md = _metadata(err.value)
    assert md["dengar-error-field"] == "expression" and md["dengar-error-position"] == "10"

    for request, code in [
        (insights_pb2.CreateCategoryRequest(tenant_id=tenant, name="refunds", expression="x"),
         grpc.StatusCode.ALREADY_EXISTS),
        (insights_pb2.CreateCategoryRequest(tenant_id=tenant, name="Two", examples=["a", "b"]),
         grpc.StatusCode.INVALID_ARGUMENT),
        (insights_pb2.CreateCategoryRequest(tenant_id=tenant, name="Nothing"),
         grpc.StatusCode.INVALID_ARGUMENT),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.CreateCategory(request)
        assert err.value.code() == code, request

    await stub.CreateCategory(insights_pb2.CreateCategoryRequest(tenant_id=tenant, name="Third",
                                                                 expression="x"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.CreateCategory(insights_pb2.CreateCategoryRequest(tenant_id=tenant, name="Fourth",
                                                                     expression="y"))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

    listed = await stub.ListCategories(insights_pb2.ListCategoriesRequest(tenant_id=tenant))
    assert [c.name for c in listed.categories] == ["Delays", "Refunds", "Third"]

    # Another tenant sees nothing of these.
    other = f"o{unique[-8:]}"
    assert not (await stub.ListCategories(insights_pb2.ListCategoriesRequest(tenant_id=other))).categories
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetCategory(insights_pb2.GetCategoryRequest(tenant_id=other, id=created.id))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND

    renamed = await stub.UpdateCategory(insights_pb2.UpdateCategoryRequest(
        tenant_id=tenant, id=only_words.id, name="Late flights"))
    assert renamed.name == "Late flights" and renamed.expression == "delay OR late"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.UpdateCategory(insights_pb2.UpdateCategoryRequest(
            tenant_id=tenant, id=only_words.id, name="REFUNDS"))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    await stub.DeleteCategory(insights_pb2.DeleteCategoryRequest(tenant_id=tenant, id=only_words.id))
    # A slot is free again.
    await stub.CreateCategory(insights_pb2.CreateCategoryRequest(tenant_id=tenant, name="Again",
                                                                 expression="z"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.DeleteCategory(insights_pb2.DeleteCategoryRequest(tenant_id=tenant, id=only_words.id))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND

    cenv.nlp.down = True
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.UpdateCategory(insights_pb2.UpdateCategoryRequest(
            tenant_id=tenant, id=created.id,
            examples=insights_pb2.CategoryExamples(texts=["refund a", "refund b", "refund c"])))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_new_mentions_are_assigned_filtered_and_counted(cenv: CatEnv, unique: str) -> None:
    env, stub = cenv.env, cenv.categories
    tenant, other = f"t{unique[-8:]}", f"o{unique[-8:]}"
    # Some history, so that the threshold is calibrated on the tenant's own mentions.
    for i in range(60):
        await env.send(post(tenant, f"old{i}", f"just chatting about seat {i} and snacks {i * 7}",
                            minutes=-600 + i))
    await env.settle()
    refunds = await stub.CreateCategory(insights_pb2.CreateCategoryRequest(
        tenant_id=tenant, name="Refunds", examples=REFUND_EXAMPLES))
    assert refunds.calibration.background_size == 60
    delays = await stub.CreateCategory(insights_pb2.CreateCategoryRequest(
        tenant_id=tenant, name="Delays", expression="delay OR late"))
    # The other tenant has the same words in its own category, which must not leak.
    theirs = await stub.CreateCategory(insights_pb2.CreateCategoryRequest(
        tenant_id=other, name="Refunds", expression="refund"))

    await env.send(post(tenant, "r1", "where is the refund you promised", negative=True))
    await env.send(post(tenant, "r2", "Refund please, the flight was awful", negative=True, minutes=1))
    await env.send(post(tenant, "d1", "another delay at the gate", negative=True, minutes=2))
    await env.send(post(tenant, "b1", "refund delay again", minutes=3))
    await env.send(post(tenant, "n1", "lovely crew today", minutes=4))
    await env.send(post(other, "x1", "refund me", minutes=5))
    await env.settle()

    assert await _search(env, tenant, [refunds.id]) == ["b1", "r1", "r2"]
    assert await _search(env, tenant, [delays.id]) == ["b1", "d1"]
    assert await _search(env, tenant, [refunds.id, delays.id]) == ["b1", "d1", "r1", "r2"]
    assert await _search(env, tenant, [theirs.id]) == []
    assert await _search(env, other, [theirs.id]) == ["x1"]
    one = await env.stub.GetMention(insights_pb2.GetMentionRequest(
        tenant_id=tenant, id=enriched(tenant, "b1").post.id))
    assert sorted(one.category_ids) == sorted([refunds.id, delays.id])

    window = {"start_time": ts(T0 - timedelta(hours=1)), "end_time": ts(T0 + timedelta(hours=1))}
    summary = await env.stub.GetSummary(insights_pb2.GetSummaryRequest(
        tenant_id=tenant, category_id=refunds.id, **window))
    assert (summary.volume, summary.negative, summary.positive) == (3, 2, 1)
    series = await env.stub.GetTimeSeries(insights_pb2.GetTimeSeriesRequest(
        tenant_id=tenant, category_id=delays.id, metric=insights_pb2.METRIC_SENTIMENT,
        interval=insights_pb2.INTERVAL_HOUR, **window))
    assert series.total == 2 and sum(p.negative for p in series.points) == 1
    everything = await env.stub.GetSummary(insights_pb2.GetSummaryRequest(tenant_id=tenant, **window))
    assert everything.volume == 5
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.GetSummary(insights_pb2.GetSummaryRequest(
            tenant_id=tenant, category_id=refunds.id, query_id="q1", **window))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    # An edit applies to the next posts (this replica invalidated its cache), and its backfill
    # re-tags the stored ones: "refund delay again" is no longer about the gate.
    edited = await stub.UpdateCategory(insights_pb2.UpdateCategoryRequest(
        tenant_id=tenant, id=delays.id, expression="gate"))
    await env.send(post(tenant, "d2", "stuck at the gate", minutes=6))
    await env.send(post(tenant, "d3", "short delay", minutes=7))
    await env.settle()
    await wait_backfill(env, tenant, delays.id, edited.updated_at.ToDatetime(tzinfo=UTC))
    assert await _search(env, tenant, [delays.id]) == ["d1", "d2"]


async def test_a_second_replica_sees_changes_after_its_cache_expires(
        infra: LocalInfra, unique: str, cenv: CatEnv) -> None:
    tenant = f"t{unique[-8:]}"
    settings = make_settings(infra, unique, nlp_target="127.0.0.1:1", durable="other",
                             categories={"cache_ttl_s": 0.2})
    async with running(settings) as replica:
        assert len(await replica.tagger.category_set(tenant)) == 0
        await cenv.categories.CreateCategory(insights_pb2.CreateCategoryRequest(
            tenant_id=tenant, name="Refunds", expression="refund"))
        deadline = asyncio.get_running_loop().time() + 10
        while len(await replica.tagger.category_set(tenant)) != 1:
            assert asyncio.get_running_loop().time() < deadline, "the replica never reloaded"
            await asyncio.sleep(0.05)


async def test_a_spike_is_explained_by_its_category(cenv: CatEnv, unique: str) -> None:
    env, tenant = cenv.env, f"t{unique[-8:]}"
    late = await cenv.categories.CreateCategory(insights_pb2.CreateCategoryRequest(
        tenant_id=tenant, name="Late deliveries", expression="telat OR late"))
    start = T0 - timedelta(hours=30)
    for hour in range(36):
        for k in range(2):
            await env.send(post(tenant, f"bg{hour}-{k}", f"Kurir ramah, pesanan nomor {hour * 2 + k} aman",
                                minutes=int((start + timedelta(hours=hour, minutes=20 * k) - T0)
                                            .total_seconds() // 60)))
    spike_at = start + timedelta(hours=30)
    for k in range(20):
        text = ["Paket telat parah resi {k}", "Delivery late again order {k}"][k % 2].format(k=k)
        await env.send(post(tenant, f"sp{k}", text, negative=True,
                            minutes=int((spike_at - T0).total_seconds() // 60) + 2 * k))
    await env.settle()
    resp = await env.stub.GetSpikes(insights_pb2.GetSpikesRequest(
        tenant_id=tenant, start_time=ts(start + timedelta(hours=24)),
        end_time=ts(start + timedelta(hours=36)), interval=insights_pb2.INTERVAL_HOUR,
        metric=insights_pb2.SPIKE_METRIC_VOLUME))
    [spike] = resp.spikes
    found = [d for d in spike.drivers if d.kind == "category"]
    # The complaints straddle an hour boundary: the spike window holds most of them.
    assert [(d.value, d.baseline_count) for d in found] == [(late.id, 0)]
    assert found[0].count >= 10


async def test_a_category_made_after_the_posts_tags_them_and_the_counts_stay_exact(
        cenv: CatEnv, unique: str, mongo_client: Any) -> None:
    env, stub = cenv.env, cenv.categories
    tenant, other = f"t{unique[-8:]}", f"o{unique[-8:]}"
    db = mongo_client[env.app.settings.insights.db]
    texts = {"r1": "where is my refund", "r2": "refund please, awful flight", "d1": "delay at the gate",
             "b1": "refund delay again", "n1": "lovely crew today", "n2": "seat was fine"}
    for i, (ext, text) in enumerate(texts.items()):
        await env.send(post(tenant, ext, text, negative="refund" in text or "delay" in text, minutes=i))
    # Older than the window: not re-tagged. Another tenant's post: never touched.
    await env.send(post(tenant, "old", "refund from last year", minutes=-40 * 24 * 60))
    await env.send(post(other, "x1", "refund me", minutes=1))
    await env.settle()
    assert len(await _search(env, tenant, [])) == len(texts) + 1

    refunds = await stub.CreateCategory(insights_pb2.CreateCategoryRequest(
        tenant_id=tenant, name="Refunds", expression="refund"))
    job = await wait_backfill(env, tenant, refunds.id, refunds.updated_at.ToDatetime(tzinfo=UTC))
    assert await _search(env, tenant, [refunds.id]) == ["b1", "r1", "r2"]
    assert (job.matched, job.changed) == (3, 3)
    await assert_exact(db, tenant)
    await assert_exact(db, other)
    window = {"start_time": ts(T0 - timedelta(hours=1)), "end_time": ts(T0 + timedelta(hours=1))}
    summary = await env.stub.GetSummary(insights_pb2.GetSummaryRequest(
        tenant_id=tenant, category_id=refunds.id, **window))
    assert (summary.volume, summary.negative) == (3, 3)

    # Narrowed: tags come off exactly; deleted: gone from every stored mention.
    narrowed = await stub.UpdateCategory(insights_pb2.UpdateCategoryRequest(
        tenant_id=tenant, id=refunds.id, expression="refund AND please"))
    job = await wait_backfill(env, tenant, refunds.id, narrowed.updated_at.ToDatetime(tzinfo=UTC))
    assert await _search(env, tenant, [refunds.id]) == ["r2"] and job.changed == 2
    await assert_exact(db, tenant)
    before = await db["rollups"].count_documents({"tenant_id": tenant})
    await stub.DeleteCategory(insights_pb2.DeleteCategoryRequest(tenant_id=tenant, id=refunds.id))
    # The job takes the tag off a mention, then its counters: wait for both, not just the tags.
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        tagged = await _search(env, tenant, [refunds.id])
        summary = await env.stub.GetSummary(insights_pb2.GetSummaryRequest(
            tenant_id=tenant, category_id=refunds.id, **window))
        if not tagged and summary.volume == 0:
            break
        assert asyncio.get_running_loop().time() < deadline, (
            f"the deleted category's tags ({tagged}) or counts ({summary.volume}) stayed")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # let the job write its last checkpoint
    await assert_exact(db, tenant)
    assert await db["rollups"].count_documents({"tenant_id": tenant}) == before
