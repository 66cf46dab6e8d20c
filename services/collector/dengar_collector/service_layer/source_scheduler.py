"""Runs the pull sources: each active source at its interval, one worker at a time per source.

Each collector process runs one :class:`Scheduler`. It claims a due source with an atomic lease in
the store (so replicas never run one source twice at once), builds its connector, fetches with the
stored cursor, publishes through :meth:`IngestService.ingest` in batches of at most 1,000, and only
then stores the new cursor: a crash or restart between the two re-fetches the same posts (which the
bus de-duplicates) instead of skipping any. While a run lasts, its lease is renewed.

Concurrency limits (overall and per tenant) are per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from dengar_collector.domain.ingest import MAX_POSTS_PER_REQUEST, RequestError
from dengar_collector.domain.schedule import (
    SchedulePolicy,
    error_delay_s,
    next_run_after_success,
    retry_delay_s,
    scrub_secrets,
)
from dengar_collector.domain.sources import SourceRecord
from dengar_collector.service_layer.ingest_service import IngestService
from dengar_collector.service_layer.ports import (
    ConnectorBuilder,
    ConnectorError,
    InvalidCursorError,
    PublishError,
    SourceStore,
)

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 1000


class SchedulerClock(Protocol):
    """Wall-clock time and sleeping, injected so tests do not wait."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemSchedulerClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class SchedulerConfig(BaseModel):
    """``DENGAR_COLLECTOR__SCHEDULER__*``."""

    model_config = ConfigDict(frozen=True)

    # Off: this replica only serves the API; others run the sources.
    enabled: bool = True
    max_concurrent: int = Field(default=16, ge=1)
    max_per_tenant: int = Field(default=2, ge=1)
    # How often the store is asked for due sources when nothing wakes the scheduler earlier (creating,
    # resuming or running a source wakes it at once).
    poll_interval_s: float = Field(default=1.0, gt=0)
    # A run's lease; renewed every third of it while the run lasts, so only a stalled worker loses it
    # and a crashed replica's sources are picked up by the others once it expires.
    lease_s: float = Field(default=300.0, gt=0)
    # Items asked per API call.
    fetch_limit: int = Field(default=100, ge=1, le=1000)
    # Set from DENGAR_SHUTDOWN_GRACE_S by the bootstrap.
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    # Back-off after failures, the pause between backfill runs.
    policy: SchedulePolicy = Field(default_factory=SchedulePolicy)


@dataclass(frozen=True)
class RunOutcome:
    ok: bool
    items: int = 0
    error: str = ""


def default_owner() -> str:
    return f"{socket.gethostname()}:{secrets.token_hex(4)}"


class Scheduler:
    def __init__(self, repo: SourceStore, connectors: ConnectorBuilder, ingest: IngestService, *,
                 config: SchedulerConfig | None = None, clock: SchedulerClock | None = None,
                 rng: random.Random | None = None, owner: str | None = None) -> None:
        self._repo = repo
        self._connectors = connectors
        self._ingest = ingest
        self.config = config or SchedulerConfig()
        self._clock = clock or SystemSchedulerClock()
        self._rng = rng or random.Random()
        self.owner = owner or default_owner()
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        # Run task -> the source it runs.
        self._runs: dict[asyncio.Task[RunOutcome], SourceRecord] = {}
        self._per_tenant: dict[str, int] = {}

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._loop(), name="source-scheduler")
            logger.info("scheduler %s started (at most %d runs, %d per tenant)", self.owner,
                        self.config.max_concurrent, self.config.max_per_tenant)

    def wake(self) -> None:
        """Look for due sources now (a source was created, resumed or asked to run)."""
        self._wake.set()

    @property
    def running(self) -> int:
        return len(self._runs)

    async def stop(self) -> None:
        """Claim nothing more; let runs in flight finish within the grace period, then cancel the rest
        and release their leases (their cursors stay where they were, so nothing is lost)."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        runs = dict(self._runs)
        if runs:
            logger.info("scheduler %s: waiting for %d runs to finish", self.owner, len(runs))
            _done, pending = await asyncio.wait(runs, timeout=self.config.shutdown_grace_s)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                source = runs[task]
                try:
                    await self._repo.release_lease(source.tenant_id, source.id, owner=self.owner)
                except Exception:  # the lease expires on its own
                    logger.warning("could not release the lease of %s", source.id, exc_info=True)
        logger.info("scheduler %s stopped", self.owner)

    # -- claiming -----------------------------------------------------------------------------------

    def _stop_requested(self) -> bool:
        return self._stopping

    async def _loop(self) -> None:
        while not self._stopping:
            # Cleared before looking, so a wake-up that arrives while looking is not lost.
            self._wake.clear()
            try:
                await self._fill()
            except Exception:
                logger.warning("scheduler %s: looking for due sources failed", self.owner, exc_info=True)
            if self._stop_requested():  # stop() may have run during the await
                break
            sleeper = asyncio.ensure_future(self._clock.sleep(self.config.poll_interval_s))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for fut in (sleeper, waker):
                    fut.cancel()

    def _has_slot(self, tenant_id: str | None = None) -> bool:
        if len(self._runs) >= self.config.max_concurrent:
            return False
        return tenant_id is None or self._per_tenant.get(tenant_id, 0) < self.config.max_per_tenant

    async def _fill(self) -> None:
        """Claim due sources until the slots are full or nothing is due, round-robin over tenants."""
        if not self._has_slot():
            return
        tenants = await self._repo.due_tenants(self._clock.now())
        self._rng.shuffle(tenants)
        while tenants and self._has_slot() and not self._stopping:
            remaining = []
            for tenant_id in tenants:
                if self._stopping or not self._has_slot():
                    return
                if not self._has_slot(tenant_id):
                    continue
                now = self._clock.now()
                source = await self._repo.claim(tenant_id, owner=self.owner, now=now,
                                                lease_until=now + timedelta(seconds=self.config.lease_s))
                if source is None:
                    continue
                self._spawn(source)
                remaining.append(tenant_id)
            tenants = remaining

    def _spawn(self, source: SourceRecord) -> None:
        task = asyncio.create_task(self._guarded_run(source), name=f"source-run-{source.id}")
        self._runs[task] = source
        self._per_tenant[source.tenant_id] = self._per_tenant.get(source.tenant_id, 0) + 1
        task.add_done_callback(self._run_done)

    def _run_done(self, task: asyncio.Task[RunOutcome]) -> None:
        source = self._runs.pop(task)
        left = self._per_tenant.get(source.tenant_id, 1) - 1
        if left > 0:
            self._per_tenant[source.tenant_id] = left
        else:
            self._per_tenant.pop(source.tenant_id, None)
        # A slot is free: something else may be due.
        self._wake.set()

    async def _guarded_run(self, source: SourceRecord) -> RunOutcome:
        renewer = asyncio.create_task(self._renew(source))
        try:
            return await self.run(source)
        except Exception:
            # A bug or the store being down, not a platform problem: back off like a transient error
            # (if the store is down, the lease simply expires and the source is retried then).
            logger.exception("run of source %s crashed", source.id)
            with contextlib.suppress(Exception):
                return await self._failed(source, "internal error", retryable=True)
            return RunOutcome(ok=False, error="internal error")
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _renew(self, source: SourceRecord) -> None:
        every = self.config.lease_s / 3
        while True:
            await self._clock.sleep(every)
            until = self._clock.now() + timedelta(seconds=self.config.lease_s)
            try:
                if not await self._repo.renew_lease(source.tenant_id, source.id, owner=self.owner,
                                                    until=until):
                    logger.warning("scheduler %s lost the lease of %s", self.owner, source.id)
                    return
            except Exception:
                logger.warning("renewing the lease of %s failed", source.id, exc_info=True)

    # -- one run -------------------------------------------------------------------------------------

    async def run(self, source: SourceRecord) -> RunOutcome:
        """Run a source that this scheduler holds the lease of, and store the outcome."""
        started = time.perf_counter()
        secrets_ = source.secret_values()
        if source.secrets_error:
            # The stored credentials are there but unreadable (another key): running without them
            # would only produce a misleading auth error. A person must fix the keys or the source.
            return await self._failed(source, source.secrets_error, retryable=False)
        try:
            connector = self._connectors.build(source.kind, source.config, source.credentials or None)
        except ValueError as exc:
            return await self._failed(source, scrub_secrets(str(exc), secrets_), retryable=False)
        try:
            result = await connector.fetch(source.cursor, limit=self.config.fetch_limit)
        except InvalidCursorError as exc:
            # Written by another connector version: start over rather than stay stuck.
            return await self._failed(source, scrub_secrets(str(exc), secrets_), retryable=True,
                                      reset_cursor=True)
        except ConnectorError as exc:
            return await self._failed(source, scrub_secrets(str(exc), secrets_), retryable=exc.retryable,
                                      retry_after=exc.retry_after)
        accepted = 0
        try:
            for start in range(0, len(result.posts), MAX_POSTS_PER_REQUEST):
                chunk = result.posts[start:start + MAX_POSTS_PER_REQUEST]
                plan, _new = await self._ingest.ingest(source.tenant_id, [p.to_proto() for p in chunk],
                                                       source_id=source.id)
                accepted += plan.accepted
                if plan.rejected:
                    logger.info("source %s: %d posts rejected by validation (first: %s %s)", source.id,
                                plan.rejected, plan.errors[0].field if plan.errors else "",
                                plan.errors[0].message if plan.errors else "")
        except PublishError as exc:
            # The cursor stays: the next run fetches these posts again, and the bus drops repeats.
            return await self._failed(source, f"publishing failed: {exc}", retryable=True)
        except RequestError as exc:
            return await self._failed(source, str(exc), retryable=False)
        now = self._clock.now()
        next_run = next_run_after_success(now, source.interval_seconds, has_more=result.has_more,
                                          policy=self.config.policy, rng=self._rng)
        await self._repo.finish_run(
            source.tenant_id, source.id, owner=self.owner, generation=source.generation,
            set_fields={"last_run_at": now, "last_success_at": now, "last_run_items": accepted,
                        "consecutive_failures": 0},
            inc={"runs": 1, "items_collected": accepted},
            cursor=result.next_cursor, write_cursor=True, next_run_at=next_run)
        logger.info("source %s (%s, tenant %s): %d posts, %d item errors, more=%s, in %.2fs", source.id,
                    source.kind, source.tenant_id, accepted, len(result.errors), result.has_more,
                    time.perf_counter() - started)
        return RunOutcome(ok=True, items=accepted)

    async def _failed(self, source: SourceRecord, message: str, *, retryable: bool,
                      retry_after: float | None = None, reset_cursor: bool = False) -> RunOutcome:
        now = self._clock.now()
        failures = source.consecutive_failures + 1
        policy = self.config.policy
        delay = (retry_delay_s(failures, retry_after=retry_after, policy=policy, rng=self._rng)
                 if retryable else error_delay_s(policy=policy, rng=self._rng))
        message = message[:MAX_ERROR_CHARS]
        await self._repo.finish_run(
            source.tenant_id, source.id, owner=self.owner, generation=source.generation,
            set_fields={"last_run_at": now, "last_error": message, "last_error_at": now,
                        "last_run_items": 0},
            inc={"runs": 1, "consecutive_failures": 1},
            cursor=None, write_cursor=reset_cursor, next_run_at=now + timedelta(seconds=delay))
        logger.warning("source %s (%s, tenant %s) failed (%s, attempt %d); next try in %.0fs: %s",
                       source.id, source.kind, source.tenant_id,
                       "retryable" if retryable else "needs attention", failures, delay, message)
        return RunOutcome(ok=False, error=message)

