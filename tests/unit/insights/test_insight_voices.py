"""Top voices and campaigns: the ranking and grouping rules, and the use cases over fake ports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dengar_common.errors import InvalidArgument
from dengar_insights.domain.insight.drivers import MentionFeatures
from dengar_insights.domain.insight.voices import (
    ENGAGEMENT,
    REACH,
    VOLUME,
    AuthorStats,
    author_key,
    campaigns_of,
    net_sentiment,
    rank_authors,
)
from dengar_insights.service_layer.voices import VoiceLimits, Voices, VoicesRequest

T = datetime(2026, 11, 10, tzinfo=UTC)
END = T + timedelta(days=1)
COPY = "Boikot produk ini sekarang juga, semua ikut gerakan kita hari ini"


def author(key: str, *, platform: str = "x", mentions: int = 1, engagement: int = 0,
           followers: int = 0, pos: int = 0, neg: int = 0) -> AuthorStats:
    return AuthorStats(platform=platform, key=key, author_id=key, handle=key, display_name="",
                       verified=False, followers=followers, mentions=mentions,
                       engagement=engagement, negative=neg, neutral=mentions - pos - neg,
                       positive=pos)


def test_author_key_is_the_id_else_the_prefixed_handle() -> None:
    assert author_key("123", "budi") == "123"
    assert author_key("", "budi") == "@budi"
    assert author_key("", "") == ""


def test_net_sentiment() -> None:
    assert net_sentiment(3, 1, 4) == 0.5
    assert net_sentiment(0, 0, 0) == 0.0
    assert author("a", mentions=4, pos=1, neg=2).net_sentiment == -0.25


AUTHORS = [
    author("loud", mentions=5, engagement=10, followers=100),
    author("big", mentions=1, engagement=50, followers=90_000),
    author("viral", mentions=2, engagement=900, followers=10),
    author("tie_b", mentions=2, engagement=900, followers=10),
    author("tie_b", platform="reddit", mentions=2, engagement=900, followers=10),
]


@pytest.mark.parametrize(("rank_by", "expected"), [
    (VOLUME, ["x/loud", "reddit/tie_b", "x/tie_b", "x/viral", "x/big"]),
    (REACH, ["x/big", "x/loud", "reddit/tie_b", "x/tie_b", "x/viral"]),
    (ENGAGEMENT, ["reddit/tie_b", "x/tie_b", "x/viral", "x/big", "x/loud"]),
])
def test_rank_authors_by_the_measure_then_the_others_then_platform_and_key(
        rank_by: str, expected: list[str]) -> None:
    assert [f"{a.platform}/{a.key}" for a in rank_authors(AUTHORS, rank_by)] == expected
    assert len(rank_authors(AUTHORS, rank_by, limit=2)) == 2


def test_volume_ties_go_to_engagement_then_followers() -> None:
    a, b, c = (author("a", mentions=3, engagement=1, followers=9),
               author("b", mentions=3, engagement=2, followers=1),
               author("c", mentions=3, engagement=1, followers=10))
    assert [x.key for x in rank_authors([a, b, c], VOLUME)] == ["b", "c", "a"]


def copy(i: int, minutes: int, *, author: str | None = None, text: str = COPY,
         query_ids: tuple[str, ...] = ("q1",)) -> MentionFeatures:
    return MentionFeatures(id=f"m{i:02d}", created_at=T + timedelta(hours=5, minutes=minutes),
                           text=text, author=author or f"acct{i}", platform="x",
                           query_ids=query_ids)


def test_campaigns_of_lists_coordinated_clusters_with_first_post_and_filters() -> None:
    mentions = [copy(i, 3 * i) for i in range(6)]
    # One account repeating itself is no campaign, however often.
    mentions += [copy(10 + i, i, author="spammer",
                      text="Promo gila diskon besar cuma hari ini di toko kami") for i in range(8)]
    [c] = campaigns_of(list(reversed(mentions)), T, END, query_id="q1")
    assert (c.cluster.posts, c.cluster.authors) == (6, 6)
    assert (c.first_post.id, c.first_post.author, c.first_post.text) == ("m00", "acct0", COPY)
    assert c.first_post.created_at == T + timedelta(hours=5) and c.first_post.platform == "x"
    assert c.filters == {"from": "2026-11-10T05:00:00Z", "to": "2026-11-10T05:15:01Z",
                         "query_id": "q1", "q": " ".join(c.cluster.common_terms)}
    assert c.cluster.common_terms and set(c.cluster.evidence_ids) <= {m.id for m in mentions[:6]}


def test_campaigns_of_keeps_those_that_started_in_the_period_most_authors_first() -> None:
    small = [copy(i, i) for i in range(5)]
    other = "Layanan pelanggan lambat sekali, kami semua kecewa berat minggu ini"
    big = [copy(20 + i, 60 + i, text=other) for i in range(7)]
    found = campaigns_of([*small, *big], T, END)
    assert [c.cluster.authors for c in found] == [7, 5]
    assert [c.cluster.authors for c in campaigns_of([*small, *big], T, END, limit=1)] == [7]
    # A cluster whose span started before the period is not the period's.
    assert campaigns_of(small, T + timedelta(hours=5, minutes=1), END) == []


def test_too_few_authors_is_no_campaign() -> None:
    assert campaigns_of([copy(i, i) for i in range(4)], T, END) == []


# -- the use cases ---------------------------------------------------------------------------------


@dataclass
class Reads:
    authors: list[AuthorStats] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[MentionFeatures] = field(default_factory=list)
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    async def top_authors(self, tenant_id: str, start: datetime, end: datetime,
                          query_id: str | None, rank_by: str, limit: int, samples: int,
                          max_time: timedelta) -> list[AuthorStats]:
        self.calls.append(("authors", tenant_id, query_id, rank_by, limit, samples))
        return rank_authors(self.authors, rank_by, limit)

    async def top_posts(self, tenant_id: str, start: datetime, end: datetime,
                        query_id: str | None, limit: int) -> list[dict[str, Any]]:
        self.calls.append(("posts", tenant_id, query_id, limit))
        return self.posts[:limit]

    async def sample(self, tenant_id: str, start: datetime, end: datetime, query_id: str | None,
                     limit: int) -> list[MentionFeatures]:
        self.calls.append(("sample", tenant_id, query_id, limit))
        return [m for m in self.mentions if start <= m.created_at < end][:limit]

    async def by_ids(self, tenant_id: str, ids: Sequence[str]) -> dict[str, Any]:
        return {}


def voices(reads: Reads, **limits: Any) -> Voices:
    return Voices(reads, reads, limits=VoiceLimits(**limits))


async def test_top_authors_passes_rank_limit_and_samples() -> None:
    reads = Reads(authors=AUTHORS)
    found = await voices(reads).top_authors(VoicesRequest("acme", T, END, "q1", limit=2), REACH)
    assert [a.key for a in found] == ["big", "loud"]
    assert reads.calls == [("authors", "acme", "q1", REACH, 2, 3)]


async def test_campaigns_read_a_bounded_sample() -> None:
    reads = Reads(mentions=[copy(i, i) for i in range(6)])
    result = await voices(reads, campaign_sample_cap=100).campaigns(VoicesRequest("acme", T, END))
    assert result.sampled == 6 and len(result.campaigns) == 1
    assert reads.calls == [("sample", "acme", None, 100)]


@pytest.mark.parametrize(("req", "rank_by", "field"), [
    (VoicesRequest("acme", T, T), VOLUME, "end_time"),
    (VoicesRequest("acme", T.replace(tzinfo=None), END), VOLUME, "start_time"),
    (VoicesRequest("acme", T - timedelta(days=400), END), VOLUME, "start_time"),
    (VoicesRequest("acme", T, END, limit=0), VOLUME, "limit"),
    (VoicesRequest("acme", T, END, limit=101), VOLUME, "limit"),
    (VoicesRequest("acme", T, END), "loudest", "rank_by"),
])
async def test_top_authors_rejects_bad_input_naming_the_field(req: VoicesRequest, rank_by: str,
                                                              field: str) -> None:
    reads = Reads()
    with pytest.raises(InvalidArgument) as err:
        await voices(reads).top_authors(req, rank_by)
    assert err.value.field == field and reads.calls == []


async def test_each_listing_has_its_own_maximum() -> None:
    reads = Reads()
    assert await voices(reads).top_posts(VoicesRequest("acme", T, END, limit=100)) == []
    with pytest.raises(InvalidArgument):
        await voices(reads).top_posts(VoicesRequest("acme", T, END, limit=101))
    with pytest.raises(InvalidArgument) as err:
        await voices(reads).campaigns(VoicesRequest("acme", T, END, limit=51))
    assert err.value.field == "limit"
