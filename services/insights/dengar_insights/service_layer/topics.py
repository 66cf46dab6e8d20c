"""Emerging topics use case: what a tenant's mentions of a window are about, and what changed.

Insights owns the clustering (see ``domain/insight/topics.py``): the vectors are already stored
with the mentions, so a request reads two windows from the store and clusters them here.

Per request:

1. **Read** the window [start, end) and the previous window of the same length, only the mentions
   with an embedding and only the fields a topic needs (``TopicReads``). A window with more than
   ``TopicLimits.sample_cap`` (10,000) such mentions is sampled by a hash of the mention id
   (``emerging.sample_ids``: the same window always gives the same sample); volumes are then
   scaled and the answer says ``estimated``.
2. **Cluster** both windows (``discover_topics``, seeded, so the same input gives the same topics)
   in a worker thread, one request at a time per process: it is CPU-bound for a second or two at
   the cap, and the event loop must keep serving the other RPCs meanwhile.
3. **Growth** - previous topics are matched to current ones by centroid; see ``emerging``.
4. **Ids** - the topics are matched against the tenant's registry for the scope (the ``topics``
   collection: one small document per tenant and scope, ids with their int8 centroids), which is
   updated with a compare-and-set on its revision; a lost race re-reads and matches again once,
   then answers with the ids it has without saving them (the next request registers them).

Cost (``make bench-topics``, bench/results/topics.md): two window reads of at most
``sample_cap`` mentions (384-byte vectors) plus two clusterings. A 10,000-mention window of the
airline tweets with its 4,485-mention previous window took 3.4 s end to end from SecantusDB on the
2-core dev machine (1.3 s reading the 10,000, 1.2 s clustering them), and a 14,485-mention window
sampled to 10,000 took 3.5 s; beyond the cap the read still streams the whole window (about
0.1 ms per mention) while memory and clustering stay bounded. A stored vector adds 400 bytes of
BSON to a mention (2.1 KB instead of 1.7 KB on those tweets). The cap of 10,000 keeps a request
within a few seconds here.
Validation errors are ``InvalidArgument`` naming the
request field (``start_time``, ``end_time``, ``limit``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from dengar_common.embedding import stack
from dengar_common.errors import InvalidArgument
from dengar_insights.domain.insight.emerging import (
    MATCH_THRESHOLD,
    Clustered,
    RegistryEntry,
    TopicPost,
    TopicSummary,
    centroids_of,
    identify,
    k_candidates,
    match_windows,
    summarise,
)
from dengar_insights.domain.insight.topics import discover_topics

logger = logging.getLogger(__name__)

ALL_SCOPE = "_all"


# -- ports ----------------------------------------------------------------------------------------


class TopicReads(Protocol):
    """Reads of a window's embedded mentions, on an index that starts with tenant_id."""

    async def window(self, tenant_id: str, start: datetime, end: datetime, query_id: str | None,
                     cap: int) -> tuple[list[TopicPost], int]:
        """The mentions created in [start, end) (of the query, if any) that have an embedding, and
        how many there are: all of them when there are at most ``cap``, else the ``cap`` with the
        smallest ``emerging.sample_key`` (``emerging.sample_ids``' rule), in any order."""
        ...


class TopicRegistryStore(Protocol):
    """The registered topics of a tenant and scope (a query id, or ``ALL_SCOPE``)."""

    async def load(self, tenant_id: str, scope: str) -> tuple[list[RegistryEntry], int]:
        """The entries and the registry's revision (0 when there is none yet)."""
        ...

    async def save(self, tenant_id: str, scope: str, entries: Sequence[RegistryEntry],
                   rev: int) -> bool:
        """Store ``entries`` iff the registry is still at ``rev``; False when someone was faster."""
        ...


# -- requests and results --------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicLimits:
    # Mentions clustered per window; beyond, a hash sample of this many (measured: bench_topics).
    sample_cap: int = 10_000
    max_period: timedelta = timedelta(days=366)
    max_topics: int = 50
    seed: int = 0
    threshold: float = MATCH_THRESHOLD


DEFAULT_TOPIC_LIMITS = TopicLimits()


@dataclass(frozen=True)
class TopicsRequest:
    tenant_id: str
    start: datetime
    end: datetime
    query_id: str | None = None
    limit: int = 10


@dataclass(frozen=True)
class TopicsResult:
    topics: tuple[TopicSummary, ...]
    start: datetime
    end: datetime
    previous_start: datetime
    # Embedded mentions in each window, and how many of them were clustered.
    volume: int
    previous_volume: int
    sampled: int
    previous_sampled: int

    @property
    def estimated(self) -> bool:
        """Whether the counts are scaled up from a sample."""
        return self.sampled < self.volume or self.previous_sampled < self.previous_volume


@dataclass(frozen=True)
class _Window:
    posts: list[TopicPost]
    total: int


# -- the use case ----------------------------------------------------------------------------------


class TopicsEngine:
    """Emerging topics of one tenant's window, with stable ids."""

    def __init__(self, reads: TopicReads, registry: TopicRegistryStore, *,
                 limits: TopicLimits = DEFAULT_TOPIC_LIMITS) -> None:
        self._reads = reads
        self._registry = registry
        self.limits = limits
        # Clustering is CPU-bound: one at a time per process (see the module docstring).
        self._cpu = asyncio.Semaphore(1)

    async def topics(self, req: TopicsRequest) -> TopicsResult:
        self._check(req)
        length = req.end - req.start
        prev_start = req.start - length
        current, previous = await asyncio.gather(
            self._read(req.tenant_id, req.start, req.end, req.query_id),
            self._read(req.tenant_id, prev_start, req.start, req.query_id))
        async with self._cpu:
            cur, prev = await asyncio.to_thread(self._cluster_both, current, previous)
        scope = req.query_id or ALL_SCOPE
        pairs = match_windows(cur, prev)
        ids = await self._ids(req.tenant_id, scope, cur, prev, pairs, req.end)
        found = summarise(cur, prev, pairs, ids)
        return TopicsResult(
            topics=tuple(found[:req.limit]), start=req.start, end=req.end,
            previous_start=prev_start, volume=current.total, previous_volume=previous.total,
            sampled=len(cur.posts), previous_sampled=len(prev.posts))

    def _check(self, req: TopicsRequest) -> None:
        if req.start.tzinfo is None or req.end.tzinfo is None:
            raise InvalidArgument("start_time and end_time must be time-zone aware",
                                  field="start_time")
        if req.end <= req.start:
            raise InvalidArgument("end_time must be after start_time", field="end_time")
        if req.end - req.start > self.limits.max_period:
            raise InvalidArgument(f"the period is longer than {self.limits.max_period.days} days",
                                  field="start_time")
        if not 1 <= req.limit <= self.limits.max_topics:
            raise InvalidArgument(f"limit must be 1-{self.limits.max_topics}", field="limit")

    async def _read(self, tenant: str, start: datetime, end: datetime,
                    query_id: str | None) -> _Window:
        posts, total = await self._reads.window(tenant, start, end, query_id,
                                                self.limits.sample_cap)
        # Sorted so that clustering sees the same input whatever order the store answered in.
        return _Window(sorted(posts, key=lambda p: p.id), max(total, len(posts)))

    def _cluster_both(self, current: _Window, previous: _Window) -> tuple[Clustered, Clustered]:
        return self._cluster(current), self._cluster(previous)

    def _cluster(self, w: _Window) -> Clustered:
        x, rows = stack([p.embedding for p in w.posts])
        posts = [w.posts[i] for i in rows]
        # Vectors of another size or all zeros are skipped; the estimate of the window drops alike.
        total = round(w.total * len(posts) / len(w.posts)) if w.posts else 0
        result = discover_topics([p.text for p in posts], x, seed=self.limits.seed,
                                 k_candidates=k_candidates(len(posts)))
        cents = centroids_of(result.topics, result.labels, x) if posts else \
            np.zeros((0, x.shape[1]), dtype=np.float32)
        return Clustered(posts, result.topics, result.labels, cents, total, x)

    async def _ids(self, tenant: str, scope: str, cur: Clustered, prev: Clustered,
                   pairs: dict[int, int], seen: datetime) -> list[str]:
        ids: list[str] = []
        for attempt in range(2):
            entries, rev = await self._registry.load(tenant, scope)
            ids, updated = identify(tenant, scope, cur, prev, pairs, entries, seen,
                                    self.limits.threshold)
            if not ids or await self._registry.save(tenant, scope, updated, rev):
                return ids
            logger.info("topic registry of %s/%s changed meanwhile (attempt %d)", tenant, scope,
                        attempt + 1)
        logger.warning("topic registry of %s/%s kept changing; answering unsaved ids", tenant, scope)
        return ids


__all__ = ["ALL_SCOPE", "DEFAULT_TOPIC_LIMITS", "TopicLimits", "TopicReads", "TopicRegistryStore",
           "TopicsEngine", "TopicsRequest", "TopicsResult"]
