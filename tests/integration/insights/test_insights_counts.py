"""Exactly-once rollups, sentiment moves, tenant isolation, DLQ and tracing, end to end in-process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from insights_helpers import T0, Env, enriched, ts

from dengar.v1 import common_pb2, insights_pb2
from dengar_common import grpcutil

NEG, NEU, POS = common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_NEUTRAL, common_pb2.SENTIMENT_POSITIVE
DAY_START = datetime(2026, 11, 22, tzinfo=UTC)


async def series(env: Env, tenant: str, *, interval=insights_pb2.INTERVAL_HOUR,
                 metric=insights_pb2.METRIC_SENTIMENT, start: datetime = DAY_START,
                 end: datetime = DAY_START + timedelta(days=1)) -> insights_pb2.GetTimeSeriesResponse:
    return await env.stub.GetTimeSeries(insights_pb2.GetTimeSeriesRequest(
        tenant_id=tenant, metric=metric, interval=interval, start_time=ts(start), end_time=ts(end)))


async def summary(env: Env, tenant: str, start: datetime = DAY_START - timedelta(days=3),
                  end: datetime = DAY_START + timedelta(days=3)) -> insights_pb2.GetSummaryResponse:
    return await env.stub.GetSummary(insights_pb2.GetSummaryRequest(
        tenant_id=tenant, start_time=ts(start), end_time=ts(end)))


async def search_all(env: Env, tenant: str, **kw) -> list[insights_pb2.Mention]:
    out: list[insights_pb2.Mention] = []
    token = ""
    while True:
        resp = await env.stub.SearchMentions(insights_pb2.SearchMentionsRequest(
            tenant_id=tenant, page_size=50, page_token=token, **kw))
        out.extend(resp.mentions)
        token = resp.next_page_token
        if not token:
            return out


async def test_same_post_three_times_counts_once(env: Env) -> None:
    posts = [enriched("acme", "1", sentiment=NEG, aspects=(("delivery", NEG),)),
             enriched("acme", "2", sentiment=POS, created_at=T0 + timedelta(hours=2)),
             enriched("acme", "3", sentiment=NEU, platform=common_pb2.PLATFORM_REDDIT, language="en")]
    for p in posts:
        for copy in range(3):
            # Distinct message ids, so the server's de-duplication does not hide the copies.
            await env.send(p, msg_id=f"{p.post.id}:copy{copy}")
    await env.settle()
    assert env.app.results["inserted"] == 3 and env.app.results["duplicate"] == 6

    ts = await series(env, "acme")
    assert ts.total == 3 and len(ts.points) == 24
    by_hour = {p.bucket_start.ToDatetime(tzinfo=UTC).hour: p for p in ts.points}
    assert (by_hour[5].volume, by_hour[5].negative, by_hour[5].neutral) == (2, 1, 1)
    assert (by_hour[7].volume, by_hour[7].positive) == (1, 1)
    assert sum(p.volume for p in ts.points if p.bucket_start.ToDatetime().hour not in (5, 7)) == 0

    daily = await series(env, "acme", interval=insights_pb2.INTERVAL_DAY, metric=insights_pb2.METRIC_VOLUME,
                         start=DAY_START - timedelta(days=2), end=DAY_START + timedelta(days=2))
    assert [p.volume for p in daily.points] == [0, 0, 3, 0]
    # The volume metric leaves the sentiment split out.
    assert all(p.negative == p.positive == 0 for p in daily.points)

    s = await summary(env, "acme")
    assert (s.volume, s.negative, s.neutral, s.positive) == (3, 1, 1, 1)
    assert [(a.name, a.negative) for a in s.aspects] == [("delivery", 1)]
    assert {c.key: c.count for c in s.platforms} == {"x": 2, "reddit": 1}
    assert {c.key: c.count for c in s.languages} == {"id": 2, "en": 1}
    assert len(await search_all(env, "acme")) == 3


async def test_redelivery_after_a_crash_mid_update_counts_once(env: Env, monkeypatch) -> None:
    from dengar_insights.adapters.rollups import RollupRepository

    real_apply = RollupRepository.apply_batch
    crashes = {"left": 1}

    async def crash_after_first_bucket(self, tenant_id, lane, seq, buckets):
        if not crashes["left"]:
            return await real_apply(self, tenant_id, lane, seq, buckets)
        # The process "dies" after writing one rollup and before the others and the completion.
        crashes["left"] -= 1
        first = sorted(buckets)[0]
        await real_apply(self, tenant_id, lane, seq, {first: buckets[first]})
        raise ConnectionError("simulated crash")

    monkeypatch.setattr(RollupRepository, "apply_batch", crash_after_first_bucket)
    await env.send(enriched("acme", "r1", sentiment=NEG))
    # The failed delivery is nak'd and redelivered; the redelivery finishes the pending op.
    await env.settle()
    assert crashes["left"] == 0
    s = await summary(env, "acme")
    assert (s.volume, s.negative) == (1, 1)
    ts = await series(env, "acme")
    assert ts.total == 1


async def test_sentiment_change_moves_counts_and_stale_copies_are_ignored(env: Env) -> None:
    first = enriched("acme", "s1", sentiment=NEG, aspects=(("price", NEG),))
    await env.send(first)
    await env.settle()
    assert (await summary(env, "acme")).negative == 1

    # Re-enriched later: now positive, price aspect positive.
    later = enriched("acme", "s1", sentiment=POS, aspects=(("price", POS),),
                     collected_at=T0 + timedelta(minutes=5))
    await env.send(later)
    await env.settle()
    s = await summary(env, "acme")
    assert (s.volume, s.negative, s.positive) == (1, 0, 1)
    assert [(a.name, a.negative, a.positive) for a in s.aspects] == [("price", 0, 1)]
    hour = [p for p in (await series(env, "acme")).points if p.volume]
    assert [(p.volume, p.negative, p.positive) for p in hour] == [(1, 0, 1)]

    # A late redelivery of the first version must not undo the newer one.
    await env.send(first)
    await env.settle()
    assert env.app.results["stale"] == 1
    s = await summary(env, "acme")
    assert (s.volume, s.negative, s.positive) == (1, 0, 1)
    got = await env.stub.GetMention(insights_pb2.GetMentionRequest(tenant_id="acme", id=first.post.id))
    assert got.enrichment.sentiment.label == POS

    # Engagement changes update the mention but not the rollups.
    more = enriched("acme", "s1", sentiment=POS, aspects=(("price", POS),), likes=9,
                    collected_at=T0 + timedelta(minutes=9))
    await env.send(more)
    await env.settle()
    assert env.app.results["refreshed"] == 1
    got = await env.stub.GetMention(insights_pb2.GetMentionRequest(tenant_id="acme", id=first.post.id))
    assert got.post.engagement.likes == 9
    assert (await summary(env, "acme")).volume == 1


async def test_tenants_are_isolated_on_every_rpc(env: Env) -> None:
    a = enriched("alpha", "1", text="Rahasia dapur alpha", sentiment=NEG, aspects=(("taste", NEG),))
    await env.send(a)
    await env.send(enriched("beta", "2", text="Beta punya cerita"))
    await env.settle()

    assert [m.id for m in await search_all(env, "alpha")] == [a.post.id]
    assert all(m.tenant_id == "beta" for m in await search_all(env, "beta"))
    assert await search_all(env, "beta", query="rahasia") == []
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.GetMention(insights_pb2.GetMentionRequest(tenant_id="beta", id=a.post.id))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    s = await summary(env, "beta")
    assert (s.volume, s.negative, list(s.aspects)) == (1, 0, [])
    assert {c.key for c in s.platforms} == {"x"}
    assert (await series(env, "gamma")).total == 0
    assert (await summary(env, "gamma")).volume == 0
    # A message on beta's subject claiming to be alpha's post is refused, not stored under alpha.
    await env.send(enriched("alpha", "sneaky"), subject_tenant="beta")
    await env.settle()
    assert [m.id for m in await search_all(env, "alpha")] == [a.post.id]


async def test_invalid_requests(env: Env) -> None:
    stub = env.stub
    day = (ts(DAY_START), ts(DAY_START + timedelta(days=1)))
    calls = [
        stub.SearchMentions(insights_pb2.SearchMentionsRequest()),
        stub.GetMention(insights_pb2.GetMentionRequest(id="x")),
        stub.GetTimeSeries(insights_pb2.GetTimeSeriesRequest(tenant_id="Bad Tenant", start_time=day[0],
                                                             end_time=day[1])),
        stub.GetSummary(insights_pb2.GetSummaryRequest(start_time=day[0], end_time=day[1])),
        stub.GetTimeSeries(insights_pb2.GetTimeSeriesRequest(tenant_id="acme")),
        stub.GetTimeSeries(insights_pb2.GetTimeSeriesRequest(tenant_id="acme", start_time=day[1],
                                                             end_time=day[0])),
        stub.GetTimeSeries(insights_pb2.GetTimeSeriesRequest(
            tenant_id="acme", interval=insights_pb2.INTERVAL_HOUR, start_time=day[0],
            end_time=ts(DAY_START + timedelta(hours=1001)))),
        stub.GetSummary(insights_pb2.GetSummaryRequest(tenant_id="acme", start_time=day[0])),
        stub.SearchMentions(insights_pb2.SearchMentionsRequest(tenant_id="acme", page_token="bogus")),
        stub.SearchMentions(insights_pb2.SearchMentionsRequest(tenant_id="acme", page_size=-1)),
        stub.SearchMentions(insights_pb2.SearchMentionsRequest(tenant_id="acme", query="?!")),
        stub.SearchMentions(insights_pb2.SearchMentionsRequest(tenant_id="acme", sentiments=[42])),
    ]
    for n, call in enumerate(calls):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (n, err.value.details())
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetMention(insights_pb2.GetMentionRequest(tenant_id="acme", id="0" * 24))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    # Exactly 1,000 hourly buckets is allowed.
    ok = await stub.GetTimeSeries(insights_pb2.GetTimeSeriesRequest(
        tenant_id="acme", interval=insights_pb2.INTERVAL_HOUR, start_time=day[0],
        end_time=ts(DAY_START + timedelta(hours=1000))))
    assert len(ok.points) == 1000


async def test_poison_messages_go_to_the_dlq(env: Env) -> None:
    good = enriched("acme", "ok")
    bad = enriched("acme", "bad")
    bad.post.id = "f" * 24  # does not match its natural key
    await env.send_raw("acme", b"\x00\x01 definitely not protobuf")
    await env.send(bad)
    await env.send(good)
    await env.settle()
    assert env.app.dead_lettered == 2
    assert [m.id for m in await search_all(env, "acme")] == [good.post.id]

    dlq = await env.js.pull_subscribe(env.subjects.dlq_all, durable="dlqread",
                                      stream=env.subjects.stream("dlq"))
    dead = await dlq.fetch(2, timeout=5)
    assert {m.subject for m in dead} == {env.subjects.dlq("insights", "acme")}
    errors = sorted(m.headers["Dengar-Error"] for m in dead)
    assert all(e.startswith("InvalidPost") for e in errors), errors
    assert any("natural key" in e for e in errors)
    assert all(m.headers["Dengar-Deliveries"] == "3" for m in dead)


async def test_trace_continues_from_nats_headers(env: Env, mongo_client) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    e = enriched("acme", "traced")
    await env.send(e, headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    await env.settle()
    doc = await mongo_client[env.app.settings.insights.db]["mentions"].find_one(
        {"tenant_id": "acme", "_id": e.post.id})
    assert doc["trace_id"] == trace_id


async def test_health_serving(env: Env) -> None:
    channel = grpcutil.insecure_channel(f"127.0.0.1:{env.app.port}")
    try:
        resp = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="dengar.v1.InsightsService"))
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await channel.close()
