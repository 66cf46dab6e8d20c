"""Top voices and coordinated campaigns: the rules, apart from how the store computes them.

* An *author* is one account of one platform: grouped by platform and author id, or by handle
  when the platform gave no id (``author_key``); a mention with neither has no author and is left
  out. Its profile (handle, display name, verified) is that of its latest mention in the period;
  its followers the largest count seen there (a platform that does not report them says 0).
* Ranking (``RANK_ORDER``): ``volume`` by mentions, ``reach`` by followers, ``engagement`` by the
  summed engagement score; ties go to the other two measures in a fixed order, then to platform
  and author key, so that the same data always ranks the same way.
* Samples: an author's most engaging mentions (engagement score, then id, descending).
* Campaigns (``campaigns_of``): the coordinated near-duplicate clusters of duplicates.py whose
  densest span starts inside the period, most distinct authors first, each with its first post
  and the GET /v1/mentions filters that list its evidence (as the brief's card).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dengar_insights.domain.insight.brief import cluster_filters
from dengar_insights.domain.insight.drivers import MentionFeatures
from dengar_insights.domain.insight.duplicates import (
    DEFAULT_DUPLICATE_PARAMS,
    DuplicateCluster,
    DuplicateParams,
    coordinated_duplicates,
)

VOLUME, REACH, ENGAGEMENT = "volume", "reach", "engagement"
RANKS = (VOLUME, REACH, ENGAGEMENT)
# AuthorStats fields compared, in order, all descending; then platform and key ascending.
RANK_ORDER: Mapping[str, tuple[str, str, str]] = {
    VOLUME: ("mentions", "engagement", "followers"),
    REACH: ("followers", "mentions", "engagement"),
    ENGAGEMENT: ("engagement", "mentions", "followers"),
}
# A handle stands in for a missing author id; the prefix keeps it from equalling some real id.
HANDLE_PREFIX = "@"


def author_key(author_id: str, handle: str) -> str:
    """What identifies an author within a platform; "" when there is nothing to go by."""
    if author_id:
        return author_id
    return HANDLE_PREFIX + handle if handle else ""


def net_sentiment(positive: int, negative: int, mentions: int) -> float:
    """(positive - negative) / mentions, 0 without mentions."""
    return (positive - negative) / mentions if mentions else 0.0


@dataclass(frozen=True)
class AuthorStats:
    """One author's activity in a period."""

    platform: str
    key: str
    author_id: str
    handle: str
    display_name: str
    verified: bool
    followers: int
    mentions: int
    engagement: int
    negative: int
    neutral: int
    positive: int
    sample_ids: tuple[str, ...] = ()

    @property
    def net_sentiment(self) -> float:
        return net_sentiment(self.positive, self.negative, self.mentions)


def rank_authors(authors: Iterable[AuthorStats], rank_by: str,
                 limit: int | None = None) -> list[AuthorStats]:
    """``authors`` in ``RANK_ORDER[rank_by]`` order (the order the store's ranking must give)."""
    fields = RANK_ORDER[rank_by]
    ordered = sorted(authors, key=lambda a: (*(-getattr(a, f) for f in fields), a.platform, a.key))
    return ordered if limit is None else ordered[:limit]


@dataclass(frozen=True)
class CampaignPost:
    id: str
    author: str
    text: str
    created_at: datetime
    platform: str


@dataclass(frozen=True)
class Campaign:
    cluster: DuplicateCluster
    first_post: CampaignPost
    # Query parameters of GET /v1/mentions that list the evidence.
    filters: Mapping[str, str]


def campaigns_of(mentions: Sequence[MentionFeatures], start: datetime, end: datetime, *,
                 query_id: str | None = None, limit: int | None = None,
                 params: DuplicateParams = DEFAULT_DUPLICATE_PARAMS) -> list[Campaign]:
    """The coordinated clusters among ``mentions`` whose span starts in [start, end), most
    distinct authors first (then most posts, earliest, key)."""
    by_id = {m.id: m for m in mentions}
    ordered = sorted(by_id.values(), key=lambda m: (m.created_at, m.id))
    out = []
    for c in coordinated_duplicates(ordered, params):
        if not start <= c.start < end:
            continue
        first = by_id[c.mention_ids[0]]
        out.append(Campaign(
            cluster=c, filters=cluster_filters(c, query_id),
            first_post=CampaignPost(id=first.id, author=first.author, text=first.text,
                                    created_at=first.created_at, platform=first.platform)))
        if limit is not None and len(out) >= limit:
            break
    return out


__all__ = [
    "ENGAGEMENT", "HANDLE_PREFIX", "RANKS", "RANK_ORDER", "REACH", "VOLUME", "AuthorStats", "Campaign",
    "CampaignPost", "author_key", "campaigns_of", "net_sentiment", "rank_authors",
]
