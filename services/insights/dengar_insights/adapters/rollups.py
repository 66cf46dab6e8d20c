"""Hourly and daily rollup documents: idempotent delta application and range reads.

One document per tenant, interval and bucket: ``_id`` = ``<tenant>|hour|2026-11-22T05`` or
``<tenant>|day|2026-11-22``, with ``tenant_id``, ``interval``, ``bucket_start`` and the counters
``volume``, ``sentiment.<label>``, ``aspects.<name>.<polarity>``, ``platform.<name>`` and
``language.<code>``. ``ops`` holds the ids of the most recent operations applied to the document,
so that applying the same operation again is a no-op (see ingest.py for why that is enough).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dengar_insights.domain.rollups import parse_bucket_id

logger = logging.getLogger(__name__)

# How many recent op ids each rollup document remembers. Only concurrent finishers of one op rely
# on it (a finisher that resumes later skips buckets its mention marked as done), so it only has
# to outlast the few seconds two replicas may race on one op.
OPS_WINDOW = 2000
_MAX_UPSERT_ATTEMPTS = 5

Doc = dict[str, Any]


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

    async def read(self, tenant_id: str, interval: str, start: datetime, end: datetime) -> list[Doc]:
        """Buckets of ``interval`` starting in [start, end), oldest first, without their op log."""
        cursor = self._col.find(
            {"tenant_id": tenant_id, "interval": interval,
             "bucket_start": {"$gte": start, "$lt": end}},
            projection={"ops": 0}).sort("bucket_start", ASCENDING)
        return await cursor.to_list()
