"""MongoDB store of digest schedules (``digests``), with the lease the scheduler takes on a due one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from dengar_insights.adapters.store import store_errors
from dengar_insights.domain.digests import DigestSchedule, DigestSpec

Doc = dict[str, Any]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _spec_doc(spec: DigestSpec) -> Doc:
    return {"name": spec.name, "frequency": spec.frequency, "time": spec.time, "time_zone": spec.time_zone,
            "language": spec.language, "channel_ids": list(spec.channel_ids), "weekday": spec.weekday}


def _schedule(doc: Doc) -> DigestSchedule:
    s = doc["spec"]
    return DigestSchedule(
        id=doc["_id"], tenant_id=doc["tenant_id"],
        spec=DigestSpec(name=s["name"], frequency=s["frequency"], time=s["time"], time_zone=s["time_zone"],
                        language=s["language"], channel_ids=tuple(s["channel_ids"]),
                        weekday=s.get("weekday", "")),
        next_run_at=_utc(doc["next_run_at"]) or datetime.now(UTC), created_at=_utc(doc.get("created_at")),
        updated_at=_utc(doc.get("updated_at")), last_period_start=_utc(doc.get("last_period_start")))


@store_errors
class MongoDigestStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db["digests"]

    async def ensure_indexes(self) -> None:
        await self._col.create_index([("tenant_id", ASCENDING), ("_id", ASCENDING)])
        await self._col.create_index([("next_run_at", ASCENDING)])

    async def insert(self, schedule: DigestSchedule) -> None:
        await self._col.insert_one({"_id": schedule.id, "tenant_id": schedule.tenant_id,
                                    "spec": _spec_doc(schedule.spec), "next_run_at": schedule.next_run_at,
                                    "created_at": schedule.created_at, "updated_at": schedule.updated_at,
                                    "last_period_start": None, "lease_owner": None, "lease_until": None})

    async def get(self, tenant_id: str, schedule_id: str) -> DigestSchedule | None:
        doc = await self._col.find_one({"_id": schedule_id, "tenant_id": tenant_id})
        return _schedule(doc) if doc else None

    async def list(self, tenant_id: str) -> list[DigestSchedule]:
        return [_schedule(d) async for d in self._col.find({"tenant_id": tenant_id}).sort("spec.name", 1)]

    async def replace(self, schedule: DigestSchedule) -> DigestSchedule | None:
        doc = await self._col.find_one_and_update(
            {"_id": schedule.id, "tenant_id": schedule.tenant_id},
            {"$set": {"spec": _spec_doc(schedule.spec), "next_run_at": schedule.next_run_at,
                      "updated_at": schedule.updated_at}}, return_document=ReturnDocument.AFTER)
        return _schedule(doc) if doc else None

    async def delete(self, tenant_id: str, schedule_id: str) -> bool:
        return (await self._col.delete_one({"_id": schedule_id, "tenant_id": tenant_id})).deleted_count == 1

    async def claim_due(self, owner: str, now: datetime, lease_until: datetime) -> DigestSchedule | None:
        doc = await self._col.find_one_and_update(
            {"next_run_at": {"$lte": now}, "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]},
            {"$set": {"lease_owner": owner, "lease_until": lease_until}},
            sort=[("next_run_at", ASCENDING)], return_document=ReturnDocument.AFTER)
        return _schedule(doc) if doc else None

    async def advance(self, schedule: DigestSchedule, owner: str, period_start: datetime,
                      next_run_at: datetime) -> bool:
        result = await self._col.update_one(
            {"_id": schedule.id, "lease_owner": owner, "next_run_at": schedule.next_run_at},
            {"$set": {"next_run_at": next_run_at, "last_period_start": period_start, "lease_owner": None,
                      "lease_until": None}})
        return result.modified_count == 1
