"""Listening-query dimension end to end: tagged posts in, per-query search, rollups, share of voice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from insights_helpers import T0, Env, enriched, ts

from dengar.v1 import common_pb2, insights_pb2

NEG, NEU, POS = common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_NEUTRAL, common_pb2.SENTIMENT_POSITIVE
DAY = datetime(2026, 11, 22, tzinfo=UTC)
WIDE = (ts(DAY - timedelta(days=1)), ts(DAY + timedelta(days=3)))
BRAND, RIVAL, THIRD = "q_brand00000000001", "q_rival00000000002", "q_third00000000003"


def corpus() -> dict[str, common_pb2.EnrichedPost]:
    return {
        "p1": enriched("acme", "p1", sentiment=POS, aspects=(("delivery", POS),), query_ids=(BRAND,)),
        "p2": enriched("acme", "p2", sentiment=NEG, created_at=T0 + timedelta(hours=2),
                       platform=common_pb2.PLATFORM_REDDIT, language="en", query_ids=(BRAND,)),
        # Matches both the brand and its competitor.
        "p3": enriched("acme", "p3", sentiment=NEU, query_ids=(BRAND, RIVAL)),
        "p4": enriched("acme", "p4", sentiment=NEG, created_at=T0 + timedelta(days=1), query_ids=(RIVAL,)),
        "p5": enriched("acme", "p5", sentiment=POS),
        "p6": enriched("acme", "p6", sentiment=POS, created_at=T0 + timedelta(hours=3), query_ids=(THIRD,)),
    }


@pytest.fixture
async def loaded(env: Env) -> tuple[Env, dict[str, common_pb2.EnrichedPost]]:
    posts = corpus()
    for p in posts.values():
        await env.send(p)
    # A redelivered copy under another message id, and the same query id in another tenant.
    await env.send(posts["p1"], msg_id="p1-again")
    await env.send(enriched("beta", "b1", sentiment=POS, query_ids=(BRAND,)))
    await env.settle()
    assert env.app.results["inserted"] == 7 and env.app.results["duplicate"] == 1
    return env, posts


async def search_ids(env: Env, tenant: str = "acme", **kw) -> set[str]:
    resp = await env.stub.SearchMentions(insights_pb2.SearchMentionsRequest(
        tenant_id=tenant, page_size=200, **kw))
    assert not resp.next_page_token
    return {m.id for m in resp.mentions}


async def sov(env: Env, *query_ids: str, tenant: str = "acme", interval: int = 0,
              window: tuple = WIDE) -> insights_pb2.GetShareOfVoiceResponse:
    return await env.stub.GetShareOfVoice(insights_pb2.GetShareOfVoiceRequest(
        tenant_id=tenant, start_time=window[0], end_time=window[1], query_ids=list(query_ids),
        interval=interval))


async def summary(env: Env, query_id: str, tenant: str = "acme") -> insights_pb2.GetSummaryResponse:
    return await env.stub.GetSummary(insights_pb2.GetSummaryRequest(
        tenant_id=tenant, start_time=WIDE[0], end_time=WIDE[1], query_id=query_id))


async def hourly(env: Env, query_id: str, tenant: str = "acme") -> insights_pb2.GetTimeSeriesResponse:
    return await env.stub.GetTimeSeries(insights_pb2.GetTimeSeriesRequest(
        tenant_id=tenant, metric=insights_pb2.METRIC_SENTIMENT, interval=insights_pb2.INTERVAL_HOUR,
        start_time=ts(DAY), end_time=ts(DAY + timedelta(days=1)), query_id=query_id))


def ids_of(posts: dict[str, common_pb2.EnrichedPost], *names: str) -> set[str]:
    return {posts[n].post.id for n in names}


async def test_search_by_listening_queries(loaded) -> None:
    env, posts = loaded
    assert await search_ids(env, query_ids=[BRAND]) == ids_of(posts, "p1", "p2", "p3")
    assert await search_ids(env, query_ids=[RIVAL, BRAND]) == ids_of(posts, "p1", "p2", "p3", "p4")
    assert await search_ids(env, query_ids=[BRAND], sentiments=[NEG]) == ids_of(posts, "p2")
    assert await search_ids(env, query_ids=["q_nobody"]) == set()
    assert len(await search_ids(env)) == 6
    # Another tenant's mention with the same query id stays its own.
    assert len(await search_ids(env, "beta", query_ids=[BRAND])) == 1

    first = await env.stub.SearchMentions(insights_pb2.SearchMentionsRequest(
        tenant_id="acme", page_size=2, query_ids=[BRAND]))
    assert len(first.mentions) == 2 and first.next_page_token
    rest = await env.stub.SearchMentions(insights_pb2.SearchMentionsRequest(
        tenant_id="acme", page_size=2, query_ids=[BRAND], page_token=first.next_page_token))
    assert {m.id for m in [*first.mentions, *rest.mentions]} == ids_of(posts, "p1", "p2", "p3")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.SearchMentions(insights_pb2.SearchMentionsRequest(
            tenant_id="acme", page_size=2, query_ids=[RIVAL], page_token=first.next_page_token))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_time_series_and_summary_of_one_query(loaded) -> None:
    env, _ = loaded
    series = await hourly(env, BRAND)
    assert series.total == 3 and len(series.points) == 24
    by_hour = {p.bucket_start.ToDatetime(tzinfo=UTC).hour: p for p in series.points if p.volume}
    assert {h: (p.volume, p.negative, p.neutral, p.positive) for h, p in by_hour.items()} == {
        5: (2, 0, 1, 1), 7: (1, 1, 0, 0)}
    assert (await hourly(env, RIVAL)).total == 1  # p4 is on the next day
    assert (await hourly(env, "q_nobody")).total == 0

    s = await summary(env, BRAND)
    assert (s.volume, s.negative, s.neutral, s.positive) == (3, 1, 1, 1)
    assert [(a.name, a.positive) for a in s.aspects] == [("delivery", 1)]
    assert {c.key: c.count for c in s.platforms} == {"x": 2, "reddit": 1}
    assert {c.key: c.count for c in s.languages} == {"id": 2, "en": 1}
    assert (await summary(env, RIVAL)).volume == 2
    # Without a query: every mention, tagged or not, each once.
    everything = await env.stub.GetSummary(insights_pb2.GetSummaryRequest(
        tenant_id="acme", start_time=WIDE[0], end_time=WIDE[1]))
    assert everything.volume == 6


async def test_share_of_voice(loaded) -> None:
    env, _ = loaded
    # No overlap between these two: the total is the number of mentions tagged with either.
    apart = await sov(env, THIRD, BRAND)
    assert [(i.query_id, i.volume) for i in apart.items] == [(THIRD, 1), (BRAND, 3)]
    assert apart.total == 4 == len(await search_ids(env, query_ids=[THIRD, BRAND]))
    assert [i.share for i in apart.items] == [0.25, 0.75]
    assert sum(i.share for i in apart.items) == pytest.approx(1.0)
    brand = apart.items[1]
    assert (brand.negative, brand.neutral, brand.positive, brand.net_sentiment) == (1, 1, 1, 0.0)
    assert apart.items[0].net_sentiment == 1.0 and not apart.items[0].points

    # p3 matches both: it counts for each, so the total exceeds the distinct mentions.
    both = await sov(env, BRAND, RIVAL, "q_nobody")
    assert [(i.volume, i.share) for i in both.items] == [(3, 0.6), (2, 0.4), (0, 0.0)]
    assert both.total == 5 and len(await search_ids(env, query_ids=[BRAND, RIVAL])) == 4
    assert both.items[1].net_sentiment == -0.5

    daily = await sov(env, BRAND, RIVAL, interval=insights_pb2.INTERVAL_DAY)
    assert [[p.volume for p in i.points] for i in daily.items] == [[0, 3, 0, 0], [0, 1, 1, 0]]
    assert [p.bucket_start.ToDatetime(tzinfo=UTC) for p in daily.items[0].points] == [
        DAY + timedelta(days=d) for d in range(-1, 3)]
    day_one = (ts(DAY), ts(DAY + timedelta(days=1)))
    hours = await sov(env, BRAND, interval=insights_pb2.INTERVAL_HOUR, window=day_one)
    points = hours.items[0].points
    assert len(points) == 24 and hours.total == 3
    assert [(p.volume, p.negative, p.neutral, p.positive) for p in points if p.volume] == [
        (2, 0, 1, 1), (1, 1, 0, 0)]

    # The same query id in another tenant counts nothing here, and only its own there.
    assert (await sov(env, BRAND, tenant="beta")).total == 1
    assert (await sov(env, RIVAL, tenant="beta")).total == 0
    assert (await summary(env, BRAND, tenant="beta")).volume == 1
    assert (await hourly(env, BRAND, tenant="gamma")).total == 0


async def test_retagged_post_moves_between_queries(loaded) -> None:
    env, posts = loaded
    # Re-collected later, the collector's queries no longer tag p3 as the brand.
    moved = enriched("acme", "p3", sentiment=NEU, collected_at=T0 + timedelta(minutes=10),
                     query_ids=(RIVAL, THIRD))
    await env.send(moved)
    await env.send(moved, msg_id="moved-again")
    await env.settle()
    assert env.app.results["updated"] == 1 and env.app.results["duplicate"] == 2

    after = await sov(env, BRAND, RIVAL, THIRD)
    assert [i.volume for i in after.items] == [2, 2, 2]
    assert (await summary(env, BRAND)).neutral == 0
    assert (await summary(env, THIRD)).neutral == 1
    assert (await hourly(env, BRAND)).total == 2
    assert await search_ids(env, query_ids=[BRAND]) == ids_of(posts, "p1", "p2")
    # The tenant-wide counts did not move.
    everything = await env.stub.GetSummary(insights_pb2.GetSummaryRequest(
        tenant_id="acme", start_time=WIDE[0], end_time=WIDE[1]))
    assert (everything.volume, everything.neutral) == (6, 1)

    # Untagged entirely: it leaves every query but stays a mention of the tenant.
    untagged = enriched("acme", "p3", sentiment=NEU, collected_at=T0 + timedelta(minutes=20))
    await env.send(untagged)
    await env.settle()
    assert [i.volume for i in (await sov(env, BRAND, RIVAL, THIRD)).items] == [2, 1, 1]
    assert posts["p3"].post.id not in await search_ids(env, query_ids=[RIVAL, THIRD])


async def test_invalid_query_requests(env: Env) -> None:
    stub = env.stub
    day = (ts(DAY), ts(DAY + timedelta(days=1)))
    many = [f"q_{i:016x}" for i in range(51)]

    def share(**kw) -> insights_pb2.GetShareOfVoiceRequest:
        values = dict(tenant_id="acme", start_time=day[0], end_time=day[1], query_ids=[BRAND])
        values.update(kw)
        return insights_pb2.GetShareOfVoiceRequest(**values)

    calls = [
        stub.GetShareOfVoice(share(query_ids=[])),
        stub.GetShareOfVoice(share(query_ids=many)),
        stub.GetShareOfVoice(share(query_ids=[BRAND, RIVAL, BRAND])),
        stub.GetShareOfVoice(share(query_ids=[BRAND, " "])),
        stub.GetShareOfVoice(share(query_ids=["q" * 129])),
        stub.GetShareOfVoice(share(start_time=day[1], end_time=day[0])),
        stub.GetShareOfVoice(insights_pb2.GetShareOfVoiceRequest(tenant_id="acme", query_ids=[BRAND])),
        stub.GetShareOfVoice(share(tenant_id="")),
        stub.GetShareOfVoice(share(interval=7)),
        stub.GetShareOfVoice(share(interval=insights_pb2.INTERVAL_HOUR,
                                   end_time=ts(DAY + timedelta(hours=1001)))),
        stub.GetTimeSeries(insights_pb2.GetTimeSeriesRequest(
            tenant_id="acme", start_time=day[0], end_time=day[1], query_id="   ")),
        stub.GetSummary(insights_pb2.GetSummaryRequest(
            tenant_id="acme", start_time=day[0], end_time=day[1], query_id="q" * 129)),
        stub.SearchMentions(insights_pb2.SearchMentionsRequest(tenant_id="acme", query_ids=many)),
        stub.SearchMentions(insights_pb2.SearchMentionsRequest(tenant_id="acme", query_ids=[""])),
    ]
    for n, call in enumerate(calls):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (n, err.value.details())
    # The limits themselves are allowed.
    ok = await stub.GetShareOfVoice(share(query_ids=many[:50], interval=insights_pb2.INTERVAL_HOUR,
                                          end_time=ts(DAY + timedelta(hours=1000))))
    assert len(ok.items) == 50 and len(ok.items[49].points) == 1000 and ok.total == 0
