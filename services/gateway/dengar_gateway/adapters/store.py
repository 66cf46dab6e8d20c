"""The gateway's own MongoDB database: tenants, API keys and Idempotency-Key records.

Index convention exceptions, and why:
- ``api_keys`` is looked up by ``_id`` (the key id) because authentication happens before the
  tenant is known; the key id is random, so this cannot cross tenants by accident, and the tenant
  is then read from the key document.
- ``idempotency`` has a TTL index on ``expires_at`` alone: MongoDB only honours TTL on
  single-field indexes. Lookups use the unique ``(tenant_id, key)`` index.
- ``tenants`` is keyed by the tenant id itself.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dengar_common.errors import AlreadyExists
from dengar_gateway.adapters.quota_store import MongoQuotaStore
from dengar_gateway.domain.idempotency import IdempotencyOutcome, Reservation
from dengar_gateway.domain.keys import ApiKeyRecord
from dengar_gateway.domain.tenants import Tenant

logger = logging.getLogger(__name__)

Doc = dict[str, Any]


class TenantExistsError(AlreadyExists):
    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"tenant {tenant_id!r} already exists", field="tenant_id",
                         reason="tenant-exists")


def _key_from_doc(doc: Doc) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=doc["_id"], tenant_id=doc["tenant_id"], name=doc.get("name", ""),
        scopes=tuple(doc.get("scopes", ())), hash=doc["hash"], created_at=doc["created_at"],
        revoked_at=doc.get("revoked_at"),
    )


class TenantRepository:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db["tenants"]

    async def create(self, tenant_id: str, name: str, now: datetime) -> Tenant:
        try:
            await self._col.insert_one({"_id": tenant_id, "tenant_id": tenant_id, "name": name,
                                        "created_at": now})
        except DuplicateKeyError:
            raise TenantExistsError(tenant_id) from None
        return Tenant(tenant_id, name, now)

    async def get(self, tenant_id: str) -> Tenant | None:
        """The tenant, unless it does not exist or was deleted."""
        doc = await self._col.find_one({"_id": tenant_id, "deleted_at": None})
        return Tenant(doc["_id"], doc.get("name", ""), doc["created_at"]) if doc else None

    async def list_all(self) -> list[Tenant]:
        """Every tenant (operator CLI only: the one query that is not scoped to a tenant)."""
        return [Tenant(d["_id"], d.get("name", ""), d["created_at"])
                async for d in self._col.find({"deleted_at": None}).sort("_id", ASCENDING)]

    async def mark_deleted(self, tenant_id: str, now: datetime) -> bool:
        """Turn the tenant into its tombstone: the id (never reused), when, no name. False when
        there never was such a tenant; a tenant deleted before keeps its first ``deleted_at``."""
        await self._col.update_one({"_id": tenant_id, "deleted_at": None},
                                   {"$set": {"deleted_at": now}, "$unset": {"name": ""}})
        return await self._col.count_documents({"_id": tenant_id}) > 0

    async def record_deletion(self, tenant_id: str, done: bool, removed: dict[str, dict[str, int]],
                              now: datetime) -> None:
        """What the last `dengar tenants delete` run removed, and whether it finished."""
        await self._col.update_one({"_id": tenant_id}, {"$set": {
            "deletion": {"done": done, "at": now, "removed": removed}}})


class ApiKeyRepository:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db["api_keys"]

    async def ensure_indexes(self) -> None:
        await self._col.create_index([("tenant_id", ASCENDING), ("created_at", DESCENDING)],
                                     name="tenant_created")

    async def insert(self, tenant_id: str, *, key_id: str, key_hash: str, scopes: list[str], name: str,
                     now: datetime) -> ApiKeyRecord:
        doc = {"_id": key_id, "tenant_id": tenant_id, "name": name, "scopes": scopes,
               "hash": key_hash, "created_at": now, "revoked_at": None}
        await self._col.insert_one(doc)
        return _key_from_doc(doc)

    async def find_for_auth(self, key_id: str) -> ApiKeyRecord | None:
        """The key with this id, whatever its tenant (see the module docstring)."""
        doc = await self._col.find_one({"_id": key_id})
        return _key_from_doc(doc) if doc else None

    async def list(self, tenant_id: str) -> list[ApiKeyRecord]:
        cursor = self._col.find({"tenant_id": tenant_id}).sort("created_at", DESCENDING)
        return [_key_from_doc(d) async for d in cursor]

    async def revoke(self, tenant_id: str, key_id: str, now: datetime) -> bool:
        """Revoke a key of this tenant. True when the key exists (revoking twice is not an error)."""
        doc = await self._col.find_one_and_update(
            {"_id": key_id, "tenant_id": tenant_id, "revoked_at": None},
            {"$set": {"revoked_at": now}})
        if doc is not None:
            return True
        return await self._col.count_documents({"_id": key_id, "tenant_id": tenant_id}) > 0

    async def delete_tenant(self, tenant_id: str) -> int:
        return (await self._col.delete_many({"tenant_id": tenant_id})).deleted_count

    async def tenant_of(self, key_id: str) -> str | None:
        """The tenant owning a key id (operator CLI: revoking by id alone)."""
        doc = await self._col.find_one({"_id": key_id}, projection={"tenant_id": 1})
        return doc["tenant_id"] if doc else None


class IdempotencyRepository:
    """(tenant, Idempotency-Key) -> body hash and stored response.

    A request first *reserves* its key (state ``in_flight``); a concurrent duplicate then sees the
    reservation and is refused. On success the response is stored (state ``done``) and replayed
    to later duplicates; on failure the reservation is released so that the client may retry.
    """

    def __init__(self, db: AsyncDatabase[Doc], *, ttl: timedelta, lock: timedelta) -> None:
        self._col = db["idempotency"]
        self._ttl = ttl
        self._lock = lock

    async def ensure_indexes(self) -> None:
        await self._col.create_index([("tenant_id", ASCENDING), ("key", ASCENDING)], unique=True,
                                     name="tenant_key")
        await self._col.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0, name="ttl")

    async def reserve(self, tenant_id: str, key: str, body_hash: str, now: datetime) -> IdempotencyOutcome:
        owner = secrets.token_hex(8)
        fresh = {"tenant_id": tenant_id, "key": key, "body_hash": body_hash, "state": "in_flight",
                 "owner": owner, "created_at": now, "expires_at": now + self._ttl}
        # A few rounds, because the record we collide with may expire or be released meanwhile.
        for _ in range(3):
            try:
                await self._col.insert_one(dict(fresh))
                return IdempotencyOutcome(Reservation.NEW, owner=owner)
            except DuplicateKeyError:
                pass
            existing = await self._col.find_one({"tenant_id": tenant_id, "key": key})
            if existing is None:
                continue
            # The TTL monitor runs about once a minute, so an expired record may still be here.
            stale = existing["expires_at"] <= now or (
                existing["state"] == "in_flight" and existing["created_at"] <= now - self._lock)
            if stale:
                taken = await self._col.find_one_and_replace(
                    {"tenant_id": tenant_id, "key": key, "owner": existing["owner"]}, dict(fresh),
                    return_document=ReturnDocument.AFTER)
                if taken is not None:
                    logger.info("took over stale idempotency record %s for %s", key, tenant_id)
                    return IdempotencyOutcome(Reservation.NEW, owner=owner)
                continue
            if existing["body_hash"] != body_hash:
                return IdempotencyOutcome(Reservation.BODY_MISMATCH)
            if existing["state"] == "done":
                return IdempotencyOutcome(Reservation.REPLAY, status=int(existing["status"]),
                                          response=existing["response"])
            return IdempotencyOutcome(Reservation.IN_FLIGHT)
        return IdempotencyOutcome(Reservation.IN_FLIGHT)

    async def complete(self, tenant_id: str, key: str, owner: str, status: int, response: str) -> None:
        await self._col.update_one({"tenant_id": tenant_id, "key": key, "owner": owner},
                                   {"$set": {"state": "done", "status": status, "response": response}})

    async def delete_tenant(self, tenant_id: str) -> int:
        return (await self._col.delete_many({"tenant_id": tenant_id})).deleted_count

    async def release(self, tenant_id: str, key: str, owner: str) -> None:
        await self._col.delete_one({"tenant_id": tenant_id, "key": key, "owner": owner})


class GatewayStore:
    """The repositories over one database."""

    def __init__(self, db: AsyncDatabase[Doc], *, idempotency_ttl: timedelta = timedelta(hours=24),
                 idempotency_lock: timedelta = timedelta(minutes=2)) -> None:
        self._db = db
        self.tenants = TenantRepository(db)
        self.keys = ApiKeyRepository(db)
        self.idempotency = IdempotencyRepository(db, ttl=idempotency_ttl, lock=idempotency_lock)
        self.quotas = MongoQuotaStore(db)

    async def ping(self) -> None:
        await self._db.command("ping")

    async def ensure_indexes(self) -> None:
        await self.keys.ensure_indexes()
        await self.idempotency.ensure_indexes()
        await self.quotas.ensure_indexes()
