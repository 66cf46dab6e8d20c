"""MongoDB implementation of the insight engine's ports (service_layer/insight_engine.py).

Every read is on an existing index that starts with ``tenant_id``:

* rollup buckets and totals: ``rollups.tenant_interval_start`` through ``RollupRepository.read``,
  projecting only the scope's counters (``queries.<id>`` for one listening query);
* mention samples: ``mentions.tenant_created`` (tenant-wide) or ``mentions.tenant_query_created``
  (one query), as ``SAMPLE_SLICES`` range reads over equal slices of the window, newest first in
  each, ``ceil(limit / slices)`` per slice, so that a sample covers the whole window rather than its
  last minutes. A quiet slice leaves its share unused (the sample is then smaller than ``limit``
  even if a busy slice had more); only the fields the drivers need are read;
* evidence: ``_id`` lookups (by ``_id`` alone, the tenant checked on the documents found).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from dengar_insights.adapters.mentions import HIDDEN
from dengar_insights.adapters.periods import period_filter
from dengar_insights.adapters.rollups import RollupRepository
from dengar_insights.adapters.store import ids_filter, store_errors
from dengar_insights.domain.insight.drivers import MentionFeatures, features_from_doc
from dengar_insights.domain.insight.spikes import BucketCounts, series_from_rollups
from dengar_insights.domain.rollups import (
    Totals,
    query_counters_path,
    query_part,
    sum_docs,
    summary_spans,
)
from dengar_insights.service_layer.insight_engine import MentionDoc

Doc = dict[str, Any]

SAMPLE_SLICES = 12
# A slice shorter than this is not worth its own read.
MIN_SLICE = timedelta(minutes=10)
_TENANT_COUNTERS = ("volume", "sentiment", "aspects", "platform", "language")
_FEATURE_FIELDS = {"_id": 1, "created_at": 1, "text": 1, "title": 1, "sentiment.label": 1,
                   "aspects.name": 1, "aspects.polarity": 1, "hashtags": 1, "platform": 1,
                   "language": 1, "author.handle": 1, "author.id": 1, "entities.id": 1,
                   "entities.surface": 1, "neardup_keys": 1, "query_ids": 1, "engagement_score": 1,
                   "category_ids": 1}


@store_errors
class MongoRollupReads:
    """``RollupReads`` over the ``rollups`` collection."""

    def __init__(self, rollups: RollupRepository) -> None:
        self._rollups = rollups

    async def buckets(self, tenant_id: str, interval: str, start: datetime, end: datetime,
                      query_id: str | None) -> list[BucketCounts]:
        if query_id is None:
            docs = await self._rollups.read(tenant_id, interval, start, end)
        else:
            docs = [{"bucket_start": d["bucket_start"], **query_part(d, query_id)}
                    for d in await self._rollups.read(tenant_id, interval, start, end,
                                                      [query_counters_path(query_id)])]
        return series_from_rollups(docs)

    async def totals(self, tenant_id: str, start: datetime, end: datetime, scope: str | None,
                     query_ids: Sequence[str] = ()) -> tuple[Totals, dict[str, Totals]]:
        paths = [query_counters_path(q) for q in dict.fromkeys([*query_ids, *([scope] if scope else [])])]
        fields = [*(_TENANT_COUNTERS if scope is None else ()), *paths]
        docs: list[Doc] = []
        for span in summary_spans(start, end):
            docs.extend(await self._rollups.read(tenant_id, span.interval, span.start, span.end,
                                                 fields if paths else None))
        return sum_docs(docs, scope), {q: sum_docs(docs, q) for q in query_ids}


@store_errors
class MongoMentionReads:
    """``MentionReads`` over the ``mentions`` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db["mentions"]

    async def sample(self, tenant_id: str, start: datetime, end: datetime, query_id: str | None,
                     limit: int) -> list[MentionFeatures]:
        if limit <= 0 or end <= start:
            return []
        slices = max(1, min(SAMPLE_SLICES, math.ceil((end - start) / MIN_SLICE)))
        step = (end - start) / slices
        per = math.ceil(limit / slices)
        bounds = [(start + i * step, end if i == slices - 1 else start + (i + 1) * step)
                  for i in range(slices)]
        parts = await asyncio.gather(*(self._slice(tenant_id, s, e, query_id, per)
                                       for s, e in bounds))
        docs = [d for part in parts for d in part]
        return [features_from_doc(d) for d in docs[:limit]]

    async def _slice(self, tenant_id: str, start: datetime, end: datetime, query_id: str | None,
                     limit: int) -> list[Doc]:
        # periods.py: SecantusDB lost the mentions created exactly at a slice's start.
        cursor = (self._col.find(period_filter(tenant_id, start, end, query_id),
                                 projection=_FEATURE_FIELDS)
                  .sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit))
        return await cursor.to_list()

    async def by_ids(self, tenant_id: str, ids: Sequence[str]) -> dict[str, MentionDoc]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        cursor = self._col.find(ids_filter(tenant_id, wanted), projection=HIDDEN)
        return {d["_id"]: d async for d in cursor if d.get("tenant_id") == tenant_id}


__all__ = ["SAMPLE_SLICES", "MongoMentionReads", "MongoRollupReads"]
