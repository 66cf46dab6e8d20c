"""Use cases: schedule and run backfills, which re-tag a tenant's stored mentions when a tagging
rule (a listening query or a tenant category) changes. See domain/backfill.py for the job's life.

Mentions that reach the store after the backfill passed them, but were tagged before the change
(a post collected just before it, still on its way through the NLP stage or an import's backlog),
are fixed on the way in: ``IncomingTags`` re-checks an incoming mention against every target that
changed after the mention was collected (with a slack for the collector replicas' tag caches), and
the runner starts a job only ``start_delay_s`` after it was scheduled, so that ingest batches that
looked at the targets before the change have been written by then.

Exactness: every re-tag goes through ``MentionIngestor.retag`` (the exactly-once ingest protocol),
so each mention's rollup contribution moves once per real change. A batch that is repeated after a
crash or a takeover finds the tags it already changed as wanted and changes nothing again.

Plugging in a kind: add its mention field to ``domain.backfill.TAG_FIELDS``, implement a
``TargetLoader`` (the matcher of one target version), pass it to the runner under the kind, and
call ``schedule_backfill`` when a target changes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from dengar_common.errors import InvalidArgument, NotFound
from dengar_common.ids import is_valid_tenant_id
from dengar_common.query import QuerySyntaxError, compile_query
from dengar_insights.domain.backfill import (
    KIND_CATEGORY,
    KIND_QUERY,
    TAG_FIELDS,
    BackfillJob,
    Cursor,
    advanced,
    desired_tags,
    failed,
    finished,
    retried,
    scheduled,
    started,
    supersedes,
    tag_field,
    window_since,
)
from dengar_insights.domain.categories import build_set
from dengar_insights.domain.mention import PreparedMention, match_doc_of, stored_contribution
from dengar_insights.service_layer.ingest import MentionIngestor
from dengar_insights.service_layer.ports import BackfillRepository, CategoryRepository, MentionRepository

logger = logging.getLogger(__name__)

Matcher = Callable[[Mapping[str, Any]], bool]
MAX_LIST_TARGETS = 500


class BackfillTargetError(ValueError):
    """The target version can never be applied (e.g. an expression that does not compile)."""


class TargetLoader(Protocol):
    """Builds the matcher of one target version of a kind."""

    async def matcher(self, job: BackfillJob) -> Matcher | None:
        """``(stored mention) -> should it carry the tag``; None when the target tags nothing
        (deleted, disabled), so that the tag is removed everywhere. Raises BackfillTargetError."""
        ...


class QueryTargets:
    """Kind ``query``: the expression, ``enabled`` and ``deleted`` come with the job (the event)."""

    async def matcher(self, job: BackfillJob) -> Matcher | None:
        spec = job.spec
        if spec.get("deleted") or not spec.get("enabled"):
            return None
        try:
            query = compile_query(str(spec.get("expression", "")))
        except QuerySyntaxError as exc:
            raise BackfillTargetError(f"the expression does not compile: {exc.problem}") from exc

        def matches(doc: Mapping[str, Any]) -> bool:
            return query.matches(match_doc_of(doc))

        return matches


class CategoryTargets:
    """Kind ``category``: the category as stored now (the job of its latest version is the only one
    that runs to the end; an older one is restarted when the newer version is scheduled)."""

    def __init__(self, categories: CategoryRepository) -> None:
        self._categories = categories

    async def matcher(self, job: BackfillJob) -> Matcher | None:
        if job.spec.get("deleted"):
            return None
        category = await self._categories.get(job.tenant_id, job.target_id)
        if category is None:
            return None
        one = build_set([category])

        def matches(doc: Mapping[str, Any]) -> bool:
            return bool(one.match_document(doc))

        return matches


class Backfills:
    """Schedules backfills for use cases that change a target (categories) and wakes the runner."""

    def __init__(self, jobs: BackfillRepository, wake: Callable[[], None] = lambda: None) -> None:
        self._jobs = jobs
        self._wake = wake

    async def schedule(self, *, tenant_id: str, kind: str, target_id: str, version: int,
                       spec: Mapping[str, Any], changed_at: datetime) -> None:
        if await schedule_backfill(self._jobs, tenant_id=tenant_id, kind=kind, target_id=target_id,
                                   version=version, spec=spec, changed_at=changed_at):
            self._wake()


def loaders(categories: CategoryRepository) -> dict[str, TargetLoader]:
    """The target loader of every kind."""
    return {KIND_QUERY: QueryTargets(), KIND_CATEGORY: CategoryTargets(categories)}


def query_spec(*, expression: str, enabled: bool, deleted: bool) -> dict[str, Any]:
    return {"expression": expression, "enabled": enabled, "deleted": deleted}


class BackfillConfig(BaseModel):
    """``DENGAR_INSIGHTS__BACKFILL__*``."""

    model_config = ConfigDict(frozen=True)

    # Mentions created this many days before a target changed are re-tagged (removing the tag of a
    # deleted or disabled target covers every mention).
    days: int = Field(default=30, ge=1, le=3650)
    # Mentions per batch; progress is saved after each.
    batch_size: int = Field(default=200, ge=1, le=5000)
    # A runner holds a job this long past its last checkpoint; a dead runner's job is taken over
    # after it. Longer than a batch takes.
    lease_s: float = Field(default=60.0, gt=0, le=3600)
    # How often an idle runner looks for jobs (scheduled by other replicas, or left by dead ones).
    poll_s: float = Field(default=2.0, gt=0, le=600)
    # Failed batches in a row before the job is marked failed.
    max_attempts: int = Field(default=5, ge=1, le=100)
    # Re-tags in flight within a batch.
    concurrency: int = Field(default=16, ge=1, le=256)
    # A job starts this long after it was scheduled: ingest batches that read the targets before
    # the change finish writing first (see IncomingTags).
    start_delay_s: float = Field(default=2.0, ge=0, le=600)
    # Incoming mentions collected up to this long after a target changed are re-checked against it
    # (collector replicas tag with a cached query set for a few seconds; clocks differ a little).
    incoming_slack_s: float = Field(default=60.0, ge=0, le=3600)


async def schedule_backfill(jobs: BackfillRepository, *, tenant_id: str, kind: str, target_id: str,
                            version: int, spec: Mapping[str, Any], changed_at: datetime | None = None,
                            now: datetime | None = None) -> bool:
    """(Re)start the backfill of ``target_id`` at ``version``; False when that version or a newer
    one was already scheduled (a repeated or late event)."""
    if not is_valid_tenant_id(tenant_id):
        raise InvalidArgument(f"invalid tenant_id {tenant_id!r}", field="tenant_id")
    if not target_id:
        raise InvalidArgument("target_id is required", field="target_id")
    job = scheduled(tenant_id, kind, target_id, version, spec, now or datetime.now(UTC), changed_at)
    if not supersedes(version, await jobs.get(tenant_id, kind, target_id)):
        return False
    stored = await jobs.schedule(job)
    if stored:
        logger.info("tenant %s: backfill of %s %s version %d scheduled", tenant_id, kind, target_id, version)
    return stored


def _check_kind(kind: str) -> None:
    if kind not in TAG_FIELDS:
        raise InvalidArgument(f"kind must be one of {', '.join(sorted(TAG_FIELDS))}", field="kind")


async def get_backfill(jobs: BackfillRepository, tenant_id: str, kind: str, target_id: str) -> BackfillJob:
    _check_kind(kind)
    if not target_id:
        raise InvalidArgument("target_id is required", field="target_id")
    job = await jobs.get(tenant_id, kind, target_id)
    if job is None:
        raise NotFound(f"no backfill of {kind} {target_id}")
    return job


async def list_backfills(jobs: BackfillRepository, tenant_id: str, kind: str,
                         target_ids: Sequence[str]) -> list[BackfillJob]:
    _check_kind(kind)
    if len(target_ids) > MAX_LIST_TARGETS:
        raise InvalidArgument(f"at most {MAX_LIST_TARGETS} target_ids", field="target_ids")
    ids = list(dict.fromkeys(t for t in target_ids if t))
    return await jobs.get_many(tenant_id, kind, ids) if ids else []


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BackfillRunner:
    """Claims jobs and runs them batch by batch; one job at a time per runner. A worker
    (``run``/``stop``); ``wake`` after scheduling makes it look at once."""

    def __init__(self, jobs: BackfillRepository, mentions: MentionRepository, ingestor: MentionIngestor,
                 loaders: Mapping[str, TargetLoader], config: BackfillConfig | None = None, *,
                 owner: str | None = None, clock: Callable[[], datetime] = _utcnow) -> None:
        self._jobs = jobs
        self._mentions = mentions
        self._ingestor = ingestor
        self._loaders = dict(loaders)
        self._cfg = config or BackfillConfig()
        self.owner = owner or uuid.uuid4().hex
        self._clock = clock
        self._wake = asyncio.Event()
        self._stopping = False
        self.batches = 0

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        logger.info("backfill runner %s started", self.owner)
        while not self._stopping:
            self._wake.clear()
            try:
                busy = await self.run_once()
            except Exception:
                logger.warning("backfill runner: looking for jobs failed", exc_info=True)
                busy = False
            if busy or self._stopping:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._cfg.poll_s)
            except TimeoutError:
                pass

    def _lease(self) -> datetime:
        return self._clock() + timedelta(seconds=self._cfg.lease_s)

    async def run_once(self) -> bool:
        """Claim one job and run it until done, failed, superseded or stopped; False when none."""
        now = self._clock()
        job = await self._jobs.claim(self.owner, now, self._lease(),
                                     now - timedelta(seconds=self._cfg.start_delay_s))
        if job is None:
            return False
        try:
            await self._run(job)
        finally:
            # Whatever happened, the next runner need not wait for the lease to expire (a kill
            # skips this; then the lease does).
            await asyncio.shield(self._jobs.release(job.tenant_id, job.kind, job.target_id, self.owner))
        return True

    async def _run(self, job: BackfillJob) -> None:
        loader = self._loaders.get(job.kind)
        try:
            field = tag_field(job.kind)
            if loader is None:
                raise BackfillTargetError(f"no loader for kind {job.kind!r}")
            matcher = await loader.matcher(job)
        except (BackfillTargetError, ValueError) as exc:
            await self._jobs.save(failed(job, self._clock(), str(exc)), self.owner, None)
            logger.error("tenant %s: backfill of %s %s failed: %s", job.tenant_id, job.kind, job.target_id,
                         exc)
            return
        # A target that tags nothing has its tag removed wherever it is, older mentions included.
        tagged = None if matcher is not None else (field, job.target_id)
        if job.started_at is None:
            now = self._clock()
            since = window_since(now, self._cfg.days) if matcher is not None else None
            total = await self._mentions.count(job.tenant_id, since=since, tagged=tagged)
            job = started(job, now=now, since=since, total=total)
        else:
            job = started(job, now=self._clock(), since=job.since, total=job.total)
        if not await self._jobs.save(job, self.owner, self._lease()):
            return
        logger.info("tenant %s: backfill of %s %s v%d %s (~%d mentions)", job.tenant_id, job.kind,
                    job.target_id, job.target_version, "resumed" if job.cursor else "started", job.total)
        match: Matcher = matcher if matcher is not None else (lambda _doc: False)
        while not self._stopping:
            try:
                after = (job.cursor.created_at, job.cursor.id) if job.cursor else None
                docs = await self._mentions.scan(job.tenant_id, since=job.since, tagged=tagged, after=after,
                                                 limit=self._cfg.batch_size)
                if not docs:
                    job = finished(job, self._clock())
                    if await self._jobs.save(job, self.owner, None):
                        logger.info("tenant %s: backfill of %s %s v%d done: %d scanned, %d matched, "
                                    "%d changed", job.tenant_id, job.kind, job.target_id,
                                    job.target_version, job.scanned, job.matched, job.changed)
                    return
                matched, changed = await self._batch(job, field, docs, match)
            except Exception as exc:
                logger.warning("tenant %s: backfill batch of %s %s failed: %s", job.tenant_id, job.kind,
                               job.target_id, exc)
                job = retried(job, f"{type(exc).__name__}: {exc}", self._cfg.max_attempts, self._clock())
                if job.active and await self._jobs.save(job, self.owner, self._lease()):
                    # Back off before the next try from the checkpoint (store restarts take seconds).
                    await self._pause(min(30.0, 0.5 * 2 ** job.attempts))
                else:
                    await self._jobs.save(job, self.owner, None)
                return
            last = docs[-1]
            job = advanced(job, Cursor(last["created_at"], last["_id"]), scanned=len(docs), matched=matched,
                           changed=changed)
            self.batches += 1
            if not await self._jobs.save(job, self.owner, self._lease()):
                logger.info("tenant %s: backfill of %s %s v%d superseded or taken over", job.tenant_id,
                            job.kind, job.target_id, job.target_version)
                return

    async def _batch(self, job: BackfillJob, field: str, docs: Sequence[Mapping[str, Any]],
                     match: Matcher) -> tuple[int, int]:
        gate = asyncio.Semaphore(self._cfg.concurrency)

        async def one(doc: Mapping[str, Any]) -> tuple[bool, bool]:
            async with gate:
                return await self._ingestor.retag(job.tenant_id, doc, field, job.target_id, match)

        # Every re-tag runs to its end before a failure is reported, so none is left in flight.
        results = await asyncio.gather(*(one(d) for d in docs), return_exceptions=True)
        for res in results:
            if isinstance(res, BaseException):
                raise res
        done = [r for r in results if not isinstance(r, BaseException)]
        return sum(r[0] for r in done), sum(r[1] for r in done)

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            pass


class IncomingTags:
    """Fixes the tags of incoming mentions that were tagged before a target changed.

    The collector tags a post when it collects it; a post collected before a query changed but
    stored after the backfill went past it would otherwise keep the older version's tag. Each
    batch reads the tenant's recently changed targets (one indexed read per tenant) and re-checks
    the mentions collected before (or just after) each change, recomputing their contribution.
    """

    def __init__(self, jobs: BackfillRepository, loaders: Mapping[str, TargetLoader],
                 config: BackfillConfig | None = None, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self._jobs = jobs
        self._loaders = dict(loaders)
        self._cfg = config or BackfillConfig()
        self._clock = clock
        # (job id, version) -> matcher; a target version never changes.
        self._matchers: dict[tuple[str, int], Matcher | None] = {}
        self.adjusted = 0

    async def _matcher(self, job: BackfillJob) -> Matcher | None:
        key = (job.id, job.target_version)
        if key not in self._matchers:
            if len(self._matchers) > 10_000:
                self._matchers.clear()
            self._matchers[key] = await self._loaders[job.kind].matcher(job)
        return self._matchers[key]

    async def adjust(self, items: Sequence[tuple[PreparedMention, str]]
                     ) -> list[tuple[PreparedMention, str]]:
        """``items`` with tags fixed where a later target version decides otherwise."""
        out = list(items)
        since = self._clock() - timedelta(days=self._cfg.days)
        slack = timedelta(seconds=self._cfg.incoming_slack_s)
        for tenant in dict.fromkeys(m.tenant_id for m, _ in items):
            for job in await self._jobs.recent(tenant, sorted(self._loaders), since):
                changed_at = job.changed_at or job.scheduled_at
                if changed_at is None:
                    continue
                try:
                    matcher = await self._matcher(job)
                except BackfillTargetError:
                    continue
                field = tag_field(job.kind)
                todo = [i for i, (m, _) in enumerate(out)
                        if m.tenant_id == tenant and m.collected_at < changed_at + slack]
                if not todo:
                    continue
                # Matching is CPU-bound (bounded per post by its budget): off the event loop.
                wants = ([False] * len(todo) if matcher is None else
                         await asyncio.to_thread(_match_all, matcher, [out[i][0].fields for i in todo]))
                for i, wanted in zip(todo, wants, strict=True):
                    m, trace_id = out[i]
                    tags = desired_tags(list(m.fields.get(field) or ()), job.target_id, wanted)
                    if tags is not None:
                        fields = {**m.fields, field: tags}
                        out[i] = (replace(m, fields=fields, contribution=stored_contribution(fields)),
                                  trace_id)
                        self.adjusted += 1
        return out


def _match_all(matcher: Matcher, docs: Sequence[Mapping[str, Any]]) -> list[bool]:
    return [matcher(doc) for doc in docs]


# Listening queries only (tests and tools that have no categories store).
DEFAULT_LOADERS: Mapping[str, TargetLoader] = {KIND_QUERY: QueryTargets()}
