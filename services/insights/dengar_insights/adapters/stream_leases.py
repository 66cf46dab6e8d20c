"""Leases of open mention streams (``service_layer/stream_quota.py``): one document per stream.

A TTL index on ``expires_at`` alone (MongoDB honours TTL only on single-field indexes) removes a
crashed replica's leases eventually; counting filters on ``expires_at`` as well, since TTL removal
runs only now and then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]


class MongoStreamLeases:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db["stream_leases"]

    async def ensure_indexes(self) -> None:
        await self._col.create_index([("tenant_id", ASCENDING), ("expires_at", ASCENDING)],
                                     name="tenant_expires")
        await self._col.create_index([("expires_at", ASCENDING)], name="ttl", expireAfterSeconds=0)

    async def open(self, tenant_id: str, lease_id: str, expires_at: datetime) -> None:
        await self._col.insert_one({"_id": lease_id, "tenant_id": tenant_id, "expires_at": expires_at})

    async def count(self, tenant_id: str, now: datetime) -> int:
        return await self._col.count_documents({"tenant_id": tenant_id, "expires_at": {"$gt": now}})

    async def renew(self, lease_ids: list[str], expires_at: datetime) -> None:
        await self._col.update_many({"_id": {"$in": lease_ids}}, {"$set": {"expires_at": expires_at}})

    async def close(self, lease_id: str) -> None:
        await self._col.delete_one({"_id": lease_id})
