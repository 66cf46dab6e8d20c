"""Backfill jobs: re-tagging a tenant's stored mentions after a tagging rule changed. Pure.

A *target* is one rule that tags mentions: a listening query (kind ``query``, the mention field
``query_ids``) or a tenant category (kind ``category``, ``category_ids``). There is one job per
(tenant, kind, target id); it applies one *version* of the target. A newer version restarts the job
from scratch; an older or repeated version changes nothing (events arrive at least once and in any
order).

A job is ``pending`` until a runner claims it, ``running`` while it scans (with a lease, so a dead
runner's job is taken over), then ``done`` or ``failed``. It scans the tenant's mentions in
(created_at, _id) order and checkpoints its cursor and counters after each batch, so a restarted
runner goes on from the last checkpoint. ``since`` is fixed when the job first starts: mentions
created from then on are covered; None means every mention that carries the tag (a target that
now tags nothing: deleted or disabled, so its tag is removed wherever it is).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
State = Literal["pending", "running", "done", "failed"]
STATES: tuple[str, ...] = (PENDING, RUNNING, DONE, FAILED)

KIND_QUERY = "query"
KIND_CATEGORY = "category"
# Kind -> the mention field holding the ids of that kind's targets.
TAG_FIELDS: dict[str, str] = {KIND_QUERY: "query_ids", KIND_CATEGORY: "category_ids"}


def tag_field(kind: str) -> str:
    """The mention field a kind tags; ValueError for an unknown kind."""
    try:
        return TAG_FIELDS[kind]
    except KeyError:
        raise ValueError(f"unknown backfill kind {kind!r}; expected one of {sorted(TAG_FIELDS)}") from None


def job_id(tenant_id: str, kind: str, target_id: str) -> str:
    return f"{tenant_id}|{kind}|{target_id}"


@dataclass(frozen=True)
class Cursor:
    """The last mention a checkpoint covered, in scan order."""

    created_at: datetime
    id: str


@dataclass(frozen=True)
class BackfillJob:
    tenant_id: str
    kind: str
    target_id: str
    target_version: int
    # What the kind's target loader needs to build the matcher (a query: expression, enabled,
    # deleted), as the event carried it.
    spec: Mapping[str, Any] = field(default_factory=dict)
    state: str = PENDING
    since: datetime | None = None
    cursor: Cursor | None = None
    scanned: int = 0
    total: int = 0
    matched: int = 0
    changed: int = 0
    scheduled_at: datetime | None = None
    # When the target's owner stored this version (its clock): items tagged before then may carry
    # the older version's tags (see service_layer/backfill.IncomingTags).
    changed_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str = ""
    # Consecutive failed batches; reset by every checkpoint.
    attempts: int = 0

    @property
    def id(self) -> str:
        return job_id(self.tenant_id, self.kind, self.target_id)

    @property
    def active(self) -> bool:
        return self.state in (PENDING, RUNNING)


def supersedes(version: int, existing: BackfillJob | None) -> bool:
    """Whether an event for ``version`` (re)starts the job: only a newer version does."""
    return existing is None or version > existing.target_version


def scheduled(tenant_id: str, kind: str, target_id: str, version: int, spec: Mapping[str, Any],
              now: datetime, changed_at: datetime | None = None) -> BackfillJob:
    """A fresh job for ``version`` (replacing whatever an older version left)."""
    tag_field(kind)
    if version < 1:
        raise ValueError("a backfill needs a target version >= 1")
    return BackfillJob(tenant_id=tenant_id, kind=kind, target_id=target_id, target_version=version,
                       spec=dict(spec), scheduled_at=now, changed_at=changed_at or now)


def window_since(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def started(job: BackfillJob, *, now: datetime, since: datetime | None, total: int) -> BackfillJob:
    """The first start of a job fixes its window; a resumption keeps it."""
    if job.started_at is not None:
        return replace(job, state=RUNNING)
    return replace(job, state=RUNNING, started_at=now, since=since, total=total)


def advanced(job: BackfillJob, cursor: Cursor, *, scanned: int, matched: int, changed: int) -> BackfillJob:
    """After one batch: the checkpoint a restart resumes from."""
    return replace(job, cursor=cursor, scanned=job.scanned + scanned, matched=job.matched + matched,
                   changed=job.changed + changed, total=max(job.total, job.scanned + scanned),
                   attempts=0)


def finished(job: BackfillJob, now: datetime) -> BackfillJob:
    return replace(job, state=DONE, finished_at=now, total=job.scanned)


def failed(job: BackfillJob, now: datetime, error: str) -> BackfillJob:
    return replace(job, state=FAILED, finished_at=now, error=error[:500])


def retried(job: BackfillJob, error: str, max_attempts: int, now: datetime) -> BackfillJob:
    """After a failed batch: try again from the checkpoint, or give up after ``max_attempts``."""
    attempts = job.attempts + 1
    if attempts >= max_attempts:
        return failed(replace(job, attempts=attempts), now, error)
    return replace(job, attempts=attempts, error=error[:500])


def desired_tags(current: list[str], target_id: str, wanted: bool) -> list[str] | None:
    """The tag list with ``target_id`` present iff ``wanted``; None when it already is so."""
    if (target_id in current) == wanted:
        return None
    if wanted:
        return [*current, target_id]
    return [t for t in current if t != target_id]
