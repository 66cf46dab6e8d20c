"""Per-tenant quotas the gateway enforces, with their state shared by every gateway replica
(in the gateway's store), so that neither more keys nor more replicas raise a tenant's limits.

- **Requests** (``TenantRateLimit``): fixed windows of ``window_s`` seconds aligned on the epoch,
  each allowing ``rate_per_s * window_s`` requests of the tenant, whatever key sends them. A
  replica claims a share of the window (a *chunk*) from the shared count with one conditional
  ``$inc`` (the count never passes the limit, however many replicas race), then admits that many
  requests locally without a store round trip. Tolerance: the tenant gets at most the limit per
  window, and at least the limit minus one unused chunk per replica; like any fixed window, a
  burst straddling a window boundary may see up to twice the limit within ``window_s``.
- **Concurrent streams** (``StreamQuota``): one lease document per open stream, renewed while it
  is open and expiring ``lease_ttl_s`` after its replica stopped renewing (a crash). Opening one
  inserts the lease, then counts the tenant's live leases and withdraws its own when that is over
  the limit: two racing opens at the limit may both be refused, never both admitted.
- **API keys** (``KeyQuota``): the same insert-then-recount, rolling the new key back.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dengar_common.errors import FailedPrecondition, ResourceExhausted
from dengar_gateway.domain.quotas import RateWindow, TenantLimits, chunk_size, rate_window
from dengar_gateway.domain.streams import StreamSlot
from dengar_gateway.service_layer.ports import QuotaRepository

logger = logging.getLogger(__name__)


def _epoch_to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class TenantQuotas:
    """A tenant's limits: the defaults with its own overrides, cached for ``cache_s``."""

    def __init__(self, repo: QuotaRepository, defaults: TenantLimits, *, cache_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, max_cached: int = 100_000) -> None:
        self._repo = repo
        self.defaults = defaults
        self._cache_s = cache_s
        self._clock = clock
        self._max_cached = max_cached
        self._cache: dict[str, tuple[float, TenantLimits]] = {}

    async def limits(self, tenant_id: str) -> TenantLimits:
        now = self._clock()
        cached = self._cache.get(tenant_id)
        if cached is not None and now - cached[0] < self._cache_s:
            return cached[1]
        limits = self.defaults.with_overrides(await self._repo.limits_of(tenant_id))
        if len(self._cache) >= self._max_cached:
            self._cache.clear()  # rare (that many tenants): re-reading costs one lookup each
        self._cache[tenant_id] = (now, limits)
        return limits


@dataclass
class _Allowance:
    window: int
    left: int
    exhausted: bool


class TenantRateLimit:
    """Requests per second over all of a tenant's keys and all gateway replicas (see module doc)."""

    def __init__(self, repo: QuotaRepository, quotas: TenantQuotas, *, window_s: float,
                 chunk: int = 0, clock: Callable[[], float] = time.time,
                 max_tenants: int = 10_000) -> None:
        self._repo = repo
        self._max_tenants = max_tenants
        self._quotas = quotas
        self._window_s = window_s
        self._chunk = chunk
        self._clock = clock
        self._local: dict[str, _Allowance] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def take(self, tenant_id: str) -> None:
        """Count one request of the tenant; ``ResourceExhausted`` (429) when its window is full."""
        limits = await self._quotas.limits(tenant_id)
        if limits.rate_per_s <= 0:
            return
        window = rate_window(self._clock(), limits.rate_per_s, self._window_s)
        if self._take_local(tenant_id, window):
            return
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        async with lock:
            # Another request of this tenant may have claimed a chunk while this one waited.
            if self._take_local(tenant_id, window):
                return
            expires = _epoch_to_datetime(window.end + self._window_s)
            size = chunk_size(window.limit, self._chunk)
            granted = 0
            for n in dict.fromkeys((size, 1)):  # a full chunk, else whatever single one is left
                if await self._repo.claim_requests(tenant_id, window.index, n, window.limit, expires):
                    granted = n
                    break
            self._local[tenant_id] = _Allowance(window.index, max(0, granted - 1), exhausted=granted == 0)
        if len(self._local) > self._max_tenants:
            self._prune(window.index)
        if not granted:
            self._refuse(window.limit, window.end)

    def _prune(self, current_window: int) -> None:
        # Allowances of past windows are worth nothing; a lock nobody holds is made again on demand.
        self._local = {t: a for t, a in self._local.items() if a.window >= current_window}
        self._locks = {t: lock for t, lock in self._locks.items() if lock.locked()}

    def _take_local(self, tenant_id: str, window: RateWindow) -> bool:
        allowance = self._local.get(tenant_id)
        if allowance is None or allowance.window != window.index:
            return False
        if allowance.left > 0:
            allowance.left -= 1
            return True
        if allowance.exhausted:
            self._refuse(window.limit, window.end)
        return False

    def _refuse(self, limit: int, window_end: float) -> None:
        raise ResourceExhausted(
            f"rate limit exceeded for this tenant: at most {limit} requests per {self._window_s:g} s "
            "over all of its API keys", reason="tenant-rate-limited",
            retry_after_s=max(0.0, window_end - self._clock()), limit=limit, current=limit)


class StreamQuota:
    """Concurrent live streams per tenant, across gateway replicas (see module doc)."""

    def __init__(self, repo: QuotaRepository, quotas: TenantQuotas, *, lease_ttl_s: float,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._repo = repo
        self._quotas = quotas
        self._ttl = timedelta(seconds=lease_ttl_s)
        self._now = clock or (lambda: datetime.now(UTC))
        self._open: set[str] = set()
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def held(self) -> int:
        """Streams open in this replica."""
        return len(self._open)

    async def acquire(self, tenant_id: str, *, retry_after_s: float) -> StreamSlot:
        """A slot for one stream, released when it ends; ``ResourceExhausted`` over the limit."""
        limit = (await self._quotas.limits(tenant_id)).max_streams
        if self._closing:
            # This replica's ended streams first give their leases back (a client that reconnects
            # at once must not find its own old stream still counted).
            await asyncio.wait(set(self._closing), timeout=2)
        lease_id = uuid.uuid4().hex
        now = self._now()
        await self._repo.open_stream(tenant_id, lease_id, now + self._ttl)
        try:
            held = await self._repo.count_streams(tenant_id, now)
        except BaseException:
            await self._repo.close_stream(lease_id)
            raise
        if held > limit:
            await self._repo.close_stream(lease_id)
            raise ResourceExhausted(f"this tenant already holds {limit} live streams",
                                    reason="too-many-streams", retry_after_s=retry_after_s,
                                    limit=limit, current=held - 1)
        self._open.add(lease_id)
        return StreamSlot(tenant_id, lambda _tenant: self._release(lease_id))

    def _release(self, lease_id: str) -> None:
        self._open.discard(lease_id)
        task = asyncio.get_running_loop().create_task(self._close(lease_id))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, lease_id: str) -> None:
        try:
            await self._repo.close_stream(lease_id)
        except Exception:  # the lease expires by itself; the slot is only held a while longer
            logger.warning("could not remove stream lease %s; it expires in %s", lease_id, self._ttl,
                           exc_info=True)

    async def renew_forever(self) -> None:
        """Keep this replica's leases alive (a third of their lifetime between renewals)."""
        while True:
            await asyncio.sleep(self._ttl.total_seconds() / 3)
            if self._open:
                try:
                    await self._repo.renew_streams(sorted(self._open), self._now() + self._ttl)
                except Exception:
                    logger.warning("could not renew %d stream leases", len(self._open), exc_info=True)

    async def close(self) -> None:
        """Shutdown: let the lease removals started by ending streams finish."""
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=2)


class KeyQuota:
    """At most ``max_keys`` unrevoked API keys per tenant (see module doc)."""

    def __init__(self, repo: QuotaRepository, quotas: TenantQuotas) -> None:
        self._repo = repo
        self._quotas = quotas

    async def check_room(self, tenant_id: str) -> None:
        """Refuse early when the tenant is already at its limit (no key is created then)."""
        limit = (await self._quotas.limits(tenant_id)).max_keys
        current = await self._repo.count_active_keys(tenant_id)
        if current >= limit:
            raise self._error(limit, current)

    async def confirm(self, tenant_id: str, key_id: str) -> None:
        """After inserting ``key_id``: roll it back when the tenant is now over its limit."""
        limit = (await self._quotas.limits(tenant_id)).max_keys
        current = await self._repo.count_active_keys(tenant_id)
        if current > limit:
            await self._repo.delete_key(tenant_id, key_id)
            raise self._error(limit, current - 1)

    @staticmethod
    def _error(limit: int, current: int) -> FailedPrecondition:
        return FailedPrecondition(f"a tenant may have at most {limit} active API keys; revoke one first",
                                  reason="key-limit-reached", limit=limit, current=current)
