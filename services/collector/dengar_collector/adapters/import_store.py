"""MongoDB store of file import jobs (collection ``imports`` in the collector database).

One document per job, keyed by its id. A job being worked on has an ``owner`` (the runner of one
process) and a ``lease_until`` it renews every batch; every write of progress is conditional on still
owning the job, so that a runner that lost its lease (it stalled, another replica took over) can never
overwrite the newer progress of the one that took it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from dengar_collector.domain.import_job import UNFINISHED, ImportJob, ImportSpec, ImportState
from dengar_common.imports import Position, RowError

logger = logging.getLogger(__name__)

Doc = dict[str, Any]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNFINISHED = [s.value for s in UNFINISHED]


def _spec_doc(spec: ImportSpec) -> Doc:
    return {"filename": spec.filename, "format": spec.format, "mapping": dict(spec.mapping),
            "timestamp_format": spec.timestamp_format, "timezone": spec.timezone,
            "default_platform": spec.default_platform, "delimiter": spec.delimiter}


def _progress_doc(job: ImportJob) -> Doc:
    return {
        "state": job.state.value, "bytes_processed": job.bytes_processed, "rows_read": job.rows_read,
        "accepted": job.accepted, "rejected": job.rejected, "errors_total": job.errors_total,
        "errors": [{"line": e.line, "field": e.field, "message": e.message} for e in job.errors],
        "checkpoint": {"offset": job.checkpoint.offset, "line": job.checkpoint.line},
        "message": job.message, "finished_at": job.finished_at,
    }


def _job(doc: Mapping[str, Any]) -> ImportJob:
    spec = doc.get("spec") or {}
    checkpoint = doc.get("checkpoint") or {}
    return ImportJob(
        id=doc["_id"], tenant_id=doc["tenant_id"],
        spec=ImportSpec(filename=spec.get("filename", ""), format=spec.get("format", ""),
                        mapping=dict(spec.get("mapping") or {}),
                        timestamp_format=spec.get("timestamp_format", ""),
                        timezone=spec.get("timezone", ""), default_platform=spec.get("default_platform", ""),
                        delimiter=spec.get("delimiter", "")),
        format=doc["format"], state=ImportState(doc["state"]), bytes_total=int(doc["bytes_total"]),
        sha256=doc.get("sha256", ""), created_at=doc["created_at"],
        bytes_processed=int(doc.get("bytes_processed", 0)), rows_read=int(doc.get("rows_read", 0)),
        accepted=int(doc.get("accepted", 0)), rejected=int(doc.get("rejected", 0)),
        errors=tuple(RowError(int(e["line"]), e.get("field", ""), e.get("message", ""))
                     for e in doc.get("errors") or ()),
        errors_total=int(doc.get("errors_total", 0)), started_at=doc.get("started_at"),
        finished_at=doc.get("finished_at"), message=doc.get("message", ""),
        checkpoint=Position(int(checkpoint.get("offset", 0)), int(checkpoint.get("line", 1))),
    )


class MongoImportStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db["imports"]

    async def ensure_indexes(self) -> None:
        # Listings, newest first; and the search for unfinished jobs whose lease has run out.
        await self._col.create_index([("tenant_id", ASCENDING), ("created_at", DESCENDING),
                                      ("_id", DESCENDING)], name="tenant_created")
        await self._col.create_index([("tenant_id", ASCENDING), ("state", ASCENDING),
                                      ("lease_until", ASCENDING)], name="tenant_state_lease")

    async def insert(self, tenant_id: str, job: ImportJob, *, owner: str, lease_until: datetime) -> None:
        doc: Doc = {"_id": job.id, "tenant_id": tenant_id, "spec": _spec_doc(job.spec), "format": job.format,
                    "bytes_total": job.bytes_total, "sha256": job.sha256, "created_at": job.created_at,
                    "started_at": None, "owner": owner, "lease_until": lease_until, **_progress_doc(job)}
        await self._col.insert_one(doc)

    async def get(self, tenant_id: str, job_id: str) -> ImportJob | None:
        doc = await self._col.find_one({"_id": job_id, "tenant_id": tenant_id})
        return _job(doc) if doc else None

    async def list_page(self, tenant_id: str, *, after: tuple[datetime, str] | None,
                        limit: int) -> list[ImportJob]:
        flt: Doc = {"tenant_id": tenant_id}
        if after is not None:
            created, job_id = after
            flt["$or"] = [{"created_at": {"$lt": created}}, {"created_at": created, "_id": {"$lt": job_id}}]
        cursor = self._col.find(flt).sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [_job(doc) async for doc in cursor]

    async def claim(self, tenant_id: str, job_id: str, *, owner: str, now: datetime,
                    lease_until: datetime) -> ImportJob | None:
        """Take an unfinished job that is ours or whose lease ran out; mark it RUNNING."""
        doc = await self._col.find_one_and_update(
            {"_id": job_id, "tenant_id": tenant_id, "state": {"$in": _UNFINISHED},
             "$or": [{"owner": owner}, {"lease_until": {"$lt": now}}]},
            {"$set": {"owner": owner, "lease_until": lease_until, "state": ImportState.RUNNING.value},
             "$min": {"started_at": now}},
            return_document=ReturnDocument.AFTER)
        if doc is not None and doc.get("started_at") is None:
            # $min leaves a null alone; a job created with started_at null gets it here.
            await self._col.update_one({"_id": job_id, "tenant_id": tenant_id}, {"$set": {"started_at": now}})
            doc["started_at"] = now
        return _job(doc) if doc else None

    async def save(self, tenant_id: str, job: ImportJob, *, owner: str, lease_until: datetime | None) -> bool:
        """Write the job's progress (and state) if we still own it; False if we do not."""
        update: Doc = {"$set": _progress_doc(job)}
        if lease_until is None:
            update["$set"]["lease_until"] = _EPOCH
            update["$unset"] = {"owner": ""}
        else:
            update["$set"]["lease_until"] = lease_until
        result = await self._col.update_one({"_id": job.id, "tenant_id": tenant_id, "owner": owner}, update)
        return result.matched_count == 1

    async def renew(self, tenant_id: str, job_id: str, *, owner: str, lease_until: datetime) -> bool:
        result = await self._col.update_one({"_id": job_id, "tenant_id": tenant_id, "owner": owner},
                                            {"$set": {"lease_until": lease_until}})
        return result.matched_count == 1

    async def release(self, tenant_id: str, job_id: str, *, owner: str) -> None:
        """Give an unfinished job up (shutdown), so that the next start resumes it at once."""
        await self._col.update_one({"_id": job_id, "tenant_id": tenant_id, "owner": owner},
                                   {"$set": {"lease_until": _EPOCH}, "$unset": {"owner": ""}})

    async def tenants_with_unfinished(self) -> list[str]:
        """Tenants that have queued or running jobs (start-up and lease recovery only)."""
        return sorted(await self._col.distinct("tenant_id", {"state": {"$in": _UNFINISHED}}))

    async def count_unfinished(self, tenant_id: str) -> int:
        return await self._col.count_documents({"tenant_id": tenant_id, "state": {"$in": _UNFINISHED}})

    async def uploads_since(self, tenant_id: str, since: datetime) -> list[tuple[datetime, int]]:
        cursor = self._col.find({"tenant_id": tenant_id, "created_at": {"$gte": since}},
                                {"created_at": 1, "bytes_total": 1})
        rows = [(doc["created_at"], int(doc.get("bytes_total", 0))) async for doc in cursor]
        return sorted(rows, key=lambda row: row[0])

    async def expired(self, tenant_id: str, *, now: datetime, limit: int = 100) -> list[ImportJob]:
        """Unfinished jobs of the tenant whose lease has run out (their runner is gone)."""
        cursor = self._col.find({"tenant_id": tenant_id, "state": {"$in": _UNFINISHED},
                                 "lease_until": {"$lt": now}}).limit(limit)
        return [_job(doc) async for doc in cursor]
