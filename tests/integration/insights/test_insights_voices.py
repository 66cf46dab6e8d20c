"""Top authors, top posts and campaigns against the real store: posts in through ingest, out over gRPC.

The top-authors ranking is one aggregation in the store ($match, $group with $top/$topN, $sort,
$limit); these tests pin that the store runs it and that it ranks as the domain's rank_authors.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from insights_helpers import Env, enriched, ts

from dengar.v1 import common_pb2, insights_pb2
from dengar_common.ids import mention_id
from dengar_insights.adapters.periods import period_filter
from dengar_insights.adapters.voice_reads import top_authors_pipeline
from dengar_insights.domain.insight.voices import RANKS, VOLUME, AuthorStats, rank_authors

NEG, NEU, POS = common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_NEUTRAL, common_pb2.SENTIMENT_POSITIVE
X, REDDIT = common_pb2.PLATFORM_X, common_pb2.PLATFORM_REDDIT
T = datetime(2026, 11, 10, tzinfo=UTC)
END = T + timedelta(days=1)
BRAND = "q_brand00000000001"
CAMPAIGN = "Boikot produk ini sekarang juga, semua ikut gerakan kita hari ini"


def post(tenant: str, ext: str, *, author_id: str = "", handle: str = "", name: str = "",
         followers: int = 0, verified: bool = False, at: datetime = T, likes: int = 0,
         reposts: int = 0, sentiment: int = NEU, platform: int = X, text: str = "",
         query_ids: tuple[str, ...] = ()) -> common_pb2.EnrichedPost:
    e = enriched(tenant, ext, text=text or f"Ulasan produk nomor {ext}", sentiment=sentiment,
                 platform=platform, created_at=at, likes=likes, reposts=reposts, query_ids=query_ids)
    e.post.author.CopyFrom(common_pb2.Author(id=author_id, handle=handle, display_name=name,
                                             followers=followers, verified=verified))
    return e


def mid(tenant: str, ext: str, platform: str = "x") -> str:
    return mention_id(tenant, platform, ext)


@pytest.fixture
async def planted(env: Env) -> Env:
    h = timedelta(hours=1)
    posts = [
        # x/u_loud: four posts; its profile is the latest one's, its followers the most seen.
        post("acme", "l1", author_id="u_loud", handle="loud_old", followers=100, at=T + h, likes=3,
             sentiment=NEG, query_ids=(BRAND,)),
        post("acme", "l2", author_id="u_loud", handle="loud_old", followers=0, at=T + 2 * h,
             likes=10, sentiment=NEG, query_ids=(BRAND,)),
        post("acme", "l3", author_id="u_loud", handle="loud", followers=120, at=T + 3 * h, likes=1,
             sentiment=POS),
        post("acme", "l4", author_id="u_loud", handle="loud", name="Loud", verified=True,
             followers=110, at=T + 4 * h, likes=7),
        # The same id on another platform is another account.
        post("acme", "r1", author_id="u_loud", handle="loud", followers=50, at=T + h,
             platform=REDDIT),
        post("acme", "b1", author_id="u_big", handle="big", followers=100_000, verified=True,
             at=T + 5 * h, likes=5, sentiment=POS),
        # Before the period: counts nowhere.
        post("acme", "b0", author_id="u_big", handle="big", followers=100_000, at=T - h, likes=9999),
        # Only a handle: grouped by it.
        post("acme", "v1", handle="viral", followers=10, at=T + 6 * h, likes=500, reposts=10,
             platform=REDDIT),
        post("acme", "v2", handle="viral", followers=10, at=T + 7 * h, likes=2, platform=REDDIT),
        # No author at all: a top post, nobody's voice.
        post("acme", "n1", at=T + 8 * h, likes=1000),
    ]
    # Six accounts posting the same text within half an hour: a coordinated campaign.
    posts += [post("acme", f"c{k}", author_id=f"c{k}", handle=f"camp{k}",
                   at=T + 10 * h + timedelta(minutes=5 * k), text=CAMPAIGN, query_ids=(BRAND,))
              for k in range(1, 7)]
    # Another tenant: the same author id, query id and campaign text, never in acme's answers.
    posts += [post("beta", f"bl{k}", author_id="u_loud", handle="loud", followers=9, at=T + h,
                   likes=50, query_ids=(BRAND,)) for k in range(10)]
    posts += [post("beta", f"bc{k}", author_id=f"c{k}", handle=f"camp{k}",
                   at=T + 10 * h + timedelta(minutes=k), text=CAMPAIGN) for k in range(1, 6)]
    for p in posts:
        await env.send(p)
    await env.settle()
    return env


def authors_request(tenant: str = "acme", **kw: object) -> insights_pb2.GetTopAuthorsRequest:
    return insights_pb2.GetTopAuthorsRequest(tenant_id=tenant, start_time=ts(T), end_time=ts(END),
                                             **kw)  # type: ignore[arg-type]  # loose kwargs


def keys(resp: insights_pb2.GetTopAuthorsResponse) -> list[tuple[str, str]]:
    return [(a.platform, a.author_id or "@" + a.handle) for a in resp.authors]


async def test_top_authors_by_volume_reach_and_engagement(planted: Env) -> None:
    stub = planted.stub
    volume = await stub.GetTopAuthors(authors_request(limit=4))
    assert keys(volume) == [("x", "u_loud"), ("reddit", "@viral"), ("x", "u_big"),
                            ("reddit", "u_loud")]
    loud = volume.authors[0]
    assert (loud.handle, loud.display_name, loud.verified) == ("loud", "Loud", True)
    assert (loud.followers, loud.mentions, loud.engagement) == (120, 4, 21)
    assert (loud.negative, loud.neutral, loud.positive) == (2, 1, 1)
    assert loud.net_sentiment == pytest.approx(-0.25)
    assert list(loud.sample_mention_ids) == [mid("acme", "l2"), mid("acme", "l4"), mid("acme", "l1")]
    viral = volume.authors[1]
    assert (viral.author_id, viral.handle, viral.mentions, viral.engagement) == ("", "viral", 2, 522)

    reach = await stub.GetTopAuthors(authors_request(rank_by=insights_pb2.AUTHOR_RANK_REACH, limit=3))
    assert keys(reach) == [("x", "u_big"), ("x", "u_loud"), ("reddit", "u_loud")]
    assert reach.authors[0].followers == 100_000 and reach.authors[0].mentions == 1

    engagement = await stub.GetTopAuthors(
        authors_request(rank_by=insights_pb2.AUTHOR_RANK_ENGAGEMENT, limit=3))
    assert keys(engagement) == [("reddit", "@viral"), ("x", "u_loud"), ("x", "u_big")]
    assert list(engagement.authors[0].sample_mention_ids) == [mid("acme", "v1", "reddit"),
                                                              mid("acme", "v2", "reddit")]

    # Every author of the period, none without an author, none from before it or from beta.
    everyone = await stub.GetTopAuthors(authors_request(limit=100))
    assert len(everyone.authors) == 4 + 6
    assert sum(a.mentions for a in everyone.authors) == 8 + 6
    assert {a.followers for a in everyone.authors if a.platform == "x" and a.author_id == "u_loud"} == {120}


async def test_store_ranking_is_the_domains(planted: Env) -> None:
    everyone = await planted.stub.GetTopAuthors(authors_request(limit=100))
    stats = [AuthorStats(platform=a.platform, key=a.author_id or "@" + a.handle, author_id=a.author_id,
                         handle=a.handle, display_name=a.display_name, verified=a.verified,
                         followers=a.followers, mentions=a.mentions, engagement=a.engagement,
                         negative=a.negative, neutral=a.neutral, positive=a.positive)
             for a in everyone.authors]
    for rank, enum in zip(RANKS, (insights_pb2.AUTHOR_RANK_VOLUME, insights_pb2.AUTHOR_RANK_REACH,
                                  insights_pb2.AUTHOR_RANK_ENGAGEMENT), strict=True):
        resp = await planted.stub.GetTopAuthors(authors_request(rank_by=enum, limit=100))
        assert keys(resp) == [(a.platform, a.key) for a in rank_authors(stats, rank)], rank


async def test_top_authors_of_one_query_and_another_tenant(planted: Env) -> None:
    brand = await planted.stub.GetTopAuthors(authors_request(query_id=BRAND, limit=100))
    assert keys(brand)[0] == ("x", "u_loud")
    assert (brand.authors[0].mentions, brand.authors[0].engagement) == (2, 13)
    assert {k for k in keys(brand)[1:]} == {("x", f"c{k}") for k in range(1, 7)}

    beta = await planted.stub.GetTopAuthors(authors_request("beta", limit=100))
    assert keys(beta)[0] == ("x", "u_loud")
    assert (beta.authors[0].mentions, beta.authors[0].followers) == (10, 9)
    beta_ids = {mid("beta", f"bl{k}") for k in range(10)} | {mid("beta", f"bc{k}") for k in range(1, 6)}
    assert {i for a in beta.authors for i in a.sample_mention_ids} <= beta_ids
    assert sum(a.mentions for a in beta.authors) == 15


async def test_top_posts_in_engagement_order_within_the_period(planted: Env) -> None:
    resp = await planted.stub.GetTopPosts(insights_pb2.GetTopPostsRequest(
        tenant_id="acme", start_time=ts(T), end_time=ts(END), limit=3))
    assert [m.id for m in resp.mentions] == [mid("acme", "n1"), mid("acme", "v1", "reddit"),
                                             mid("acme", "l2")]
    assert resp.mentions[0].post.engagement.likes == 1000
    brand = await planted.stub.GetTopPosts(insights_pb2.GetTopPostsRequest(
        tenant_id="acme", start_time=ts(T), end_time=ts(END), query_id=BRAND, limit=2))
    assert [m.id for m in brand.mentions] == [mid("acme", "l2"), mid("acme", "l1")]
    beta = await planted.stub.GetTopPosts(insights_pb2.GetTopPostsRequest(
        tenant_id="beta", start_time=ts(T), end_time=ts(END), limit=100))
    assert len(beta.mentions) == 15 and all(m.tenant_id == "beta" for m in beta.mentions)


async def test_campaigns_with_first_post_and_filters(planted: Env) -> None:
    resp = await planted.stub.GetCampaigns(insights_pb2.GetCampaignsRequest(
        tenant_id="acme", start_time=ts(T), end_time=ts(END)))
    assert resp.sampled_mentions == 15
    [c] = resp.campaigns
    assert (c.posts, c.authors) == (6, 6)
    assert c.start_time.ToDatetime(tzinfo=UTC) == T + timedelta(hours=10, minutes=5)
    assert c.end_time.ToDatetime(tzinfo=UTC) == T + timedelta(hours=10, minutes=30)
    assert c.first_post.mention_id == mid("acme", "c1") and c.first_post.author == "camp1"
    assert c.first_post.text == CAMPAIGN and c.sample_text == CAMPAIGN
    assert list(c.platforms) == ["x"] and list(c.query_ids) == [BRAND]
    assert c.common_terms and set(c.evidence_mention_ids) <= {mid("acme", f"c{k}") for k in range(1, 7)}
    assert c.filters["from"] == "2026-11-10T10:05:00Z" and c.filters["to"] == "2026-11-10T10:30:01Z"
    assert c.filters["q"] == " ".join(c.common_terms) and "query_id" not in c.filters

    scoped = await planted.stub.GetCampaigns(insights_pb2.GetCampaignsRequest(
        tenant_id="acme", start_time=ts(T), end_time=ts(END), query_id=BRAND))
    [s] = scoped.campaigns
    assert s.filters["query_id"] == BRAND and s.cluster == c.cluster

    # Beta's own copies make its own campaign: five authors, none of acme's posts.
    beta = await planted.stub.GetCampaigns(insights_pb2.GetCampaignsRequest(
        tenant_id="beta", start_time=ts(T), end_time=ts(END)))
    [b] = beta.campaigns
    assert (b.posts, b.authors) == (5, 5)
    assert {*b.evidence_mention_ids, b.first_post.mention_id} <= {mid("beta", f"bc{k}") for k in range(1, 6)}

    # Only the period's copies count: five of them are still a campaign, four are not.
    for minutes, found in ((10, [5]), (15, [])):
        later = await planted.stub.GetCampaigns(insights_pb2.GetCampaignsRequest(
            tenant_id="acme", start_time=ts(T + timedelta(hours=10, minutes=minutes)),
            end_time=ts(END)))
        assert [x.posts for x in later.campaigns] == found


@pytest.mark.parametrize(("method", "kw", "field"), [
    ("GetTopAuthors", {"limit": 101}, "limit"),
    ("GetTopAuthors", {"limit": -1}, "limit"),
    ("GetTopAuthors", {"rank_by": 9}, "rank_by"),
    ("GetTopAuthors", {"query_id": " "}, "query_id"),
    ("GetTopPosts", {"limit": 101}, "limit"),
    ("GetCampaigns", {"limit": 51}, "limit"),
    ("GetCampaigns", {"end_time": ts(T)}, "end_time"),
    ("GetTopPosts", {"start_time": ts(T - timedelta(days=367))}, "start_time"),
])
async def test_bad_input_is_invalid_argument(env: Env, method: str, kw: dict[str, object],
                                             field: str) -> None:
    requests = {"GetTopAuthors": insights_pb2.GetTopAuthorsRequest,
                "GetTopPosts": insights_pb2.GetTopPostsRequest,
                "GetCampaigns": insights_pb2.GetCampaignsRequest}
    args: dict[str, object] = {"tenant_id": "acme", "start_time": ts(T), "end_time": ts(END), **kw}
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await getattr(env.stub, method)(requests[method](**args))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(err.value.trailing_metadata() or ())["dengar-error-field"] == field


async def test_missing_time_is_invalid_argument(env: Env) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.GetTopAuthors(insights_pb2.GetTopAuthorsRequest(tenant_id="acme", start_time=ts(T)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(err.value.trailing_metadata() or ())["dengar-error-field"] == "end_time"


async def test_a_mention_created_at_the_start_counts(planted: Env) -> None:
    # SecantusDB once dropped range-start matches on the descending created_at index (see
    # adapters/periods.py); a mention at exactly `from` belongs to the period.
    at = T + timedelta(hours=2)  # l2
    authors = await planted.stub.GetTopAuthors(insights_pb2.GetTopAuthorsRequest(
        tenant_id="acme", start_time=ts(at), end_time=ts(END), limit=1))
    assert authors.authors[0].author_id == "u_loud" and authors.authors[0].mentions == 3
    posts = await planted.stub.GetTopPosts(insights_pb2.GetTopPostsRequest(
        tenant_id="acme", start_time=ts(at), end_time=ts(at + timedelta(milliseconds=1))))
    assert [m.id for m in posts.mentions] == [mid("acme", "l2")]
    first = T + timedelta(hours=10, minutes=5)  # c1
    campaigns = await planted.stub.GetCampaigns(insights_pb2.GetCampaignsRequest(
        tenant_id="acme", start_time=ts(first), end_time=ts(END)))
    [c] = campaigns.campaigns
    assert c.posts == 6 and c.first_post.mention_id == mid("acme", "c1")


async def test_period_reads_use_an_index(planted: Env, mongo_client: Any) -> None:
    # The store plans some equivalent filter shapes ($and lists, $or in the match) as collection
    # scans, which would make every read cost the size of every tenant's mentions.
    db = mongo_client[planted.app.settings.insights.db]
    for query_id in (None, BRAND):
        pipeline = top_authors_pipeline("acme", T, END, query_id, VOLUME, 10, 3)
        plan = str(await db.command("explain", {"aggregate": "mentions", "pipeline": pipeline,
                                                "cursor": {}}))
        assert "IXSCAN" in plan and "COLLSCAN" not in plan, plan
        plan = str(await db["mentions"].find(period_filter("acme", T, END, query_id)).sort(
            [("created_at", -1), ("_id", -1)]).limit(10).explain())
        assert "IXSCAN" in plan and "COLLSCAN" not in plan, plan
