"""Hourly and daily rollup documents: idempotent delta application and range reads.

One document per tenant, interval and bucket: ``_id`` = ``<tenant>|hour|2026-11-22T05`` or
``<tenant>|day|2026-11-22``, with ``tenant_id``, ``interval``, ``bucket_start`` and the counters
``volume``, ``sentiment.<label>``, ``aspects.<name>.<polarity>``, ``platform.<name>`` and
``language.<code>``, repeated per listening query under ``queries.<query id>`` and per category under
``categories.<category id>``. ``lanes`` maps each writer lane that applied a batch to the
document to the sequence number of its last such batch, so that applying a batch again is a no-op
(see service_layer/ingest.py for why that is enough). Documents written before lanes also carry
``ops``, the ids of the last per-mention operations applied to them; only the finishing of an
operation left pending by that version still reads it.

The ``rollup_batches`` collection holds one small record per batch of increments: ``_id`` is the
batch id that the pending operations of its mentions carry (``pending.batch``), with
``tenant_id``, the writer ``lane`` and ``seq`` that guard its bucket updates, the summed ``buckets``
increments and the ``ops`` it covers; or, for a batch that a finisher gave up on before its writer
recorded it, ``aborted: true``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

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
        self._batches = db["rollup_batches"]

    async def ensure_indexes(self) -> None:
        await self._col.create_index(
            [("tenant_id", ASCENDING), ("interval", ASCENDING), ("bucket_start", ASCENDING)],
            name="tenant_interval_start")
        # Tenant deletion removes a tenant's batch records by tenant_id.
        await self._batches.create_index("tenant_id", name="tenant")

    # -- batch records --------------------------------------------------------------------------

    async def insert_batch(self, tenant_id: str, doc: Mapping[str, Any]) -> bool:
        """Record a batch; False when its id is taken (a finisher aborted it first)."""
        if doc.get("tenant_id") != tenant_id:
            raise ValueError("document tenant does not match")
        try:
            await self._batches.insert_one(dict(doc))
        except DuplicateKeyError:
            return False
        return True

    async def get_batch(self, tenant_id: str, batch_id: str) -> Doc | None:
        return await self._batches.find_one({"_id": batch_id, "tenant_id": tenant_id})

    async def abort_batch(self, tenant_id: str, batch_id: str, at: datetime) -> Doc | None:
        """Take the id of a batch that was not recorded, so that its writer can no longer record
        it; the record that holds the id afterwards (ours, or the writer's if it was faster), or
        None when the writer recorded it and deleted it again meanwhile (it finished the batch)."""
        doc: Doc = {"_id": batch_id, "tenant_id": tenant_id, "aborted": True, "at": at}
        if await self.insert_batch(tenant_id, doc):
            return doc
        return await self.get_batch(tenant_id, batch_id)

    async def delete_batches(self, tenant_id: str, batch_ids: Sequence[str]) -> None:
        if batch_ids:
            await self._batches.delete_many({"_id": {"$in": list(batch_ids)}, "tenant_id": tenant_id})

    # -- counters -------------------------------------------------------------------------------

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

    async def apply_batch(self, tenant_id: str, lane: str, seq: int,
                          buckets: Mapping[str, Mapping[str, int]]) -> None:
        """Add each bucket's increments unless batch ``seq`` of ``lane`` (or a later one) is there.

        One bulk write for every bucket of the batch. Each update is guarded by the lane's last
        sequence number on the document and records ``seq`` with the increments, atomically, so
        a batch reaches each bucket once however many finishers apply it. A duplicate-key error is
        an upsert that found the document existing: already applied (done), or created by a
        concurrent upsert after our match (retry, which now matches it).
        """
        if not buckets:
            return
        mark = f"lanes.{lane}"
        updates: dict[str, UpdateOne] = {}
        for bucket, incs in buckets.items():
            owner, interval, start = parse_bucket_id(bucket)
            if owner != tenant_id:
                raise ValueError(f"bucket {bucket!r} does not belong to tenant {tenant_id!r}")
            update: dict[str, Any] = {"$set": {mark: seq},
                                      "$setOnInsert": {"interval": interval, "bucket_start": start}}
            nonzero = {k: n for k, n in incs.items() if n}
            if nonzero:
                update["$inc"] = nonzero
            updates[bucket] = UpdateOne(
                {"_id": bucket, "tenant_id": tenant_id,
                 "$or": [{mark: {"$exists": False}}, {mark: {"$lt": seq}}]}, update, upsert=True)
        todo = list(updates)
        for _ in range(_MAX_UPSERT_ATTEMPTS):
            try:
                await self._col.bulk_write([updates[b] for b in todo], ordered=False)
                return
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if any(e.get("code") != 11000 for e in errors) or exc.details.get("writeConcernErrors"):
                    raise
                missed = [todo[e["index"]] for e in errors]
            applied = {d["_id"] async for d in self._col.find(
                {"_id": {"$in": missed}, "tenant_id": tenant_id, mark: {"$gte": seq}},
                projection={"_id": 1})}
            todo = [b for b in missed if b not in applied]
            if not todo:
                return
            logger.debug("upsert race on %d buckets; retrying", len(todo))
        raise RuntimeError(f"could not apply batch {lane}/{seq} to {todo} "
                           f"after {_MAX_UPSERT_ATTEMPTS} attempts")

    async def read(self, tenant_id: str, interval: str, start: datetime, end: datetime,
                   fields: Sequence[str] | None = None) -> list[Doc]:
        """Buckets of ``interval`` starting in [start, end), oldest first, without their bookkeeping.

        ``fields``: read only these counter paths (and ``bucket_start``), e.g. one listening
        query's ``queries.<id>``, rather than every query's counters; None reads the tenant-wide
        counters only.
        """
        projection: dict[str, int]
        if fields is None:
            projection = {"ops": 0, "lanes": 0, QUERIES: 0, CATEGORIES: 0}
        else:
            projection = {"bucket_start": 1, **dict.fromkeys(fields, 1)}
        cursor = self._col.find(
            {"tenant_id": tenant_id, "interval": interval,
             "bucket_start": {"$gte": start, "$lt": end}},
            projection=projection).sort("bucket_start", ASCENDING)
        return await cursor.to_list()
