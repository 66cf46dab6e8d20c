"""The ``mention_audit`` collection: who changed what in a mention's workflow, and when.

Entries arrive from a mention's ``audit_outbox`` (written with the workflow change itself) and keep
the ``_id`` given there, so appending the same entries twice stores them once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from dengar_insights.adapters.store import store_errors

Doc = dict[str, Any]


@store_errors
class MongoAuditLog:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db["mention_audit"]

    async def ensure_indexes(self) -> None:
        await self._col.create_index([("tenant_id", ASCENDING), ("mention_id", ASCENDING),
                                      ("at", ASCENDING), ("_id", ASCENDING)], name="tenant_mention_at")

    async def append(self, tenant_id: str, entries: Sequence[Mapping[str, Any]]) -> None:
        if any(e.get("tenant_id") != tenant_id for e in entries):
            raise ValueError("audit entry tenant does not match")
        if not entries:
            return
        try:
            await self._col.insert_many([dict(e) for e in entries], ordered=False)
        except BulkWriteError as exc:
            # Entries carry their own ids: moving an outbox again after a crash finds some stored.
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise

    async def list(self, tenant_id: str, mention_id: str, limit: int) -> list[Doc]:
        cursor = (self._col.find({"tenant_id": tenant_id, "mention_id": mention_id})
                  .sort([("at", ASCENDING), ("_id", ASCENDING)]).limit(limit))
        return await cursor.to_list()
