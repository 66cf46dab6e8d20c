"""The shared state of per-tenant quotas in the gateway's database (see
``service_layer.quotas`` for the protocols over it).

- ``tenants.limits``: a tenant's own limits (``dengar tenants limits``).
- ``rate_windows``: one document per (tenant, window) with the requests claimed so far; removed
  by a TTL index on ``expires_at`` (alone, as MongoDB requires) once the window is past.
- ``stream_leases``: one document per open live stream, with a TTL index as well; counting
  filters on ``expires_at`` too, since TTL removal runs only now and then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]


class MongoQuotaStore:
    """Implements ``QuotaRepository``."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._tenants = db["tenants"]
        self._keys = db["api_keys"]
        self._windows = db["rate_windows"]
        self._leases = db["stream_leases"]

    async def ensure_indexes(self) -> None:
        await self._windows.create_index([("expires_at", ASCENDING)], name="ttl", expireAfterSeconds=0)
        await self._leases.create_index([("tenant_id", ASCENDING), ("expires_at", ASCENDING)],
                                        name="tenant_expires")
        await self._leases.create_index([("expires_at", ASCENDING)], name="ttl", expireAfterSeconds=0)
        await self._keys.create_index([("tenant_id", ASCENDING), ("revoked_at", ASCENDING)],
                                      name="tenant_revoked")

    # -- limits --------------------------------------------------------------------------------------

    async def limits_of(self, tenant_id: str) -> dict[str, object]:
        doc = await self._tenants.find_one({"_id": tenant_id}, projection={"limits": 1})
        limits = (doc or {}).get("limits")
        return dict(limits) if isinstance(limits, dict) else {}

    async def set_limits(self, tenant_id: str, values: dict[str, float | int],
                         reset: list[str]) -> dict[str, object] | None:
        """Set and unset a tenant's own limits; its limits afterwards, or None without the tenant."""
        update: Doc = {}
        if values:
            update["$set"] = {f"limits.{k}": v for k, v in values.items()}
        if reset:
            update["$unset"] = {f"limits.{k}": "" for k in reset}
        if update:
            result = await self._tenants.update_one({"_id": tenant_id}, update)
            if result.matched_count == 0:
                return None
        elif await self._tenants.count_documents({"_id": tenant_id}) == 0:
            return None
        return await self.limits_of(tenant_id)

    # -- requests ------------------------------------------------------------------------------------

    async def claim_requests(self, tenant_id: str, window: int, n: int, limit: int,
                             expires_at: datetime) -> bool:
        try:
            # When the count cannot take n more the filter matches nothing, and the upsert collides
            # with the existing window document on _id: the claim is refused, atomically.
            await self._windows.update_one(
                {"_id": f"{tenant_id}:{window}", "used": {"$lte": limit - n}},
                {"$inc": {"used": n}, "$setOnInsert": {"tenant_id": tenant_id, "expires_at": expires_at}},
                upsert=True)
        except DuplicateKeyError:
            return False
        return True

    # -- streams -------------------------------------------------------------------------------------

    async def open_stream(self, tenant_id: str, lease_id: str, expires_at: datetime) -> None:
        await self._leases.insert_one({"_id": lease_id, "tenant_id": tenant_id, "expires_at": expires_at})

    async def count_streams(self, tenant_id: str, now: datetime) -> int:
        return await self._leases.count_documents({"tenant_id": tenant_id, "expires_at": {"$gt": now}})

    async def renew_streams(self, lease_ids: list[str], expires_at: datetime) -> None:
        await self._leases.update_many({"_id": {"$in": lease_ids}}, {"$set": {"expires_at": expires_at}})

    async def close_stream(self, lease_id: str) -> None:
        await self._leases.delete_one({"_id": lease_id})

    # -- keys ----------------------------------------------------------------------------------------

    async def count_active_keys(self, tenant_id: str) -> int:
        return await self._keys.count_documents({"tenant_id": tenant_id, "revoked_at": None})

    async def delete_key(self, tenant_id: str, key_id: str) -> None:
        await self._keys.delete_one({"_id": key_id, "tenant_id": tenant_id})

    async def delete_tenant(self, tenant_id: str) -> int:
        """Offboarding: the tenant's request windows and stream leases (they would expire anyway)."""
        windows = await self._windows.delete_many({"tenant_id": tenant_id})
        leases = await self._leases.delete_many({"tenant_id": tenant_id})
        return windows.deleted_count + leases.deleted_count
