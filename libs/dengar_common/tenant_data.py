"""Offboarding a tenant from a service's own database: tombstones and the batched removal.

A service that owns tenant data keeps, in its own database, a ``tenant_tombstones`` collection:
one document per deleted tenant (``_id`` = ``tenant_id`` = the tenant, ``deleted_at``). It is the
only trace of the tenant left after deletion, on purpose: consumers look it up to drop messages
that were in flight when the tenant was deleted, instead of storing them again.

``Tombstones.is_deleted`` is on the hot path of every ingest, so it answers from the set of deleted
tenants loaded at most every ``ttl_s`` seconds (one small query for the whole process, whatever the
traffic). A tenant marked in this process is known at once; another replica learns it within
``ttl_s``, which is why `dengar tenants delete` makes a second pass after that long.

``delete_tenant_documents`` removes every document of a tenant from every collection of the
database, found by listing the collections rather than naming them, so a collection added later
is covered without anyone remembering to: every collection has ``tenant_id`` (the store convention),
except per-tenant counters keyed by the tenant itself (``_id`` = the tenant id), also removed.
It deletes in batches of ids so that no single operation runs long, and is idempotent: running it
again removes what an interrupted run left. ``purge_tenant_messages`` removes the tenant's messages
from the bus's streams, which keep posts after they are consumed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from dengar_common.bus import Subjects

logger = logging.getLogger(__name__)

TOMBSTONES = "tenant_tombstones"
DELETE_BATCH = 1000

Doc = dict[str, Any]


class Tombstones:
    """The deleted tenants of one service, cached for ``ttl_s`` seconds."""

    def __init__(self, db: AsyncDatabase[Doc], *, ttl_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._col = db[TOMBSTONES]
        self._ttl = ttl_s
        self._clock = clock
        self._deleted: frozenset[str] = frozenset()
        self._loaded_at: float | None = None

    async def mark(self, tenant_id: str, now: datetime) -> None:
        """Record the tenant as deleted (idempotent: the first ``deleted_at`` stays)."""
        await self._col.update_one({"_id": tenant_id},
                                   {"$setOnInsert": {"tenant_id": tenant_id, "deleted_at": now}},
                                   upsert=True)
        self._deleted = self._deleted | {tenant_id}

    async def deleted(self) -> frozenset[str]:
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= self._ttl:
            try:
                ids = {doc["_id"] async for doc in self._col.find({}, projection={"_id": 1})}
            except PyMongoError:
                # Keep answering from the last set (the store outage fails the write anyway).
                if self._loaded_at is None:
                    raise
                logger.warning("tenant tombstones unavailable; using the set loaded %.0f s ago",
                               now - self._loaded_at)
                return self._deleted
            # A mark() made while the query ran is kept.
            self._deleted = frozenset(ids) | self._deleted
            self._loaded_at = now
        return self._deleted

    async def is_deleted(self, tenant_id: str) -> bool:
        return tenant_id in await self.deleted()


async def delete_in_batches(db: AsyncDatabase[Doc], collection: str, flt: Doc, *,
                            batch: int = DELETE_BATCH) -> int:
    """Delete the documents matching ``flt``, ``batch`` ids at a time; how many were removed."""
    col = db[collection]
    removed = 0
    while True:
        ids = [doc["_id"] async for doc in col.find(flt, projection={"_id": 1}).limit(batch)]
        if not ids:
            return removed
        # The filter again, so that the delete names what the find named (the tenant): a sharded
        # cluster routes it to the tenant's shards. _id first: SecantusDB, the test store, plans
        # by the first field and scans the collection for {tenant_id, _id: {$in}}.
        again = {"$and": [{"_id": {"$in": ids}}, flt]} if "_id" in flt else {"_id": {"$in": ids}, **flt}
        res = await col.delete_many(again)
        removed += res.deleted_count


async def delete_tenant_documents(db: AsyncDatabase[Doc], tenant_id: str, *,
                                  skip: Iterable[str] = (), batch: int = DELETE_BATCH) -> dict[str, int]:
    """Remove every document with this ``tenant_id`` from every collection but the tombstones and
    ``skip``; the count removed per collection (collections with nothing removed are left out)."""
    keep = {TOMBSTONES, *skip}
    removed: dict[str, int] = {}
    for name in sorted(await db.list_collection_names()):
        if name in keep or name.startswith("system."):
            continue
        n = await delete_in_batches(db, name, {"$or": [{"tenant_id": tenant_id}, {"_id": tenant_id}]},
                                    batch=batch)
        if n:
            removed[name] = n
    return removed


Cleanup = Callable[[str], Awaitable[dict[str, int]]]


class TenantOffboarding:
    """Delete a tenant's data from one service: tombstone first, then ``before`` steps (data that
    is not found by ``tenant_id``, such as files or documents keyed by another tenant document),
    then every collection; ``on_deleted`` callbacks drop in-process caches of the tenant."""

    def __init__(self, db: AsyncDatabase[Doc], tombstones: Tombstones, *,
                 before: Sequence[Cleanup] = (), on_deleted: Sequence[Callable[[str], None]] = (),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._db = db
        self._tombstones = tombstones
        self._before = before
        self._on_deleted = on_deleted
        self._clock = clock

    async def delete(self, tenant_id: str) -> dict[str, int]:
        await self._tombstones.mark(tenant_id, self._clock())
        removed: dict[str, int] = {}
        for step in self._before:
            for name, n in (await step(tenant_id)).items():
                removed[name] = removed.get(name, 0) + n
        for name, n in (await delete_tenant_documents(self._db, tenant_id)).items():
            removed[name] = removed.get(name, 0) + n
        for callback in self._on_deleted:
            callback(tenant_id)
        logger.info("deleted the data of tenant %s: %s", tenant_id, removed or "nothing left")
        return removed


async def purge_tenant_messages(js: JetStreamContext, subjects: Subjects, tenant_id: str
                                ) -> dict[str, int]:
    """Remove the tenant's messages from every stream of the bus (posts as collected and enriched,
    query changes, mention events, alerts, dead letters); the count per stream kind."""
    removed: dict[str, int] = {}
    for kind, subject in (("collected", subjects.collected(tenant_id)),
                          ("enriched", subjects.enriched(tenant_id)),
                          ("queries", subjects.queries_changed(tenant_id)),
                          ("mentions", subjects.mentions_stored(tenant_id)),
                          ("alerts", subjects.alerts(tenant_id)),
                          ("dlq", subjects.dlq("*", tenant_id))):
        stream = subjects.stream(kind)
        try:
            info = await js.stream_info(stream, subjects_filter=subject)
        except NotFoundError:
            continue
        n = sum((info.state.subjects or {}).values())
        if n:
            await js.purge_stream(stream, subject=subject)
            removed[f"bus:{kind}"] = n
    return removed
