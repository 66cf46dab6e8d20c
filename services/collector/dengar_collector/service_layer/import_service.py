"""File imports: the upload side (spool, then a QUEUED job) and the background runner.

The runner lives in the collector process. It parses a spooled file in constant memory
(``dengar_common.imports``), sends batches through :meth:`IngestService.ingest` with
``source_id="import:<job id>"``, and after each fully published batch stores the job's progress with
the checkpoint where the batch ended, in one write. Publishing is idempotent per post, so a batch
that was published but not yet recorded (a crash in between) is simply published again on resume.

A bus that does not confirm a batch is retried with back-off for as long as it takes: nothing is
lost, the job just waits. Jobs hold a lease renewed while they run or wait; a job whose lease ran
out (its process died) is resumed from its checkpoint by the collector that has its spool file, or
marked FAILED when no spool file is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ConfigDict, Field

from dengar.v1 import common_pb2
from dengar_collector.domain.import_job import (
    ImportJob,
    ImportQuotaExceeded,
    ImportRepository,
    ImportSpec,
    ImportState,
    InvalidImportSpec,
    Spool,
    check_spec,
)
from dengar_collector.domain.ingest import RequestError
from dengar_collector.service_layer.ingest_service import IngestService
from dengar_collector.service_layer.ports import PublishError
from dengar_common.errors import ResourceExhausted
from dengar_common.imports import Batch, BatchReader, ImportSpecError, RowError, iter_records
from dengar_common.postjson import post_to_proto
from dengar_common.times import utcnow_ms

logger = logging.getLogger(__name__)


def new_job_id() -> str:
    return "imp_" + secrets.token_hex(8)


class ImportConfig(BaseModel):
    """``DENGAR_COLLECTOR__IMPORTS__*``."""

    model_config = ConfigDict(frozen=True)

    # Uploads are spooled here (one file per job, deleted when the job ends), at most max_bytes each.
    dir: str = Field(default_factory=lambda: str(Path(tempfile.gettempdir()) / "dengar-imports"))
    max_bytes: int = Field(default=2 * 1024**3, ge=1)
    # Posts per IngestService batch (the unit of progress and of the resume checkpoint).
    batch_size: int = Field(default=500, ge=1, le=500)
    # Jobs running at once per replica; the others wait queued.
    concurrency: int = Field(default=2, ge=1)
    # A running job's lease, renewed every batch; jobs of a replica that died are resumed by the one
    # that holds the spool directory once their lease has expired.
    lease_s: float = Field(default=120.0, gt=0)
    retry_base_s: float = Field(default=0.5, gt=0)
    retry_max_s: float = Field(default=30.0, gt=0)
    # Set from DENGAR_SHUTDOWN_GRACE_S by the bootstrap.
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    # Per-tenant quotas, so that one tenant's uploads cannot fill the disk (0: no limit). Imports at
    # once: unfinished jobs in the store (every replica) plus this replica's uploads in progress.
    max_concurrent_per_tenant: int = Field(default=4, ge=0)
    # Bytes uploaded in the last 24 hours (jobs created in that window, finished or not).
    max_bytes_per_day_per_tenant: int = Field(default=20 * 1024**3, ge=0)
    # Bytes the tenant's files take in this replica's spool directory (waiting or being imported).
    max_spool_bytes_per_tenant: int = Field(default=4 * 1024**3, ge=0)
    # The whole spool directory of this replica, all tenants: keep it below the volume's size.
    max_spool_bytes_total: int = Field(default=6 * 1024**3, ge=0)
    # Retry-After of a 429 for the concurrency and spool quotas (the daily one says when it frees).
    quota_retry_after_s: float = Field(default=30.0, gt=0)


class _LeaseLost(Exception):
    """Another runner owns the job now; this one stops touching it."""


@dataclass(frozen=True)
class _Allowance:
    """How many more bytes one quota lets an upload take, and the refusal when it takes more."""

    # What the quota leaves, not counting the uploads streaming in on this replica meanwhile...
    base_left: int
    quota: int
    refusal: Callable[[], ImportQuotaExceeded]
    # ...which take their share as they grow (their bytes so far).
    streaming: Callable[[], int]

    @property
    def left(self) -> int:
        return self.base_left - self.streaming()

    def check(self, written: int) -> None:
        if written <= self.left:
            return
        if written > self.quota:
            # Never possible, however long the tenant waits: a 413, like a file over max_bytes.
            raise ResourceExhausted(f"the file is larger than the import quota of {self.quota:,} bytes",
                                    reason="file-too-large")
        raise self.refusal()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class ImportManager:
    """Starts, lists and runs the import jobs of this collector."""

    def __init__(self, store: ImportRepository, spool: Spool, ingest: IngestService, *,
                 config: ImportConfig | None = None, clock: Callable[[], datetime] = utcnow_ms,
                 owner: str | None = None) -> None:
        self._store = store
        self._spool = spool
        self._ingest = ingest
        self._config = config = config or ImportConfig()
        self._clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._slots = asyncio.Semaphore(config.concurrency)
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        # Uploads streaming in on this replica: tenant -> job id -> bytes so far (quotas count them).
        self._uploading: dict[str, dict[str, int]] = {}

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self._spool.prepare)
        self._keeper = asyncio.create_task(self._keep(), name="import-keeper")

    async def stop(self) -> None:
        """Let batches in flight finish (within the grace period), then give the jobs up."""
        self._stopping.set()
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        tasks = list(self._tasks.values())
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=self._config.shutdown_grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def _lease(self) -> datetime:
        return self._clock() + timedelta(seconds=self._config.lease_s)

    # -- API --------------------------------------------------------------------------------------

    async def create(self, tenant_id: str, spec: ImportSpec, chunks: AsyncIterator[bytes]) -> ImportJob:
        """Check the spec, spool the file, store a QUEUED job and hand it to the runner.

        Raises ``InvalidImportSpec`` (before anything is read or stored), ``ImportQuotaExceeded``
        (a tenant quota: before anything is read when already used up, else once the upload passes
        what is left) and ``SpoolFull``.
        """
        try:
            plan = check_spec(tenant_id, spec)
        except ImportSpecError as exc:
            raise InvalidImportSpec(str(exc)) from exc
        job_id = new_job_id()
        # Registered before the checks await anything, so two uploads racing on this replica see
        # each other.
        uploading = self._uploading.setdefault(tenant_id, {})
        uploading[job_id] = 0
        try:
            allowances = await self._allowances(tenant_id, job_id)
            writer = await asyncio.to_thread(self._spool.create, tenant_id, job_id)
            try:
                async for chunk in chunks:
                    if chunk:
                        uploading[job_id] += len(chunk)
                        for allowance in allowances:
                            allowance.check(uploading[job_id])
                        await asyncio.to_thread(writer.write, chunk)
                size, sha256 = await asyncio.to_thread(writer.commit)
                job = ImportJob(id=job_id, tenant_id=tenant_id, spec=spec, format=plan.format,
                                state=ImportState.QUEUED, bytes_total=size, sha256=sha256,
                                created_at=self._clock())
                await self._store.insert(tenant_id, job, owner=self.owner, lease_until=self._lease())
            except BaseException:
                await asyncio.to_thread(writer.abort)
                raise
        finally:
            uploading.pop(job_id, None)
            if not uploading:
                self._uploading.pop(tenant_id, None)
        logger.info("import %s of %s queued: %s, %d bytes", job_id, tenant_id, plan.format, size)
        self._submit(tenant_id, job_id)
        return job

    async def _allowances(self, tenant_id: str, job_id: str) -> list[_Allowance]:
        """The tenant's quotas for one more upload: refused now if one is used up, else what each
        lets the upload take."""
        c = self._config

        def streaming(tenant: str | None) -> int:
            return sum(size for t, jobs in self._uploading.items() if tenant in (None, t)
                       for k, size in jobs.items() if k != job_id)

        if c.max_concurrent_per_tenant:
            busy = await self._store.count_unfinished(tenant_id) + len(self._uploading.get(tenant_id, {})) - 1
            if busy >= c.max_concurrent_per_tenant:
                raise ImportQuotaExceeded(
                    f"{busy} imports of this tenant are uploading, queued or running, the most at once "
                    f"is {c.max_concurrent_per_tenant}; retry when one has finished",
                    reason="import-concurrency", retry_after_s=c.quota_retry_after_s)
        allowances: list[_Allowance] = []
        if c.max_bytes_per_day_per_tenant:
            quota = c.max_bytes_per_day_per_tenant
            window = await self._store.uploads_since(tenant_id, self._clock() - timedelta(days=1))

            def daily() -> ImportQuotaExceeded:
                # Uploads leave the window a day after they were made: the oldest frees first.
                frees = (_aware(window[0][0]) + timedelta(days=1) - self._clock()).total_seconds() \
                    if window else c.quota_retry_after_s
                return ImportQuotaExceeded(
                    f"this tenant's imports of the last 24 hours reached the quota of {quota:,} bytes",
                    reason="import-daily-bytes", retry_after_s=max(1.0, frees))

            allowances.append(_Allowance(quota - sum(b for _, b in window), quota, daily,
                                         lambda: streaming(tenant_id)))
        for quota, used_of, what in (
                (c.max_spool_bytes_per_tenant, tenant_id, "this tenant's imports waiting to be read"),
                (c.max_spool_bytes_total, None, "the imports waiting to be read")):
            if not quota:
                continue
            used = await asyncio.to_thread(self._spool.used_bytes, used_of)

            def spool(quota: int = quota, what: str = what) -> ImportQuotaExceeded:
                return ImportQuotaExceeded(
                    f"{what} take the spool quota of {quota:,} bytes; retry when they have been imported",
                    reason="import-spool-bytes", retry_after_s=c.quota_retry_after_s)

            allowances.append(_Allowance(quota - used, quota, spool, partial(streaming, used_of)))
        for allowance in allowances:
            if allowance.left <= 0:
                raise allowance.refusal()
        return allowances

    async def get(self, tenant_id: str, job_id: str) -> ImportJob | None:
        return await self._store.get(tenant_id, job_id)

    async def list_page(self, tenant_id: str, *, after: tuple[datetime, str] | None,
                        limit: int) -> list[ImportJob]:
        return await self._store.list_page(tenant_id, after=after, limit=limit)

    # -- running ----------------------------------------------------------------------------------

    def _submit(self, tenant_id: str, job_id: str) -> None:
        key = (tenant_id, job_id)
        if key in self._tasks or self._stopping.is_set():
            return
        task = asyncio.create_task(self._run(tenant_id, job_id), name=f"import-{job_id}")
        self._tasks[key] = task
        task.add_done_callback(lambda _t: self._tasks.pop(key, None))

    async def _run(self, tenant_id: str, job_id: str) -> None:
        async with self._slots:
            if self._stopping.is_set():
                await self._store.release(tenant_id, job_id, owner=self.owner)
                return
            now = self._clock()
            job = await self._store.claim(tenant_id, job_id, owner=self.owner, now=now,
                                          lease_until=self._lease())
            if job is None:
                return  # finished meanwhile, or another runner holds it
            try:
                await self._process(job)
            except _LeaseLost:
                logger.warning("import %s: lease lost to another runner; stopping here", job_id)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await self._store.release(tenant_id, job_id, owner=self.owner)
                raise
            except Exception as exc:
                logger.exception("import %s of %s failed unexpectedly", job_id, tenant_id)
                failed = replace(job, state=ImportState.FAILED, finished_at=self._clock(),
                                 message=f"internal error ({type(exc).__name__}); see the collector log")
                with contextlib.suppress(Exception):
                    if await self._store.save(tenant_id, failed, owner=self.owner, lease_until=None):
                        await asyncio.to_thread(self._spool.delete, tenant_id, job_id)

    async def _process(self, job: ImportJob) -> None:
        tenant_id = job.tenant_id
        if not await asyncio.to_thread(self._spool.exists, tenant_id, job.id):
            await self._finish(job, ImportState.FAILED,
                               "the uploaded file is gone from the collector's spool directory (was it "
                               "cleared, or is this another replica's job?); upload the file again")
            return
        plan = check_spec(tenant_id, job.spec)
        source_id = f"import:{job.id}"
        path = self._spool.path(tenant_id, job.id)
        raw: IO[bytes] = await asyncio.to_thread(path.open, "rb")
        try:
            records = iter_records(raw, plan.format, delimiter=plan.delimiter,
                                   start=job.checkpoint if job.checkpoint.offset else None)
            reader = BatchReader(records, plan.options, size=self._config.batch_size)
            if job.checkpoint.offset:
                logger.info("import %s resumes at line %d (byte %d)", job.id, job.checkpoint.line,
                            job.checkpoint.offset)
            while True:
                if self._stopping.is_set():
                    await self._store.release(tenant_id, job.id, owner=self.owner)
                    return
                batch, posts = await asyncio.to_thread(self._read_batch, reader, tenant_id, source_id)
                accepted, rejected, errors = 0, batch.rejected, list(batch.errors)
                if posts:
                    result = await self._ingest_batch(job, posts, source_id)
                    if result is None:
                        return  # stopping while the bus was down: resume from the checkpoint later
                    accepted, ingest_errors, ingest_rejected = result
                    rejected += ingest_rejected
                    errors.extend(RowError(batch.lines[i], f, m) for i, f, m in ingest_errors)
                    errors.sort(key=lambda e: e.line)
                job = job.progressed(rows=batch.rows, accepted=accepted, rejected=rejected, errors=errors,
                                     end=batch.end)
                if batch.fatal is not None:
                    await self._finish(job, ImportState.FAILED, str(batch.fatal))
                    return
                if batch.done:
                    await self._finish(job, ImportState.SUCCEEDED, "")
                    return
                if not await self._store.save(tenant_id, job, owner=self.owner, lease_until=self._lease()):
                    raise _LeaseLost
        finally:
            await asyncio.to_thread(raw.close)

    def _read_batch(self, reader: BatchReader, tenant_id: str,
                    source_id: str) -> tuple[Batch, list[common_pb2.Post]]:
        # Runs in a worker thread: parsing and validation are CPU work that must not stall gRPC.
        batch = reader.next_batch()
        now = self._clock()
        return batch, [post_to_proto(p, tenant_id, now, source_id=source_id) for p in batch.posts]

    async def _ingest_batch(self, job: ImportJob, posts: list[common_pb2.Post], source_id: str
                            ) -> tuple[int, list[tuple[int, str, str]], int] | None:
        """(accepted, errors by batch index, rejected), retrying until the bus confirms the batch;
        None if the collector is stopping first."""
        delay = self._config.retry_base_s
        while True:
            try:
                plan, _new = await self._ingest.ingest(job.tenant_id, posts, source_id=source_id)
            except PublishError as exc:
                logger.warning("import %s: batch not confirmed by the bus (%s); retrying in %.1fs",
                               job.id, exc, delay)
                if not await self._store.renew(job.tenant_id, job.id, owner=self.owner,
                                               lease_until=self._lease()):
                    raise _LeaseLost from None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                if self._stopping.is_set():
                    await self._store.release(job.tenant_id, job.id, owner=self.owner)
                    return None
                delay = min(self._config.retry_max_s, delay * 2)
                continue
            except RequestError as exc:
                # Cannot happen with a checked tenant and batches under the limit; fail loudly.
                raise RuntimeError(f"ingest refused the batch: {exc}") from exc
            return plan.accepted, [(e.index, e.field, e.message) for e in plan.errors], plan.rejected

    async def _finish(self, job: ImportJob, state: ImportState, message: str) -> None:
        done = replace(job, state=state, message=message, finished_at=self._clock(),
                       bytes_processed=job.bytes_total if state is ImportState.SUCCEEDED
                       else job.bytes_processed)
        if not await self._store.save(job.tenant_id, done, owner=self.owner, lease_until=None):
            raise _LeaseLost
        await asyncio.to_thread(self._spool.delete, job.tenant_id, job.id)
        log = logger.info if state is ImportState.SUCCEEDED else logger.warning
        log("import %s of %s %s: %d rows, %d accepted, %d rejected%s", job.id, job.tenant_id, state.value,
            done.rows_read, done.accepted, done.rejected, f" ({message})" if message else "")

    # -- leases and recovery ---------------------------------------------------------------------

    async def _keep(self) -> None:
        """Renew the leases of jobs waiting here; take over jobs whose runner died."""
        interval = max(0.05, self._config.lease_s / 3)
        while True:
            try:
                await self._renew_waiting()
                await self.recover()
            except Exception:
                logger.warning("import recovery pass failed; retrying", exc_info=True)
            await asyncio.sleep(interval)

    async def _renew_waiting(self) -> None:
        for tenant_id, job_id in list(self._tasks):
            await self._store.renew(tenant_id, job_id, owner=self.owner, lease_until=self._lease())

    async def recover(self) -> int:
        """Resume (or fail, when their file is gone) unfinished jobs whose lease has run out."""
        taken = 0
        now = self._clock()
        for tenant_id in await self._store.tenants_with_unfinished():
            for job in await self._store.expired(tenant_id, now=now):
                if (tenant_id, job.id) in self._tasks:
                    continue
                logger.info("import %s of %s: taking over (state %s, line %d)", job.id, tenant_id,
                            job.state.value, job.checkpoint.line)
                self._submit(tenant_id, job.id)
                taken += 1
        return taken
