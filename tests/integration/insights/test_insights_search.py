"""SearchMentions over a real store: filters, word search, sort orders and keyset pagination."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from insights_helpers import T0, Env, enriched, ts

from dengar.v1 import common_pb2, insights_pb2

NEG, NEU, POS = common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_NEUTRAL, common_pb2.SENTIMENT_POSITIVE
SENTS = (NEG, NEU, POS)
PLATFORMS = (common_pb2.PLATFORM_X, common_pb2.PLATFORM_REDDIT, common_pb2.PLATFORM_YOUTUBE)
TEXTS = ("Pengiriman LAMBAT sekali", "Harga terjangkau, kualitas oke", "Café di Bandung enak")


def corpus() -> list[common_pb2.EnrichedPost]:
    posts = []
    for i in range(30):
        posts.append(enriched(
            "acme", f"p{i:02d}", text=f"{TEXTS[i % 3]} nomor{i}", sentiment=SENTS[i % 3],
            platform=PLATFORMS[i % 3 if i < 27 else 0], language="en" if i % 5 == 0 else "id",
            # Two posts share each timestamp, so ties on the sort key need the _id tie-break.
            created_at=T0 + timedelta(minutes=i // 2), likes=(i * 7) % 11, reposts=i % 4,
            aspects=(("delivery", NEG),) if i % 3 == 0 else (("price", POS),) if i % 4 == 0 else (),
            hashtags=("#Promo",) if i % 10 == 0 else ()))
    return posts


async def pages(env: Env, size: int, between_pages=None, **kw) -> list[list[insights_pb2.Mention]]:
    out: list[list[insights_pb2.Mention]] = []
    token = ""
    while True:
        resp = await env.stub.SearchMentions(insights_pb2.SearchMentionsRequest(
            tenant_id="acme", page_size=size, page_token=token, **kw))
        out.append(list(resp.mentions))
        token = resp.next_page_token
        if not token:
            return out
        if between_pages is not None:
            await between_pages(len(out))


async def ids(env: Env, **kw) -> set[str]:
    return {m.id for page in await pages(env, 200, **kw) for m in page}


@pytest.fixture
async def loaded(env: Env) -> tuple[Env, list[common_pb2.EnrichedPost]]:
    posts = corpus()
    for p in posts:
        await env.send(p)
    await env.settle()
    return env, posts


async def test_filters_and_words(loaded) -> None:
    env, posts = loaded

    def expect(pred) -> set[str]:
        return {p.post.id for p in posts if pred(p)}

    assert await ids(env) == expect(lambda p: True)
    assert await ids(env, sentiments=[NEG]) == expect(lambda p: p.enrichment.sentiment.label == NEG)
    assert await ids(env, sentiments=[NEG, POS]) == expect(lambda p: p.enrichment.sentiment.label != NEU)
    assert await ids(env, platforms=[common_pb2.PLATFORM_REDDIT]) == expect(
        lambda p: p.post.platform == common_pb2.PLATFORM_REDDIT)
    assert await ids(env, languages=["EN"]) == expect(lambda p: p.enrichment.language == "en")
    assert await ids(env, aspects=["price"]) == expect(
        lambda p: any(a.name == "price" for a in p.enrichment.aspects))
    window = dict(start_time=ts(T0 + timedelta(minutes=3)), end_time=ts(T0 + timedelta(minutes=6)))
    assert await ids(env, **window) == expect(
        lambda p: 3 <= (p.post.created_at.ToDatetime() - T0.replace(tzinfo=None)).total_seconds() / 60 < 6)
    # Words: case and diacritics do not matter, all words must occur, hashtags are words.
    assert await ids(env, query="lambat") == expect(lambda p: "LAMBAT" in p.post.text)
    assert await ids(env, query="CAFE bandung") == expect(lambda p: "Café" in p.post.text)
    assert await ids(env, query="cafe lambat") == set()
    assert await ids(env, query="#promo") == expect(lambda p: "#Promo" in p.enrichment.hashtags)
    assert await ids(env, query="nomor7") == {posts[7].post.id}
    # Filters combine.
    assert await ids(env, query="harga", languages=["id"], sentiments=[NEU]) == expect(
        lambda p: "Harga" in p.post.text and p.enrichment.language == "id"
        and p.enrichment.sentiment.label == NEU)


@pytest.mark.parametrize("sort", [insights_pb2.SORT_ORDER_TIME_DESC, insights_pb2.SORT_ORDER_TIME_ASC,
                                  insights_pb2.SORT_ORDER_ENGAGEMENT_DESC])
async def test_pagination_has_no_gaps_or_repeats(loaded, sort) -> None:
    env, posts = loaded
    got = await pages(env, 7, sort=sort)
    assert [len(p) for p in got] == [7, 7, 7, 7, 2]
    flat = [m for page in got for m in page]
    assert len({m.id for m in flat}) == 30 and {m.id for m in flat} == {p.post.id for p in posts}

    def key(m: insights_pb2.Mention):
        if sort == insights_pb2.SORT_ORDER_ENGAGEMENT_DESC:
            e = m.post.engagement
            return (e.likes + 2 * e.reposts + e.replies + e.quotes, m.id)
        return (m.post.created_at.ToDatetime(), m.id)

    keys = [key(m) for m in flat]
    assert keys == sorted(keys, reverse=sort != insights_pb2.SORT_ORDER_TIME_ASC)


async def test_pagination_is_stable_under_inserts(loaded) -> None:
    env, posts = loaded
    newer = [enriched("acme", f"new{i}", created_at=T0 + timedelta(hours=1, minutes=i)) for i in range(3)]

    async def insert_newer(page_no: int) -> None:
        if page_no <= len(newer):
            await env.send(newer[page_no - 1])
            await env.settle()

    got = [m.id for page in await pages(env, 5, between_pages=insert_newer) for m in page]
    # Newer posts sort before the cursor, so they never shift the pages still to come.
    assert len(got) == len(set(got)) == 30
    assert set(got) == {p.post.id for p in posts}


async def test_page_tokens_are_checked(loaded) -> None:
    env, _ = loaded
    first = await env.stub.SearchMentions(insights_pb2.SearchMentionsRequest(
        tenant_id="acme", page_size=5, sentiments=[NEG]))
    token = first.next_page_token
    assert token and len(first.mentions) == 5
    for bad in (token[:-3] + "AAA", token + "x", "!!!!", token.swapcase()):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await env.stub.SearchMentions(insights_pb2.SearchMentionsRequest(
                tenant_id="acme", page_size=5, sentiments=[NEG], page_token=bad))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # A token reused with other filters is refused rather than giving a wrong page.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.SearchMentions(insights_pb2.SearchMentionsRequest(
            tenant_id="acme", page_size=5, sentiments=[POS], page_token=token))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Another tenant's token only ever reads that caller's own (here: empty) data.
    other = await env.stub.SearchMentions(insights_pb2.SearchMentionsRequest(
        tenant_id="beta", page_size=5, sentiments=[NEG], page_token=token))
    assert list(other.mentions) == []


async def test_page_size_defaults_and_cap(loaded) -> None:
    env, _ = loaded
    resp = await env.stub.SearchMentions(insights_pb2.SearchMentionsRequest(tenant_id="acme"))
    assert len(resp.mentions) == 30 and not resp.next_page_token
    got = await env.stub.GetMention(insights_pb2.GetMentionRequest(tenant_id="acme", id=resp.mentions[0].id))
    assert got == resp.mentions[0]
