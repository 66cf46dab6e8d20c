"""Data retention: per-tenant settings and the periodic sweep (rules in ``domain/retention.py``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dengar_insights.domain.retention import FOREVER, Retention, check_days
from dengar_insights.service_layer.ports import RetentionStore

logger = logging.getLogger(__name__)

LEASE = "retention-sweep"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RetentionPolicy:
    def __init__(self, store: RetentionStore, *, default_days: int) -> None:
        self._store = store
        self.default_days = check_days(default_days)

    def _retention(self, tenant_id: str, own: int | None) -> Retention:
        if own is None:
            return Retention(tenant_id, self.default_days, is_default=True)
        return Retention(tenant_id, own, is_default=False)

    async def get(self, tenant_id: str) -> Retention:
        return self._retention(tenant_id, await self._store.get_days(tenant_id))

    async def set(self, tenant_id: str, days: int | None) -> Retention:
        """``days`` of the tenant's own (0 = forever), or None for the default."""
        if days is not None:
            check_days(days)
        await self._store.set_days(tenant_id, days)
        return self._retention(tenant_id, days)

    async def all(self) -> list[Retention]:
        return [self._retention(t, own) for t, own in sorted((await self._store.tenants()).items())]


class RetentionCutoffs:
    """Each tenant's cutoff for incoming posts, cached ``ttl_s`` seconds: a post already older than
    its tenant's retention is not stored (the sweep would remove it, and its rollup counts would
    be added again for a post counted before it expired)."""

    def __init__(self, policy: RetentionPolicy, *, ttl_s: float = 30.0,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._policy = policy
        self._ttl = timedelta(seconds=ttl_s)
        self._clock = clock
        self._cache: dict[str, tuple[datetime, Retention]] = {}

    async def cutoff(self, tenant_id: str) -> datetime | None:
        now = self._clock()
        hit = self._cache.get(tenant_id)
        if hit is None or now - hit[0] >= self._ttl:
            hit = (now, await self._policy.get(tenant_id))
            self._cache[tenant_id] = hit
        return hit[1].cutoff(now)


class RetentionSweep:
    """One sweep over every tenant, by the replica holding the lease (so replicas never double the
    work); the lease is renewed per tenant and outlives a crashed holder by ``lease_s`` only."""

    def __init__(self, store: RetentionStore, policy: RetentionPolicy, *, owner: str, lease_s: float,
                 batch: int, clock: Callable[[], datetime] = _utcnow) -> None:
        self._store = store
        self._policy = policy
        self._owner = owner
        self._lease = timedelta(seconds=lease_s)
        self._batch = batch
        self._clock = clock

    async def _hold(self) -> bool:
        now = self._clock()
        return await self._store.lease(LEASE, self._owner, now, now + self._lease)

    async def sweep(self) -> dict[str, dict[str, int]] | None:
        """Remove expired data of every tenant; what was removed per tenant, or None when another
        replica holds the lease."""
        if not await self._hold():
            return None
        removed: dict[str, dict[str, int]] = {}
        for retention in await self._policy.all():
            if retention.days == FOREVER:
                continue
            if not await self._hold():
                logger.warning("lost the retention lease mid-sweep; another replica continues")
                break
            cutoff = retention.cutoff(self._clock())
            assert cutoff is not None
            gone = await self._store.expire(retention.tenant_id, cutoff, batch=self._batch)
            if gone:
                removed[retention.tenant_id] = gone
                logger.info("retention of %s (%d days): removed %s", retention.tenant_id,
                            retention.days, gone)
        return removed
