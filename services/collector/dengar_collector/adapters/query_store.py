"""MongoDB store of listening queries (collection ``queries``) and per-tenant counters (``query_state``).

``query_state`` holds one document per tenant, keyed by the tenant id: ``count`` (queries stored, kept
atomically so that the per-tenant limit holds under concurrent creates without transactions) and
``version`` (bumped after every change, so that collector replicas can tell with one primary-key read
whether their compiled set is still current).

Each query carries its own ``version`` (bumped by every change of what it matches) and, while that
version is not yet published, ``outbox: true`` (set in the same write; see
service_layer/query_outbox.py). A deleted query stays as a tombstone (``deleted: true``, its name
freed) until its deletion was published; every read but the outbox's skips tombstones.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dengar_collector.domain.listening_query import (
    QueryChanges,
    QueryLimitError,
    QueryNameTakenError,
    QueryRecord,
    name_key,
)
from dengar_collector.service_layer.query_outbox import QueryChange
from dengar_common.times import utcnow_ms

logger = logging.getLogger(__name__)

Doc = dict[str, Any]


# Tombstones are invisible to everything but the outbox.
_LIVE: Doc = {"deleted": {"$ne": True}}


def _record(doc: Doc) -> QueryRecord:
    return QueryRecord(id=doc["_id"], tenant_id=doc["tenant_id"], name=doc["name"], role=doc["role"],
                       expression=doc["expression"], enabled=bool(doc["enabled"]),
                       created_at=doc["created_at"], updated_at=doc["updated_at"],
                       version=int(doc.get("version", 0)))


class MongoQueryStore:
    """Implements ``QueryRepository`` (the QueryService) and ``QuerySource`` (the tagger)."""

    def __init__(self, db: AsyncDatabase[Doc], *, max_per_tenant: int) -> None:
        self._queries = db["queries"]
        self._state = db["query_state"]
        self._max = max_per_tenant

    async def ensure_indexes(self) -> None:
        # Unique names per tenant; also the order of listings and of the tagger's load.
        await self._queries.create_index([("tenant_id", ASCENDING), ("name_key", ASCENDING)],
                                         name="tenant_name", unique=True)
        await self._queries.create_index(
            [("tenant_id", ASCENDING), ("role", ASCENDING), ("name_key", ASCENDING)], name="tenant_role_name")
        await self._state.create_index([("tenant_id", ASCENDING)], name="tenant")
        await self._queries.create_index([("tenant_id", ASCENDING), ("outbox", ASCENDING)],
                                         name="tenant_outbox", sparse=True)

    # --- QueryRepository ---------------------------------------------------------------------------

    async def insert(self, tenant_id: str, record: QueryRecord) -> None:
        await self._reserve(tenant_id)
        doc = {"_id": record.id, "tenant_id": tenant_id, "name": record.name,
               "name_key": name_key(record.name), "role": record.role, "expression": record.expression,
               "enabled": record.enabled, "created_at": record.created_at, "updated_at": record.updated_at,
               "version": record.version, "outbox": True}
        try:
            await self._queries.insert_one(doc)
        except DuplicateKeyError:
            await self._state.update_one({"_id": tenant_id}, {"$inc": {"count": -1}})
            raise QueryNameTakenError(record.name) from None
        # Any other failure keeps the reserved slot: the insert may have happened, and a count that is
        # too high is corrected when the limit is reached (see _reserve), one too low never would be.
        await self._bump(tenant_id)

    async def get(self, tenant_id: str, query_id: str) -> QueryRecord | None:
        doc = await self._queries.find_one({"_id": query_id, "tenant_id": tenant_id, **_LIVE})
        return _record(doc) if doc else None

    async def list_page(self, tenant_id: str, *, role: str | None, after: str | None,
                        limit: int) -> list[QueryRecord]:
        flt: Doc = {"tenant_id": tenant_id, **_LIVE}
        if role:
            flt["role"] = role
        if after is not None:
            flt["name_key"] = {"$gt": after}
        cursor = self._queries.find(flt).sort("name_key", ASCENDING).limit(limit)
        return [_record(d) async for d in cursor]

    async def update(self, tenant_id: str, query_id: str, changes: QueryChanges,
                     now: datetime) -> QueryRecord | None:
        if changes.is_empty():
            return await self.get(tenant_id, query_id)
        fields: Doc = {"updated_at": now}
        if changes.name is not None:
            fields["name"] = changes.name
            fields["name_key"] = name_key(changes.name)
        if changes.role is not None:
            fields["role"] = changes.role
        if changes.expression is not None:
            fields["expression"] = changes.expression
        if changes.enabled is not None:
            fields["enabled"] = changes.enabled
        update: Doc = {"$set": fields}
        if changes.changes_matching():
            fields["outbox"] = True
            update["$inc"] = {"version": 1}
        try:
            doc = await self._queries.find_one_and_update(
                {"_id": query_id, "tenant_id": tenant_id, **_LIVE}, update,
                return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            raise QueryNameTakenError(changes.name or "") from None
        if doc is None:
            return None
        await self._bump(tenant_id)
        return _record(doc)

    async def delete(self, tenant_id: str, query_id: str) -> bool:
        # A tombstone until the outbox published the deletion; its name is free at once.
        result = await self._queries.update_one(
            {"_id": query_id, "tenant_id": tenant_id, **_LIVE},
            {"$set": {"deleted": True, "enabled": False, "name_key": "\x00deleted " + query_id,
                      "outbox": True, "updated_at": utcnow_ms()},
             "$inc": {"version": 1}})
        if not result.modified_count:
            return False
        await self._state.update_one({"_id": tenant_id}, {"$inc": {"count": -1, "version": 1}})
        return True

    # --- QuerySource -------------------------------------------------------------------------------

    async def version(self, tenant_id: str) -> int:
        doc = await self._state.find_one({"_id": tenant_id}, {"version": 1})
        return int(doc.get("version", 0)) if doc else 0

    async def load_enabled(self, tenant_id: str) -> Sequence[QueryRecord]:
        cursor = self._queries.find({"tenant_id": tenant_id, "enabled": True, **_LIVE}).sort(
            "name_key", ASCENDING)
        return [_record(d) async for d in cursor]

    # --- QueryOutbox -------------------------------------------------------------------------------

    async def unpublished(self, tenant_id: str | None, limit: int) -> Sequence[QueryChange]:
        # Across tenants (the periodic sweep) this scans the small queries collection.
        flt: Doc = {"outbox": True} if tenant_id is None else {"tenant_id": tenant_id, "outbox": True}
        cursor = self._queries.find(flt).limit(limit)
        return [QueryChange(tenant_id=d["tenant_id"], query_id=d["_id"], version=int(d.get("version", 0)),
                            expression=d["expression"], enabled=bool(d["enabled"]),
                            deleted=bool(d.get("deleted")), changed_at=d.get("updated_at"))
                async for d in cursor]

    async def mark_published(self, change: QueryChange) -> None:
        flt = {"_id": change.query_id, "tenant_id": change.tenant_id, "version": change.version}
        if change.deleted:
            await self._queries.delete_one({**flt, "deleted": True})
        else:
            await self._queries.update_one(flt, {"$unset": {"outbox": ""}})

    # --- counters ----------------------------------------------------------------------------------

    async def _reserve(self, tenant_id: str) -> None:
        """Take one of the tenant's query slots atomically, or raise QueryLimitError."""
        actual = self._max
        for _ in range(2):
            try:
                # When the tenant is at the limit the filter matches nothing and the upsert collides
                # with the existing state document on _id.
                await self._state.update_one(
                    {"_id": tenant_id, "tenant_id": tenant_id, "count": {"$lt": self._max}},
                    {"$inc": {"count": 1}}, upsert=True)
                return
            except DuplicateKeyError:
                pass
            actual = await self._queries.count_documents({"tenant_id": tenant_id, **_LIVE})
            if actual >= self._max:
                break
            logger.warning("query count of %s was too high (a create failed half-way); corrected to %d",
                           tenant_id, actual)
            await self._state.update_one({"_id": tenant_id}, {"$set": {"count": actual}})
        raise QueryLimitError(f"a tenant may have at most {self._max} listening queries",
                              limit=self._max, current=actual)

    async def _bump(self, tenant_id: str) -> None:
        await self._state.update_one({"_id": tenant_id},
                                     {"$inc": {"version": 1}, "$setOnInsert": {"tenant_id": tenant_id}},
                                     upsert=True)
