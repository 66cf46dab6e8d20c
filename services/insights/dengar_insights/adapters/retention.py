"""Retention settings (``tenant_retention``, one document per tenant that has its own value), the
sweep's lease (``leases``, keyed by name: not tenant data) and the removal of expired data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from dengar_common.tenant_data import delete_in_batches
from dengar_insights.adapters.leases import take_lease
from dengar_insights.adapters.store import ids_filter, store_errors
from dengar_insights.domain.alerts import RESOLVED

Doc = dict[str, Any]


@store_errors
class MongoRetentionStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._db = db
        self._settings = db["tenant_retention"]
        self._leases = db["leases"]
        self._mentions = db["mentions"]

    async def get_days(self, tenant_id: str) -> int | None:
        doc = await self._settings.find_one({"_id": tenant_id, "tenant_id": tenant_id})
        return int(doc["days"]) if doc else None

    async def set_days(self, tenant_id: str, days: int | None) -> None:
        if days is None:
            await self._settings.delete_one({"_id": tenant_id, "tenant_id": tenant_id})
        else:
            await self._settings.update_one({"_id": tenant_id},
                                            {"$set": {"tenant_id": tenant_id, "days": days}}, upsert=True)

    async def tenants(self) -> dict[str, int | None]:
        out: dict[str, int | None] = {t: None for t in await self._mentions.distinct("tenant_id")}
        async for doc in self._settings.find({}):
            out[doc["tenant_id"]] = int(doc["days"])
        return out

    async def expire(self, tenant_id: str, cutoff: datetime, *, batch: int) -> dict[str, int]:
        removed: dict[str, int] = {}

        def add(name: str, n: int) -> None:
            if n:
                removed[name] = removed.get(name, 0) + n

        # Batch by batch through the (tenant_id, created_at) index; a mention's audit trail goes
        # with it, so an interrupted sweep leaves no trail without its mention.
        old = {"tenant_id": tenant_id, "created_at": {"$lt": cutoff}}
        while True:
            ids = [d["_id"] async for d in self._mentions.find(old, projection={"_id": 1}).limit(batch)]
            if not ids:
                break
            add("mention_audit", await delete_in_batches(
                self._db, "mention_audit", {"tenant_id": tenant_id, "mention_id": {"$in": ids}}, batch=batch))
            res = await self._mentions.delete_many(ids_filter(tenant_id, ids))
            add("mentions", res.deleted_count)
        add("alerts", await delete_in_batches(
            self._db, "alerts", {"tenant_id": tenant_id, "state": RESOLVED,
                                 "resolved_at": {"$lt": cutoff}}, batch=batch))
        add("deliveries", await delete_in_batches(
            self._db, "deliveries", {"tenant_id": tenant_id, "created_at": {"$lt": cutoff}}, batch=batch))
        return removed

    async def lease(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        return await take_lease(self._leases, name, owner, now, until)

    async def delete_alert_leases(self, tenant_id: str) -> dict[str, int]:
        """The scheduled evaluator's leases of the tenant's rules (keyed by rule, without tenant)."""
        names = [f"alert-rule:{d['_id']}" async for d in
                 self._db["alert_rules"].find({"tenant_id": tenant_id}, projection={"_id": 1})]
        if not names:
            return {}
        res = await self._db["alert_leases"].delete_many({"_id": {"$in": names}})
        return {"alert_leases": res.deleted_count} if res.deleted_count else {}
