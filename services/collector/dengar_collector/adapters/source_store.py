"""The ``sources`` collection of the collector database.

One document per source, ``_id`` = the source id (``src_`` + 16 hex, unique across tenants). Besides
the definition it holds the scheduler's state: the connector cursor, run statistics and a lease
(``lease_owner`` + ``lease_until``) that a scheduler takes with one atomic ``find_one_and_update``, so
two collector replicas never run the same source at once.

Credentials and the webhook secret are stored as given: the ``cryptography`` package is not a
dependency of the collector, so they are not encrypted at rest here. Protect the database (access
control, encrypted volumes, encrypted backups) accordingly. They are never returned by the API and
never logged; ``SourceRecord`` hides them from ``repr``.

Every index starts with ``tenant_id``, including the scheduler's: it finds the tenants that have due
sources (``due_tenants``, an index scan) and then claims per tenant, which is also what lets it cap
concurrent runs per tenant. The one lookup without a tenant is ``find_webhook``: a push names only
the source id (the URL is all a sender has), it uses the built-in ``_id`` index, and the caller must
authenticate the request with that source's secret before using anything it returns.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from dengar_collector.domain.sources import SourceRecord

logger = logging.getLogger(__name__)

Doc = dict[str, Any]

INDEXES: list[tuple[str, list[tuple[str, int]]]] = [
    ("tenant_created", [("tenant_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)]),
    ("tenant_kind_created", [("tenant_id", ASCENDING), ("kind", ASCENDING), ("created_at", ASCENDING),
                             ("_id", ASCENDING)]),
    ("tenant_due", [("tenant_id", ASCENDING), ("next_run_at", ASCENDING)]),
]

_FIELDS = ("name", "kind", "config", "interval_seconds", "created_at", "updated_at", "credentials",
           "webhook_secret", "paused", "last_run_at", "next_run_at", "items_collected", "runs",
           "last_error", "last_error_at", "consecutive_failures", "last_success_at", "last_run_items",
           "cursor", "generation", "lease_owner", "lease_until")


def to_doc(record: SourceRecord) -> Doc:
    doc: Doc = {"_id": record.id, "tenant_id": record.tenant_id}
    for name in _FIELDS:
        doc[name] = getattr(record, name)
    return doc


def from_doc(doc: Doc) -> SourceRecord:
    values = {name: doc[name] for name in _FIELDS if name in doc and doc[name] is not None}
    return SourceRecord(id=doc["_id"], tenant_id=doc["tenant_id"], **values)


def _lease_free(now: datetime) -> Doc:
    return {"$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]}


class SourceRepository:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db["sources"]

    async def ensure_indexes(self) -> None:
        for name, keys in INDEXES:
            await self._col.create_index(keys, name=name)

    # -- the management API ------------------------------------------------------------------------

    async def insert(self, tenant_id: str, record: SourceRecord) -> None:
        if record.tenant_id != tenant_id:
            raise ValueError("record tenant does not match")
        await self._col.insert_one(to_doc(record))

    async def get(self, tenant_id: str, source_id: str) -> SourceRecord | None:
        doc = await self._col.find_one({"_id": source_id, "tenant_id": tenant_id})
        return from_doc(doc) if doc else None

    async def list(self, tenant_id: str, *, kind: str = "", after: tuple[datetime, str] | None = None,
                   limit: int = 50) -> list[SourceRecord]:
        """Sources in creation order, strictly after ``after`` = (created_at, id) of the last one seen."""
        flt: Doc = {"tenant_id": tenant_id}
        if kind:
            flt["kind"] = kind
        if after is not None:
            flt["$or"] = [{"created_at": {"$gt": after[0]}},
                          {"created_at": after[0], "_id": {"$gt": after[1]}}]
        cursor = self._col.find(flt).sort([("created_at", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        return [from_doc(d) async for d in cursor]

    async def update(self, tenant_id: str, source_id: str, *, set_fields: Doc,
                     inc: Doc | None = None) -> SourceRecord | None:
        """Apply ``$set`` (and ``$inc``); the updated source, or None when it does not exist."""
        update: Doc = {"$set": set_fields}
        if inc:
            update["$inc"] = inc
        doc = await self._col.find_one_and_update({"_id": source_id, "tenant_id": tenant_id}, update,
                                                  return_document=ReturnDocument.AFTER)
        return from_doc(doc) if doc else None

    async def delete(self, tenant_id: str, source_id: str) -> bool:
        result = await self._col.delete_one({"_id": source_id, "tenant_id": tenant_id})
        return result.deleted_count == 1

    # -- webhooks ------------------------------------------------------------------------------------

    async def find_webhook(self, source_id: str) -> SourceRecord | None:
        """A webhook source by id alone (see the module docstring: authenticate before use)."""
        doc = await self._col.find_one({"_id": source_id, "kind": "webhook"})
        return from_doc(doc) if doc else None

    async def record_push(self, tenant_id: str, source_id: str, *, accepted: int, now: datetime) -> None:
        await self._col.update_one(
            {"_id": source_id, "tenant_id": tenant_id},
            {"$set": {"last_run_at": now, "last_success_at": now, "last_run_items": accepted},
             "$inc": {"items_collected": accepted, "runs": 1}})

    # -- the scheduler -------------------------------------------------------------------------------

    async def due_tenants(self, now: datetime) -> list[str]:
        """Tenants with at least one active source due at ``now`` (leased ones included)."""
        values = await self._col.distinct("tenant_id", {"paused": False, "next_run_at": {"$lte": now}})
        return [str(v) for v in values]

    async def claim(self, tenant_id: str, *, owner: str, now: datetime,
                    lease_until: datetime) -> SourceRecord | None:
        """Lease the tenant's most overdue unleased active source; None when there is none."""
        doc = await self._col.find_one_and_update(
            {"tenant_id": tenant_id, "paused": False, "next_run_at": {"$lte": now}, **_lease_free(now)},
            {"$set": {"lease_owner": owner, "lease_until": lease_until}},
            sort=[("next_run_at", ASCENDING)], return_document=ReturnDocument.AFTER)
        return from_doc(doc) if doc else None

    async def renew_lease(self, tenant_id: str, source_id: str, *, owner: str, until: datetime) -> bool:
        result = await self._col.update_one({"_id": source_id, "tenant_id": tenant_id, "lease_owner": owner},
                                            {"$set": {"lease_until": until}})
        return result.matched_count == 1

    async def release_lease(self, tenant_id: str, source_id: str, *, owner: str) -> None:
        await self._col.update_one({"_id": source_id, "tenant_id": tenant_id, "lease_owner": owner},
                                   {"$set": {"lease_owner": None, "lease_until": None}})

    async def finish_run(self, tenant_id: str, source_id: str, *, owner: str, generation: int,
                         set_fields: Doc, inc: Doc, cursor: dict[str, Any] | None,
                         write_cursor: bool, next_run_at: datetime) -> bool:
        """Store a run's outcome and release the lease, if this owner still holds it.

        When the source's config changed during the run (another generation), only the statistics
        are stored: the cursor and the next run belong to the new config. False when the lease was lost
        (the source was deleted, or the lease expired and another worker took it).
        """
        release = {"lease_owner": None, "lease_until": None}
        full = {**set_fields, **release, "next_run_at": next_run_at}
        if write_cursor:
            full["cursor"] = cursor
        result = await self._col.update_one(
            {"_id": source_id, "tenant_id": tenant_id, "lease_owner": owner, "generation": generation},
            {"$set": full, "$inc": inc})
        if result.matched_count == 1:
            return True
        result = await self._col.update_one(
            {"_id": source_id, "tenant_id": tenant_id, "lease_owner": owner},
            {"$set": {**set_fields, **release}, "$inc": inc})
        return result.matched_count == 1
