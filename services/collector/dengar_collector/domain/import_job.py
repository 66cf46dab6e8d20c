"""File import jobs: what a job is, how its spec is checked, and how its progress adds up. Pure.

A job is created QUEUED once its file is spooled, goes RUNNING when the runner takes it, and ends
SUCCEEDED (every row read; some may have been rejected) or FAILED (the file could not be read as a
whole). ``checkpoint`` is where the last fully published batch ended: a job resumed after a restart
starts reading there, so no row is lost and none is counted twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from dengar_common import imports
from dengar_common.errors import InvalidArgument, ResourceExhausted, tenant_id_problem
from dengar_common.imports import ImportSpecError, Position, RowError, RowOptions

# Jobs show the first errors; errors_total counts them all.
MAX_SHOWN_ERRORS = 100
MAX_FILENAME_CHARS = 255
_JOB_ID = re.compile(r"^imp_[0-9a-f]{16}$")


class ImportState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


UNFINISHED = (ImportState.QUEUED, ImportState.RUNNING)


def is_job_id(value: str) -> bool:
    return bool(_JOB_ID.match(value))


@dataclass(frozen=True)
class ImportSpec:
    """What the uploader asked for, as given (checked by :func:`check_spec`)."""

    filename: str = ""
    format: str = ""
    mapping: Mapping[str, str] = field(default_factory=dict)
    timestamp_format: str = ""
    timezone: str = ""
    default_platform: str = ""
    delimiter: str = ""


@dataclass(frozen=True)
class ParsePlan:
    """A checked spec: how to read the file and turn its rows into posts."""

    format: str
    delimiter: str
    options: RowOptions


def check_spec(tenant_id: str, spec: ImportSpec) -> ParsePlan:
    """Raise ``ImportSpecError`` naming the first problem; nothing may be stored before this passes."""
    problem = tenant_id_problem(tenant_id)
    if problem:
        raise ImportSpecError(problem)
    if len(spec.filename) > MAX_FILENAME_CHARS:
        raise ImportSpecError(f"filename longer than {MAX_FILENAME_CHARS} characters")
    if spec.format:
        fmt = imports.normalise_format(spec.format)
    elif spec.filename:
        fmt = imports.detect_format(spec.filename)
    else:
        raise ImportSpecError("no format and no filename to tell it from; say csv, json or ndjson")
    options = imports.row_options(mapping=spec.mapping, timestamp_format=spec.timestamp_format,
                                  timezone=spec.timezone, default_platform=spec.default_platform)
    delimiter = imports.check_delimiter(spec.delimiter)
    return ParsePlan(format=fmt, delimiter=delimiter, options=options)


@dataclass(frozen=True)
class ImportJob:
    id: str
    tenant_id: str
    spec: ImportSpec
    format: str
    state: ImportState
    bytes_total: int
    sha256: str
    created_at: datetime
    bytes_processed: int = 0
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: tuple[RowError, ...] = ()
    errors_total: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    message: str = ""
    checkpoint: Position = field(default_factory=Position)

    @property
    def finished(self) -> bool:
        return self.state not in UNFINISHED

    def progressed(self, *, rows: int, accepted: int, rejected: int, errors: Sequence[RowError],
                   end: Position | None) -> ImportJob:
        """This job after one more batch (``end``: where the batch ended, None if it read nothing)."""
        room = MAX_SHOWN_ERRORS - len(self.errors)
        shown = self.errors + tuple(errors[:room]) if room > 0 else self.errors
        checkpoint = end or self.checkpoint
        return replace(self, rows_read=self.rows_read + rows, accepted=self.accepted + accepted,
                       rejected=self.rejected + rejected, errors=shown,
                       errors_total=self.errors_total + len(errors), checkpoint=checkpoint,
                       bytes_processed=min(self.bytes_total, checkpoint.offset))


class InvalidImportSpec(InvalidArgument, ImportSpecError):
    """An ``ImportSpecError`` as the collector reports it to a caller (INVALID_ARGUMENT)."""


class SpoolFull(ResourceExhausted):
    """The upload is larger than the configured maximum."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the file is larger than the maximum of {max_bytes:,} bytes",
                         reason="file-too-large")
        self.max_bytes = max_bytes


class ImportQuotaExceeded(ResourceExhausted):
    """A tenant's import quota is used up for now (429 with Retry-After): ``reason`` says which one,
    ``import-concurrency``, ``import-daily-bytes`` or ``import-spool-bytes``."""


class ImportRepository(Protocol):
    """The job store (adapters.import_store.MongoImportStore)."""

    async def insert(self, tenant_id: str, job: ImportJob, *, owner: str, lease_until: datetime) -> None: ...
    async def get(self, tenant_id: str, job_id: str) -> ImportJob | None: ...
    async def list_page(self, tenant_id: str, *, after: tuple[datetime, str] | None,
                        limit: int) -> list[ImportJob]: ...
    async def claim(self, tenant_id: str, job_id: str, *, owner: str, now: datetime,
                    lease_until: datetime) -> ImportJob | None: ...
    async def save(self, tenant_id: str, job: ImportJob, *, owner: str,
                   lease_until: datetime | None) -> bool: ...
    async def renew(self, tenant_id: str, job_id: str, *, owner: str, lease_until: datetime) -> bool: ...
    async def release(self, tenant_id: str, job_id: str, *, owner: str) -> None: ...
    async def tenants_with_unfinished(self) -> list[str]: ...
    async def count_unfinished(self, tenant_id: str) -> int: ...
    async def uploads_since(self, tenant_id: str, since: datetime) -> list[tuple[datetime, int]]:
        """``(created_at, bytes_total)`` of the tenant's jobs created at or after ``since``, oldest first."""
        ...
    async def expired(self, tenant_id: str, *, now: datetime, limit: int = 100) -> list[ImportJob]: ...


class SpoolWriter(Protocol):
    size: int

    def write(self, chunk: bytes) -> None: ...
    def commit(self) -> tuple[int, str]: ...
    def abort(self) -> None: ...


class Spool(Protocol):
    """Where uploads wait to be read (adapters.import_spool.ImportSpool); blocking calls."""

    def prepare(self) -> None: ...
    def path(self, tenant_id: str, job_id: str) -> Path: ...
    def create(self, tenant_id: str, job_id: str) -> SpoolWriter: ...
    def exists(self, tenant_id: str, job_id: str) -> bool: ...
    def delete(self, tenant_id: str, job_id: str) -> None: ...
    def used_bytes(self, tenant_id: str | None = None) -> int:
        """Bytes of the complete files in the spool (of one tenant, or of all)."""
        ...
