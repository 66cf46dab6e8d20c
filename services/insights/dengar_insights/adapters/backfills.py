"""The ``backfills`` collection: one document per (tenant, kind, target), ``_id`` = ``tenant|kind|target``.

Besides the job (domain/backfill.py) a document holds ``owner`` and ``lease_until``: the runner
that holds it and until when. Every write of a runner is guarded by ``owner`` and
``target_version``, so a runner that lost its lease or whose version was superseded changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dengar_insights.adapters.store import store_errors
from dengar_insights.domain.backfill import PENDING, RUNNING, BackfillJob, Cursor, job_id

logger = logging.getLogger(__name__)

Doc = dict[str, Any]


def _fields(job: BackfillJob) -> Doc:
    return {
        "tenant_id": job.tenant_id, "kind": job.kind, "target_id": job.target_id,
        "target_version": job.target_version, "spec": dict(job.spec), "state": job.state,
        "since": job.since,
        "cursor": (None if job.cursor is None
                   else {"created_at": job.cursor.created_at, "id": job.cursor.id}),
        "scanned": job.scanned, "total": job.total, "matched": job.matched, "changed": job.changed,
        "scheduled_at": job.scheduled_at, "changed_at": job.changed_at, "started_at": job.started_at,
        "finished_at": job.finished_at,
        "error": job.error, "attempts": job.attempts,
    }


def _job(doc: Doc) -> BackfillJob:
    cursor = doc.get("cursor")
    return BackfillJob(
        tenant_id=doc["tenant_id"], kind=doc["kind"], target_id=doc["target_id"],
        target_version=int(doc["target_version"]), spec=doc.get("spec") or {}, state=doc["state"],
        since=doc.get("since"),
        cursor=Cursor(cursor["created_at"], cursor["id"]) if cursor else None,
        scanned=int(doc.get("scanned", 0)), total=int(doc.get("total", 0)),
        matched=int(doc.get("matched", 0)), changed=int(doc.get("changed", 0)),
        scheduled_at=doc.get("scheduled_at"), changed_at=doc.get("changed_at"),
        started_at=doc.get("started_at"),
        finished_at=doc.get("finished_at"), error=doc.get("error") or "",
        attempts=int(doc.get("attempts", 0)))


@store_errors
class BackfillRepository:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db["backfills"]

    async def ensure_indexes(self) -> None:
        await self._col.create_index(
            [("tenant_id", ASCENDING), ("kind", ASCENDING), ("target_id", ASCENDING)],
            name="tenant_kind_target")
        # What IncomingTags reads on every ingest batch. (The runners' claim looks across tenants
        # and scans the collection: one small document per target, polled every few seconds.)
        await self._col.create_index(
            [("tenant_id", ASCENDING), ("kind", ASCENDING), ("changed_at", ASCENDING)],
            name="tenant_kind_changed")

    async def get(self, tenant_id: str, kind: str, target_id: str) -> BackfillJob | None:
        doc = await self._col.find_one({"_id": job_id(tenant_id, kind, target_id), "tenant_id": tenant_id})
        return _job(doc) if doc else None

    async def get_many(self, tenant_id: str, kind: str, target_ids: Sequence[str]) -> list[BackfillJob]:
        cursor = self._col.find(
            {"tenant_id": tenant_id, "kind": kind, "target_id": {"$in": list(target_ids)}})
        return [_job(d) async for d in cursor]

    async def recent(self, tenant_id: str, kinds: Sequence[str], since: datetime) -> list[BackfillJob]:
        cursor = self._col.find({"tenant_id": tenant_id, "kind": {"$in": list(kinds)},
                                 "changed_at": {"$gte": since}}, projection={"cursor": 0})
        return [_job(d) async for d in cursor]

    async def schedule(self, job: BackfillJob) -> bool:
        try:
            # Owner and lease are left as they are (see the port).
            await self._col.update_one(
                {"_id": job.id, "tenant_id": job.tenant_id, "target_version": {"$lt": job.target_version}},
                {"$set": _fields(job)}, upsert=True)
        except DuplicateKeyError:
            # It exists at this version or a newer one.
            return False
        return True

    async def claim(self, owner: str, now: datetime, lease_until: datetime,
                    scheduled_before: datetime) -> BackfillJob | None:
        doc = await self._col.find_one_and_update(
            {"state": {"$in": [PENDING, RUNNING]}, "scheduled_at": {"$lte": scheduled_before},
             "$or": [{"owner": None}, {"owner": owner}, {"lease_until": {"$lt": now}}]},
            {"$set": {"owner": owner, "lease_until": lease_until}},
            sort=[("scheduled_at", ASCENDING)], return_document=ReturnDocument.AFTER)
        return _job(doc) if doc else None

    async def save(self, job: BackfillJob, owner: str, lease_until: datetime | None) -> bool:
        fields = _fields(job)
        fields["lease_until"] = lease_until
        if lease_until is None:
            fields["owner"] = None
        res = await self._col.update_one(
            {"_id": job.id, "tenant_id": job.tenant_id, "owner": owner, "target_version": job.target_version},
            {"$set": fields})
        return res.matched_count == 1

    async def release(self, tenant_id: str, kind: str, target_id: str, owner: str) -> None:
        await self._col.update_one({"_id": job_id(tenant_id, kind, target_id), "tenant_id": tenant_id,
                                    "owner": owner}, {"$set": {"owner": None, "lease_until": None}})
