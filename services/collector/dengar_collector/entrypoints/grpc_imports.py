"""The gRPC ImportService: file uploads streamed in, jobs read back.

Errors are raised as ``DomainError``s (``InvalidImportSpec``, ``SpoolFull``...) for the kit's
interceptor to map. The tenant of an upload travels in its first message, so StartImport checks it.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from grpc import aio

from dengar.v1 import collector_pb2, collector_pb2_grpc
from dengar_collector.domain.import_job import ImportJob, ImportSpec, ImportState, is_job_id
from dengar_collector.service_layer.import_service import ImportManager
from dengar_common.errors import InvalidArgument, NotFound, check_tenant_id

logger = logging.getLogger(__name__)

SERVICE_NAME: str = collector_pb2.DESCRIPTOR.services_by_name["ImportService"].full_name

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

_STATES = {
    ImportState.QUEUED: collector_pb2.IMPORT_STATE_QUEUED,
    ImportState.RUNNING: collector_pb2.IMPORT_STATE_RUNNING,
    ImportState.SUCCEEDED: collector_pb2.IMPORT_STATE_SUCCEEDED,
    ImportState.FAILED: collector_pb2.IMPORT_STATE_FAILED,
}


class _BadStream(InvalidArgument):
    """The request stream does not follow the protocol (spec first, then chunks)."""


def _ts(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def job_to_proto(job: ImportJob) -> collector_pb2.ImportJob:
    msg = collector_pb2.ImportJob(
        id=job.id, tenant_id=job.tenant_id, filename=job.spec.filename, format=job.format,
        # The stubs want the enum's ValueType; the _STATES values are those enum numbers.
        state=_STATES[job.state],  # type: ignore[arg-type]  # enum int for the stub's ValueType
        bytes_total=job.bytes_total, bytes_processed=job.bytes_processed,
        rows_read=job.rows_read, accepted=job.accepted, rejected=job.rejected,
        errors=[collector_pb2.ImportRowError(line=e.line, field=e.field, message=e.message)
                for e in job.errors],
        errors_total=job.errors_total, created_at=_ts(job.created_at), message=job.message,
        sha256=job.sha256)
    if job.started_at is not None:
        msg.started_at.CopyFrom(_ts(job.started_at))
    if job.finished_at is not None:
        msg.finished_at.CopyFrom(_ts(job.finished_at))
    return msg


def _page_token(job: ImportJob) -> str:
    raw = json.dumps([int(job.created_at.timestamp() * 1000), job.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Milliseconds of datetime.min/max in UTC: outside them no datetime exists.
_MIN_MS = -62_135_596_800_000
_MAX_MS = 253_402_300_799_999


def _after(token: str) -> tuple[datetime, str] | None:
    """The position after which a page starts. Anything but a token this service wrote is the
    caller's mistake (INVALID_ARGUMENT), never an internal error: ``[1e400, "x"]`` parses as JSON."""
    if not token:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError, RecursionError):
        decoded = None
    if not (isinstance(decoded, list) and len(decoded) == 2):
        raise InvalidArgument("invalid page_token", field="page_token")
    ms, job_id = decoded
    if (not isinstance(ms, int) or isinstance(ms, bool) or not _MIN_MS <= ms <= _MAX_MS
            or not isinstance(job_id, str) or not is_job_id(job_id)):
        raise InvalidArgument("invalid page_token", field="page_token")
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC), job_id
    except (ValueError, OverflowError, OSError):
        raise InvalidArgument("invalid page_token", field="page_token") from None


class ImportServicer(collector_pb2_grpc.ImportServiceServicer):
    def __init__(self, manager: ImportManager) -> None:
        self._manager = manager

    def register(self, server: aio.Server) -> None:
        collector_pb2_grpc.add_ImportServiceServicer_to_server(self, server)

    async def StartImport(self, request_iterator: AsyncIterator[collector_pb2.StartImportRequest],
                          context: aio.ServicerContext) -> collector_pb2.ImportJob:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("part") != "spec":
            raise _BadStream("the first message of StartImport must carry the spec")
        s = first.spec
        check_tenant_id(s.tenant_id)
        spec = ImportSpec(filename=s.filename, format=s.format, mapping=dict(s.mapping),
                          timestamp_format=s.timestamp_format, timezone=s.timezone,
                          default_platform=s.default_platform, delimiter=s.delimiter)

        async def chunks() -> AsyncIterator[bytes]:
            async for message in request_iterator:
                if message.WhichOneof("part") != "chunk":
                    raise _BadStream("only the first message may carry a spec")
                yield message.chunk

        return job_to_proto(await self._manager.create(s.tenant_id, spec, chunks()))

    async def GetImport(self, request: collector_pb2.GetImportRequest,
                        context: aio.ServicerContext) -> collector_pb2.ImportJob:
        job = await self._manager.get(request.tenant_id, request.id) if is_job_id(request.id) else None
        if job is None:
            raise NotFound(f"import {request.id!r} not found")
        return job_to_proto(job)

    async def ListImports(self, request: collector_pb2.ListImportsRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListImportsResponse:
        if request.page_size < 0:
            raise InvalidArgument("page_size must not be negative", field="page_size")
        size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = _after(request.page_token)
        jobs = await self._manager.list_page(request.tenant_id, after=after, limit=size + 1)
        more = len(jobs) > size
        jobs = jobs[:size]
        return collector_pb2.ListImportsResponse(
            imports=[job_to_proto(j) for j in jobs],
            next_page_token=_page_token(jobs[-1]) if more and jobs else "")

