"""Offboarding: `dengar tenants delete` removes every piece of a tenant's data in every service.

The order makes it safe to stop anywhere and run again (each step is idempotent):

1. the tenant becomes a tombstone in the gateway (its id is never reused, it is no longer listed);
2. its API keys go, so that no request of the tenant is accepted any more;
3. each service that owns data (collector, insights) is asked over gRPC to delete it; the service
   tombstones the tenant first, so that messages still in flight for it are dropped, not stored;
4. after ``settle_s`` (the longest a replica of a service may take to learn of the tombstone),
   every service is asked again, removing what a message that slipped through stored meanwhile;
5. the gateway's own idempotency records go, and the run is recorded as done.

A service that keeps failing (after ``attempts`` tries with back-off) stops the run with an error
naming it; running the command again finishes the deletion.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dengar_common.errors import NotFound, Unavailable
from dengar_gateway.service_layer.ports import TenantDataService, TenantRecords, TenantTombstones

logger = logging.getLogger(__name__)

Removed = dict[str, dict[str, int]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class DeletionReport:
    tenant_id: str
    # service -> collection (or "spool_files") -> documents removed by this run
    removed: Removed = field(default_factory=dict)

    def add(self, service: str, counts: dict[str, int]) -> None:
        mine = self.removed.setdefault(service, {})
        for name, n in counts.items():
            mine[name] = mine.get(name, 0) + n


class TenantDeletion:
    def __init__(self, tenants: TenantTombstones, keys: TenantRecords, idempotency: TenantRecords,
                 services: Sequence[TenantDataService], *, quotas: TenantRecords | None = None,
                 settle_s: float = 6.0, attempts: int = 4,
                 backoff_s: float = 1.0, clock: Callable[[], datetime] = _utcnow,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._tenants = tenants
        self._keys = keys
        self._idempotency = idempotency
        self._quotas = quotas
        self._services = services
        self._settle = settle_s
        self._attempts = attempts
        self._backoff = backoff_s
        self._clock = clock
        self._sleep = sleep

    async def _ask(self, service: TenantDataService, tenant_id: str) -> dict[str, int]:
        for attempt in range(1, self._attempts + 1):
            try:
                return await service.delete_tenant_data(tenant_id)
            except Unavailable as exc:
                if attempt == self._attempts:
                    raise Unavailable(f"{service.name} could not delete the data of {tenant_id} "
                                      f"({exc}); run the command again to finish") from exc
                logger.warning("%s: deleting %s failed (attempt %d): %s", service.name, tenant_id,
                               attempt, exc)
                await self._sleep(self._backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    async def delete(self, tenant_id: str) -> DeletionReport:
        if not await self._tenants.mark_deleted(tenant_id, self._clock()):
            raise NotFound(f"no tenant {tenant_id!r}")
        report = DeletionReport(tenant_id)
        report.add("gateway", {"api_keys": await self._keys.delete_tenant(tenant_id)})
        try:
            for round_ in range(2):
                if round_:
                    await self._sleep(self._settle)
                for service in self._services:
                    report.add(service.name, await self._ask(service, tenant_id))
        except Exception:
            await self._tenants.record_deletion(tenant_id, False, report.removed, self._clock())
            raise
        report.add("gateway", {"idempotency": await self._idempotency.delete_tenant(tenant_id)})
        if self._quotas is not None:
            # Last: the tenant's own late requests (refused now) may still have opened a window.
            report.add("gateway", {"quota_state": await self._quotas.delete_tenant(tenant_id)})
        await self._tenants.record_deletion(tenant_id, True, report.removed, self._clock())
        logger.info("tenant %s deleted: %s", tenant_id, report.removed)
        return report
