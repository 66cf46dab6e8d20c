"""Top voices (authors), top posts and coordinated campaigns of a period: the use cases.

What each reads, and what bounds it:

* top authors: one aggregation over the period's mentions (``VoiceReads.top_authors``: matched on
  the ``tenant_created`` or ``tenant_query_created`` index, grouped per author, ranked and cut to
  ``limit`` in the store). Its cost grows with the period's mentions, so the period is capped
  (``VoiceLimits.max_period``) and the store gets a time limit (``max_time``); past it the call
  fails as unavailable rather than running on.
* top posts: one indexed read, cut to ``limit`` (``VoiceReads.top_posts``).
* campaigns: a bounded sample of the period (``MentionReads.sample``, ``campaign_sample_cap``
  mentions spread over it) clustered by domain/insight/duplicates.py, as the brief does; a long,
  busy period is therefore seen through its sample: a campaign that the sample holds fewer than
  five copies of is missed.

Validation errors are ``InvalidArgument`` naming the gRPC request field (``start_time``,
``end_time``, ``rank_by``, ``limit``). Like the insight engine, these cannot tell an unknown
``query_id`` from one without mentions; the gateway checks ids against the collector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from dengar_common.errors import InvalidArgument
from dengar_insights.domain.insight.voices import (
    RANKS,
    VOLUME,
    AuthorStats,
    Campaign,
    campaigns_of,
)
from dengar_insights.service_layer.insight_engine import MentionDoc, MentionReads


class VoiceReads(Protocol):
    """Store reads of the period's authors and most engaging mentions."""

    async def top_authors(self, tenant_id: str, start: datetime, end: datetime,
                          query_id: str | None, rank_by: str, limit: int, samples: int,
                          max_time: timedelta) -> list[AuthorStats]:
        """The first ``limit`` authors of [start, end) in ``rank_authors(.., rank_by)`` order,
        each with up to ``samples`` of its most engaging mention ids; at most ``max_time`` of
        store time."""
        ...

    async def top_posts(self, tenant_id: str, start: datetime, end: datetime,
                        query_id: str | None, limit: int) -> list[MentionDoc]:
        """The ``limit`` mentions of [start, end) with the highest engagement score (ties: the
        higher id first)."""
        ...


@dataclass(frozen=True)
class VoiceLimits:
    """What one request may cost."""

    max_period: timedelta = timedelta(days=366)
    max_authors: int = 100
    max_posts: int = 100
    max_campaigns: int = 50
    # Sample mention ids per author.
    author_samples: int = 3
    # Store time of the top-authors aggregation.
    max_time: timedelta = timedelta(seconds=20)
    # Mentions of the period the campaign search examines, spread over it.
    campaign_sample_cap: int = 5000


DEFAULT_VOICE_LIMITS = VoiceLimits()
DEFAULT_LIMIT = 10


@dataclass(frozen=True)
class VoicesRequest:
    tenant_id: str
    start: datetime
    end: datetime
    query_id: str | None = None
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class CampaignsResult:
    campaigns: tuple[Campaign, ...]
    # How many mentions were examined.
    sampled: int


class Voices:
    """Top authors, top posts and campaigns of one tenant's period."""

    def __init__(self, reads: VoiceReads, mentions: MentionReads, *,
                 limits: VoiceLimits = DEFAULT_VOICE_LIMITS) -> None:
        self._reads = reads
        self._mentions = mentions
        self.limits = limits

    def _check(self, req: VoicesRequest, max_limit: int) -> None:
        if req.start.tzinfo is None or req.end.tzinfo is None:
            raise InvalidArgument("start_time and end_time must be time-zone aware", field="start_time")
        if req.end <= req.start:
            raise InvalidArgument("end_time must be after start_time", field="end_time")
        if req.end - req.start > self.limits.max_period:
            raise InvalidArgument(f"the period is longer than {self.limits.max_period.days} days",
                                  field="start_time")
        if not 1 <= req.limit <= max_limit:
            raise InvalidArgument(f"limit must be 1-{max_limit}", field="limit")

    async def top_authors(self, req: VoicesRequest, rank_by: str = VOLUME) -> list[AuthorStats]:
        """The period's authors ranked by ``rank_by`` (volume, reach or engagement)."""
        self._check(req, self.limits.max_authors)
        if rank_by not in RANKS:
            raise InvalidArgument(f"unknown rank_by {rank_by!r}: expected one of {', '.join(RANKS)}",
                                  field="rank_by")
        return await self._reads.top_authors(req.tenant_id, req.start, req.end, req.query_id,
                                             rank_by, req.limit, self.limits.author_samples,
                                             self.limits.max_time)

    async def top_posts(self, req: VoicesRequest) -> Sequence[MentionDoc]:
        """The period's most engaging mentions."""
        self._check(req, self.limits.max_posts)
        return await self._reads.top_posts(req.tenant_id, req.start, req.end, req.query_id,
                                           req.limit)

    async def campaigns(self, req: VoicesRequest) -> CampaignsResult:
        """Coordinated near-duplicate clusters that started in the period."""
        self._check(req, self.limits.max_campaigns)
        sample = await self._mentions.sample(req.tenant_id, req.start, req.end, req.query_id,
                                             self.limits.campaign_sample_cap)
        found = campaigns_of(sample, req.start, req.end, query_id=req.query_id, limit=req.limit)
        return CampaignsResult(campaigns=tuple(found), sampled=len(sample))


__all__ = ["DEFAULT_VOICE_LIMITS", "CampaignsResult", "VoiceLimits", "VoiceReads", "Voices",
           "VoicesRequest"]
