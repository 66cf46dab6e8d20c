"""The outbox of listening-query changes: every version of a query is published once, durably.

The query store marks a query whose version was not yet published (created, expression or
``enabled`` changed, deleted: a tombstone) in the same write that changes it. ``OutboxRelay``
publishes a ``QueryChanged`` event for each marked query and only then clears the mark (guarded by
the version, so a newer change made meanwhile stays marked). A crash between the store write and
the publish therefore loses nothing: the next pass (woken by the change, or the periodic sweep of
every tenant, which also covers other replicas and restarts) publishes it. A crash between the
publish and the clearing publishes the version again; JetStream drops it inside its duplicate
window (message id ``<query id>:<version>``) and consumers treat a version they have as stale.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueryChange:
    """One version of a query, as published."""

    tenant_id: str
    query_id: str
    version: int
    expression: str
    enabled: bool
    deleted: bool = False
    # When this version was stored (the query's updated_at).
    changed_at: datetime | None = None


class QueryOutbox(Protocol):
    async def unpublished(self, tenant_id: str | None, limit: int) -> Sequence[QueryChange]:
        """Queries of ``tenant_id`` (None: of every tenant) whose current version is unpublished."""
        ...

    async def mark_published(self, change: QueryChange) -> None:
        """Clear the mark iff the query is still at ``change.version`` (and drop a tombstone)."""
        ...


class QueryChangePublisher(Protocol):
    async def publish(self, change: QueryChange) -> None:
        """Publish durably (acked by the bus); raises when it could not."""
        ...


class OutboxConfig(BaseModel):
    """``DENGAR_COLLECTOR__OUTBOX__*``."""

    model_config = ConfigDict(frozen=True)

    # The backstop for changes whose publish failed or whose writer died: every tenant's marked
    # queries are looked for this often (a change made through this replica is published at once).
    sweep_s: float = Field(default=10.0, gt=0)
    batch: int = Field(default=100, ge=1, le=10_000)


class OutboxRelay:
    """Publishes the outbox; ``wake(tenant)`` after a change, ``run`` as a worker."""

    def __init__(self, outbox: QueryOutbox, publisher: QueryChangePublisher,
                 config: OutboxConfig | None = None) -> None:
        self._outbox = outbox
        self._publisher = publisher
        self._cfg = config or OutboxConfig()
        self._woken: set[str] = set()
        self._event = asyncio.Event()
        self._stopping = False
        self.published = 0

    def wake(self, tenant_id: str) -> None:
        self._woken.add(tenant_id)
        self._event.set()

    def stop(self) -> None:
        self._stopping = True
        self._event.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while not self._stopping:
            tenants, self._woken = self._woken, set()
            self._event.clear()
            sweep = loop.time() >= next_sweep
            try:
                if sweep:
                    await self.relay(None)
                    next_sweep = loop.time() + self._cfg.sweep_s
                else:
                    for tenant in sorted(tenants):
                        await self.relay(tenant)
            except Exception:
                # The marks stay; the next sweep (or change) publishes them.
                logger.warning("publishing query changes failed; retrying at the next sweep", exc_info=True)
                next_sweep = min(next_sweep, loop.time() + 1.0)
            try:
                await asyncio.wait_for(self._event.wait(), timeout=max(0.0, next_sweep - loop.time()))
            except TimeoutError:
                pass

    async def relay(self, tenant_id: str | None) -> int:
        """Publish every marked query of ``tenant_id`` (None: all); how many were published."""
        done = 0
        while True:
            changes = await self._outbox.unpublished(tenant_id, self._cfg.batch)
            for change in changes:
                await self._publisher.publish(change)
                await self._outbox.mark_published(change)
                done += 1
                logger.info("tenant %s: query %s version %d published%s", change.tenant_id,
                            change.query_id, change.version, " (deleted)" if change.deleted else "")
            self.published += len(changes)
            if len(changes) < self._cfg.batch:
                return done
