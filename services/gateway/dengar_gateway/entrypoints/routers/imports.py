"""POST /v1/imports (multipart upload of a CSV, JSON or NDJSON file), GET /v1/imports[/{id}]."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData, UploadFile

from dengar.v1 import collector_pb2
from dengar_common import imports
from dengar_common.imports import ImportSpecError
from dengar_gateway.entrypoints.deps import Deps, IngestPrincipal
from dengar_gateway.entrypoints.problems import (
    Answer,
    ApiProblem,
    RemoteAnswers,
    answering,
    problem_responses,
)
from dengar_gateway.settings import LimitsConfig

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/imports", tags=["imports"])

# What travels to the collector per gRPC message: large enough to keep the stream busy, well under
# the 16 MiB message limit.
CHUNK_BYTES = 256 * 1024
_FIELDS = {"file", "format", "map", "mapping", "timestamp_format", "timezone", "default_platform",
           "delimiter"}
# Form parts other than the file are small; a multipart body's overhead is a few KiB at most.
_FORM_OVERHEAD_BYTES = 1024 * 1024
_STATES: dict[int, Literal["queued", "running", "succeeded", "failed"]] = {
    collector_pb2.IMPORT_STATE_QUEUED: "queued",
    collector_pb2.IMPORT_STATE_RUNNING: "running",
    collector_pb2.IMPORT_STATE_SUCCEEDED: "succeeded",
    collector_pb2.IMPORT_STATE_FAILED: "failed",
}


# The collector's own file-size limit is the client's 413, not an outage; a tenant quota used up
# for now (imports at once, bytes a day, spool bytes) is a 429 with the collector's Retry-After.
_QUOTA = Answer(429, "import-quota", title="Import quota exceeded")
_UPLOAD_ANSWERS: RemoteAnswers = {
    "import-concurrency": _QUOTA, "import-daily-bytes": _QUOTA, "import-spool-bytes": _QUOTA,
    "RESOURCE_EXHAUSTED": Answer(413, default_detail="the file is too large"),
}


def max_request_bytes(limits: LimitsConfig) -> int:
    """The body limit of POST /v1/imports (for the body-limit middleware)."""
    return limits.import_max_bytes + _FORM_OVERHEAD_BYTES


class ImportRowErrorOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: int = Field(description="1-based line of the file where the row starts.")
    field: str
    message: str


class ImportOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    filename: str
    format: str = Field(description="csv, json or ndjson.")
    state: Literal["queued", "running", "succeeded", "failed"] = Field(
        description="`succeeded`: every row was read (some may be rejected, see `errors`); `failed`: the "
                    "file could not be read as a whole (see `message`).")
    progress: float = Field(description="Percentage of the file's bytes processed, 0-100.")
    bytes_total: int
    bytes_processed: int
    rows_read: int
    accepted: int = Field(description="Rows handed to the pipeline (re-imported rows are stored once).")
    rejected: int
    errors: list[ImportRowErrorOut] = Field(description="The first errors (at most 100).")
    errors_total: int
    sha256: str = Field(description="SHA-256 of the file, hex.")
    message: str = Field(description="Why a failed import failed; empty otherwise.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: list[ImportOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


def _time(msg: Any, name: str) -> datetime | None:
    if not msg.HasField(name):
        return None
    ts: Timestamp = getattr(msg, name)
    return ts.ToDatetime(tzinfo=UTC)


def import_out(job: collector_pb2.ImportJob) -> ImportOut:
    progress = 100.0 if job.state == collector_pb2.IMPORT_STATE_SUCCEEDED else (
        round(100.0 * job.bytes_processed / job.bytes_total, 1) if job.bytes_total else 0.0)
    created = _time(job, "created_at")
    assert created is not None
    return ImportOut(
        id=job.id, filename=job.filename, format=job.format, state=_STATES.get(job.state, "queued"),
        progress=progress, bytes_total=job.bytes_total, bytes_processed=job.bytes_processed,
        rows_read=job.rows_read, accepted=job.accepted, rejected=job.rejected,
        errors=[ImportRowErrorOut(line=e.line, field=e.field, message=e.message) for e in job.errors],
        errors_total=job.errors_total, sha256=job.sha256, message=job.message, created_at=created,
        started_at=_time(job, "started_at"), finished_at=_time(job, "finished_at"))


def _form_error(name: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", name), "msg": message, "type": "value_error"}])


def _single(form: FormData, name: str) -> str:
    values = form.getlist(name)
    if len(values) > 1:
        raise _form_error(name, "given more than once")
    if not values:
        return ""
    value = values[0]
    if not isinstance(value, str):
        raise _form_error(name, "must be a plain form field, not a file")
    return value.strip()


def _mapping(form: FormData) -> dict[str, str]:
    """``map`` fields (``field=column``, repeatable, or a JSON object) and/or a ``mapping`` JSON object."""
    out: dict[str, str] = {}
    objects = [("mapping", v) for v in form.getlist("mapping")]
    for value in form.getlist("map"):
        if not isinstance(value, str):
            raise _form_error("map", "must be a plain form field, not a file")
        if value.strip().startswith("{"):
            objects.append(("map", value))
            continue
        for part in value.split(","):
            target, sep, source = part.partition("=")
            if not part.strip():
                continue
            if not sep:
                raise _form_error("map", f"expected field=column, got {part.strip()!r}")
            out[target.strip()] = source.strip()
    for name, value in objects:
        try:
            obj = json.loads(value) if isinstance(value, str) else None
        except ValueError:
            obj = None
        if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
            raise _form_error(name, "must be a JSON object of field -> column names")
        out.update({str(k): v for k, v in obj.items()})
    return out


def _spec(form: FormData, tenant_id: str, filename: str) -> collector_pb2.ImportSpec:
    """The collector's spec from the form, checked here so that mistakes are 422s on their field."""
    unknown = sorted(set(form.keys()) - _FIELDS)
    if unknown:
        raise RequestValidationError([{"loc": ("body", k), "msg": "unknown form field",
                                       "type": "extra_forbidden"} for k in unknown])
    spec = collector_pb2.ImportSpec(
        tenant_id=tenant_id, filename=filename, format=_single(form, "format"), mapping=_mapping(form),
        timestamp_format=_single(form, "timestamp_format"), timezone=_single(form, "timezone"),
        default_platform=_single(form, "default_platform"), delimiter=_single(form, "delimiter"))
    checks: list[tuple[str, Any]] = [
        ("format", lambda: imports.detect_format(spec.filename, spec.format or None)),
        ("map", lambda: imports.parse_mapping(dict(spec.mapping))),
        ("timestamp_format", lambda: imports.check_timestamp_format(spec.timestamp_format)),
        ("timezone", lambda: imports.resolve_timezone(spec.timezone)),
        ("default_platform", lambda: imports.row_options(default_platform=spec.default_platform)),
        ("delimiter", lambda: imports.check_delimiter(spec.delimiter)),
    ]
    for name, check in checks:
        try:
            check()
        except ImportSpecError as exc:
            raise _form_error(name, str(exc)) from None
    return spec


async def _requests(spec: collector_pb2.ImportSpec, upload: UploadFile
                    ) -> AsyncIterator[collector_pb2.StartImportRequest]:
    yield collector_pb2.StartImportRequest(spec=spec)
    while chunk := await upload.read(CHUNK_BYTES):
        yield collector_pb2.StartImportRequest(chunk=chunk)


_FORM_SCHEMA = {
    "type": "object", "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "The CSV, JSON or NDJSON file."},
        "format": {"type": "string", "enum": ["csv", "json", "ndjson"],
                   "description": "Default: from the file name's extension."},
        "map": {"type": "array", "items": {"type": "string"},
                "description": "Mapping of post fields to columns or JSON keys: repeated `field=column` "
                               "(e.g. `text=body`, `created_at=date`, `author.handle=user`) or one JSON "
                               "object. Unmapped fields are looked up under their own name."},
        "timestamp_format": {"type": "string",
                             "description": "`iso8601` (default), `epoch_s`, `epoch_ms` or a strptime "
                                            "pattern such as `%d/%m/%Y %H:%M`."},
        "timezone": {"type": "string", "description": "IANA zone of timestamps without an offset; UTC."},
        "default_platform": {"type": "string", "description": "Platform of rows that have none."},
        "delimiter": {"type": "string", "description": "CSV delimiter (`,` by default; `tab`)."},
    },
}


@router.post(
    "", status_code=202, response_model=ImportOut, summary="Import a file of posts",
    description=(
        "Uploads a CSV, JSON (an array of posts, or an object with a `posts` array) or NDJSON file as "
        "`multipart/form-data`, and answers 202 with the queued job (`Location` points to it) once "
        "the whole file is stored. The file is then read in the background: follow `GET "
        "/v1/imports/{id}` for progress and per-row errors with line numbers. Rows are validated like "
        "`POST /v1/posts` items; rows without `external_id` get one from a hash of their content, so "
        "importing the same file again adds nothing. Requires the `ingest` scope. Per-tenant quotas "
        "(`DENGAR_COLLECTOR__IMPORTS__*`): imports at once, bytes uploaded in 24 hours and bytes "
        "waiting in the spool; one used up is a 429 (`reason` `import-concurrency`, `import-daily-bytes` "
        "or `import-spool-bytes`) with Retry-After, a file larger than a whole quota a 413."),
    responses=problem_responses(400, 401, 403, 413, 415, 422, 429, 502, 503),
    openapi_extra={"requestBody": {"required": True,
                                   "content": {"multipart/form-data": {"schema": _FORM_SCHEMA}}}},
)
async def start_import(request: Request, deps: Deps, principal: IngestPrincipal) -> Response:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        raise ApiProblem(415, "send the file as multipart/form-data with a 'file' part")
    # Before anything is read: each upload in flight takes room in the gateway's temporary directory.
    slot = deps.uploads.acquire(principal.tenant_id)
    if slot is None:
        raise ApiProblem(429, f"this tenant already has {deps.uploads.max_per_tenant} uploads in flight "
                              "here; retry when one has finished", slug="import-quota",
                         title="Import quota exceeded", headers={"Retry-After": "30"},
                         reason="import-concurrency")
    try:
        # Starlette spools the file part to a temporary file, so the upload never sits in memory.
        async with request.form(max_files=1, max_fields=64) as form:
            uploads = form.getlist("file")
            if len(uploads) != 1 or not isinstance(uploads[0], UploadFile):
                raise _form_error("file", "exactly one file part named 'file' is required")
            upload = uploads[0]
            spec = _spec(form, principal.tenant_id, (upload.filename or "").rsplit("/", 1)[-1][:255])
            with answering(_UPLOAD_ANSWERS):
                job = await deps.backends.call(deps.backends.imports.StartImport, _requests(spec, upload),
                                               timeout_s=deps.config.limits.import_timeout_s)
    finally:
        slot.release()
    out = import_out(job)
    return Response(out.model_dump_json(), status_code=202, media_type="application/json",
                    headers={"Location": f"/v1/imports/{out.id}"})


@router.get("/{import_id}", response_model=ImportOut, summary="An import job",
            description="State, progress, counts and the first errors (with line numbers) of an import. "
                        "Requires the `ingest` scope.",
            responses=problem_responses(401, 403, 404, 429, 502, 503))
async def get_import(deps: Deps, principal: IngestPrincipal,
                     import_id: Annotated[str, Path(max_length=64)]) -> ImportOut:
    job = await deps.backends.call(deps.backends.imports.GetImport, collector_pb2.GetImportRequest(
        tenant_id=principal.tenant_id, id=import_id))
    return import_out(job)


@router.get("", response_model=ImportPage, summary="Import jobs",
            description="The tenant's imports, newest first. Follow `next_cursor` until it is null. "
                        "Requires the `ingest` scope.",
            responses=problem_responses(400, 401, 403, 422, 429, 502, 503))
async def list_imports(
    deps: Deps, principal: IngestPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page")]
    = None,
) -> ImportPage:
    resp = await deps.backends.call(deps.backends.imports.ListImports, collector_pb2.ListImportsRequest(
        tenant_id=principal.tenant_id, page_size=limit, page_token=cursor or ""))
    return ImportPage(data=[import_out(j) for j in resp.imports], next_cursor=resp.next_page_token or None)
