"""Concurrent ``StreamMentions`` calls per tenant over every insights replica, so a gRPC client
cannot hold more than the limit either (the gateway's live streams, SSE, are among them).

One lease per open stream in the store, renewed while it is open and expiring ``lease_ttl_s``
after its replica stopped renewing (a crash). Opening inserts the lease, then counts the tenant's
live leases and withdraws its own when that is over the limit: streams opened in a race at the
limit may all be refused, never all admitted.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from dengar_common.errors import ResourceExhausted

logger = logging.getLogger(__name__)


class StreamLeaseStore(Protocol):
    async def open(self, tenant_id: str, lease_id: str, expires_at: datetime) -> None: ...

    async def count(self, tenant_id: str, now: datetime) -> int:
        """The tenant's leases not expired at ``now``."""

    async def renew(self, lease_ids: list[str], expires_at: datetime) -> None: ...

    async def close(self, lease_id: str) -> None: ...


class StreamQuota:
    def __init__(self, leases: StreamLeaseStore, *, max_per_tenant: int, lease_ttl_s: float,
                 retry_after_s: float = 5.0, clock: Callable[[], datetime] | None = None) -> None:
        self._leases = leases
        self._max = max_per_tenant
        self._ttl = timedelta(seconds=lease_ttl_s)
        self._retry_after_s = retry_after_s
        self._now = clock or (lambda: datetime.now(UTC))
        self._open: set[str] = set()
        self._closing: set[asyncio.Task[None]] = set()

    async def acquire(self, tenant_id: str) -> Callable[[], None]:
        """Hold one stream of the tenant; returns its (idempotent) release. ``ResourceExhausted``
        (``too-many-streams``, with the limit and the current count) over the limit."""
        if self._closing:
            # Streams of this replica that just ended give their leases back first.
            await asyncio.wait(set(self._closing), timeout=2)
        lease_id = uuid.uuid4().hex
        now = self._now()
        await self._leases.open(tenant_id, lease_id, now + self._ttl)
        try:
            held = await self._leases.count(tenant_id, now)
        except BaseException:
            await self._leases.close(lease_id)
            raise
        if held > self._max:
            await self._leases.close(lease_id)
            raise ResourceExhausted(f"this tenant already holds {self._max} mention streams",
                                    reason="too-many-streams", retry_after_s=self._retry_after_s,
                                    limit=self._max, current=held - 1)
        self._open.add(lease_id)
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._open.discard(lease_id)
            task = asyncio.get_running_loop().create_task(self._close(lease_id))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

        return release

    async def _close(self, lease_id: str) -> None:
        try:
            await self._leases.close(lease_id)
        except Exception:  # it expires by itself; the slot is only held a while longer
            logger.warning("could not remove stream lease %s", lease_id, exc_info=True)

    async def renew_forever(self) -> None:
        """Keep this replica's leases alive (a third of their lifetime between renewals)."""
        while True:
            await asyncio.sleep(self._ttl.total_seconds() / 3)
            if self._open:
                try:
                    await self._leases.renew(sorted(self._open), self._now() + self._ttl)
                except Exception:
                    logger.warning("could not renew %d stream leases", len(self._open), exc_info=True)

    async def close(self) -> None:
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=2)
