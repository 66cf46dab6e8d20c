"""Hourly and daily rollup documents: idempotent delta application and range reads.

One document per tenant, interval and bucket: ``_id`` = ``<tenant>|hour|2026-11-22T05`` or
``<tenant>|day|2026-11-22``, with ``tenant_id``, ``interval``, ``bucket_start`` and the counters
``volume``, ``sentiment.<label>``, ``aspects.<name>.<polarity>``, ``platform.<name>`` and
``language.<code>``, repeated per listening query under ``queries.<query id>`` and per category under
``categories.<category id>``. ``ops`` holds the
ids of the most recent operations applied to the document, so that applying the same operation
again is a no-op (see service_layer/ingest.py for why that is enough).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dengar_insights.adapters.store import store_errors
from dengar_insights.domain.rollups import CATEGORIES, OPS_WINDOW, QUERIES, parse_bucket_id

logger = logging.getLogger(__name__)

_MAX_UPSERT_ATTEMPTS = 5

Doc = dict[str, Any]


@store_errors
class RollupRepository:
    """The ``rollups`` collection of one service database."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db["rollups"]

    async def ensure_indexes(self) -> None:
        await self._col.create_index(
            [("tenant_id", ASCENDING), ("interval", ASCENDING), ("bucket_start", ASCENDING)],
            name="tenant_interval_start")

    async def apply(self, tenant_id: str, bucket: str, op: str, incs: Mapping[str, int]) -> bool:
        """Add ``incs`` to ``bucket`` unless ``op`` was already applied there.

        Returns True when this call applied it, False when it had been applied before.
        """
        owner, interval, start = parse_bucket_id(bucket)
        if owner != tenant_id:
            raise ValueError(f"bucket {bucket!r} does not belong to tenant {tenant_id!r}")
        for _ in range(_MAX_UPSERT_ATTEMPTS):
            try:
                res = await self._col.update_one(
                    {"_id": bucket, "tenant_id": tenant_id, "ops": {"$ne": op}},
                    {"$inc": dict(incs),
                     "$push": {"ops": {"$each": [op], "$slice": -OPS_WINDOW}},
                     "$setOnInsert": {"interval": interval, "bucket_start": start}},
                    upsert=True)
                return bool(res.modified_count or res.upserted_id is not None)
            except DuplicateKeyError:
                # The filter missed an existing document: either it already holds ``op`` (done),
                # or a concurrent upsert created it after our match (retry, which now matches it).
                if await self._col.count_documents(
                        {"_id": bucket, "tenant_id": tenant_id, "ops": op}, limit=1):
                    return False
                logger.debug("upsert race on %s; retrying", bucket)
        raise RuntimeError(f"could not apply op {op} to {bucket} after {_MAX_UPSERT_ATTEMPTS} attempts")

    async def apply_many(self, tenant_id: str, bucket: str,
                         ops: Sequence[tuple[str, Mapping[str, int]]]) -> None:
        """Apply several ops to ``bucket`` in one write when none of them is there yet.

        The summed increments and all op ids go in one atomic update guarded by ``$nin``, so each
        op is still recorded together with its own increments. If any op had already reached the
        bucket (a resumed or concurrent finisher), fall back to applying them one by one.
        """
        if len(ops) == 1:
            await self.apply(tenant_id, bucket, *ops[0])
            return
        if not ops:
            return
        owner, interval, start = parse_bucket_id(bucket)
        if owner != tenant_id:
            raise ValueError(f"bucket {bucket!r} does not belong to tenant {tenant_id!r}")
        total: Counter[str] = Counter()
        for _, incs in ops:
            total.update(incs)
        update: dict[str, Any] = {
            "$push": {"ops": {"$each": [op for op, _ in ops], "$slice": -OPS_WINDOW}},
            "$setOnInsert": {"interval": interval, "bucket_start": start},
        }
        # Opposite moves may cancel out; MongoDB rejects an empty $inc.
        nonzero = {k: n for k, n in total.items() if n}
        if nonzero:
            update["$inc"] = nonzero
        try:
            await self._col.update_one(
                {"_id": bucket, "tenant_id": tenant_id, "ops": {"$nin": [op for op, _ in ops]}},
                update, upsert=True)
        except DuplicateKeyError:
            for op, incs in ops:
                await self.apply(tenant_id, bucket, op, incs)

    async def read(self, tenant_id: str, interval: str, start: datetime, end: datetime,
                   fields: Sequence[str] | None = None) -> list[Doc]:
        """Buckets of ``interval`` starting in [start, end), oldest first, without their op log.

        ``fields``: read only these counter paths (and ``bucket_start``), e.g. one listening
        query's ``queries.<id>``, rather than every query's counters; None reads the tenant-wide
        counters only.
        """
        projection: dict[str, int]
        if fields is None:
            projection = {"ops": 0, QUERIES: 0, CATEGORIES: 0}
        else:
            projection = {"bucket_start": 1, **dict.fromkeys(fields, 1)}
        cursor = self._col.find(
            {"tenant_id": tenant_id, "interval": interval,
             "bucket_start": {"$gte": start, "$lt": end}},
            projection=projection).sort("bucket_start", ASCENDING)
        return await cursor.to_list()
