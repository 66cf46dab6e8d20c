"""The gRPC ImportService: file uploads streamed in, jobs read back."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import NoReturn

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc import aio

from dengar.v1 import collector_pb2, collector_pb2_grpc
from dengar_collector.domain.import_job import ImportJob, ImportSpec, ImportState, SpoolFull, is_job_id
from dengar_collector.domain.ingest import tenant_id_problem
from dengar_collector.service_layer.import_service import ImportManager
from dengar_common.imports import ImportSpecError

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


class _BadStream(Exception):
    """The request stream does not follow the protocol (spec first, then chunks)."""


def _ts(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def job_to_proto(job: ImportJob) -> collector_pb2.ImportJob:
    msg = collector_pb2.ImportJob(
        id=job.id, tenant_id=job.tenant_id, filename=job.spec.filename, format=job.format,
        state=_STATES[job.state], bytes_total=job.bytes_total, bytes_processed=job.bytes_processed,  # type: ignore[arg-type]
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


def _after(token: str) -> tuple[datetime, str] | None:
    if not token:
        return None
    try:
        ms, job_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return datetime.fromtimestamp(int(ms) / 1000, tz=UTC), str(job_id)
    except (ValueError, TypeError):
        raise ValueError("invalid page_token") from None


class ImportServicer(collector_pb2_grpc.ImportServiceServicer):
    def __init__(self, manager: ImportManager) -> None:
        self._manager = manager

    def register(self, server: aio.Server) -> None:
        collector_pb2_grpc.add_ImportServiceServicer_to_server(self, server)

    async def StartImport(self, request_iterator: AsyncIterator[collector_pb2.StartImportRequest],
                          context: aio.ServicerContext) -> collector_pb2.ImportJob:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("part") != "spec":
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                         "the first message of StartImport must carry the spec")
        s = first.spec
        spec = ImportSpec(filename=s.filename, format=s.format, mapping=dict(s.mapping),
                          timestamp_format=s.timestamp_format, timezone=s.timezone,
                          default_platform=s.default_platform, delimiter=s.delimiter)

        async def chunks() -> AsyncIterator[bytes]:
            async for message in request_iterator:
                if message.WhichOneof("part") != "chunk":
                    raise _BadStream("only the first message may carry a spec")
                yield message.chunk

        try:
            job = await self._manager.create(s.tenant_id, spec, chunks())
        except ImportSpecError as exc:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except _BadStream as exc:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except SpoolFull as exc:
            await _abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
        return job_to_proto(job)

    async def GetImport(self, request: collector_pb2.GetImportRequest,
                        context: aio.ServicerContext) -> collector_pb2.ImportJob:
        problem = tenant_id_problem(request.tenant_id)
        if problem:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, problem)
        job = await self._manager.get(request.tenant_id, request.id) if is_job_id(request.id) else None
        if job is None:
            await _abort(context, grpc.StatusCode.NOT_FOUND, f"import {request.id!r} not found")
        return job_to_proto(job)

    async def ListImports(self, request: collector_pb2.ListImportsRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListImportsResponse:
        problem = tenant_id_problem(request.tenant_id)
        if problem:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, problem)
        if request.page_size < 0:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "page_size must not be negative")
        size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        try:
            after = _after(request.page_token)
        except ValueError as exc:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        jobs = await self._manager.list_page(request.tenant_id, after=after, limit=size + 1)
        more = len(jobs) > size
        jobs = jobs[:size]
        return collector_pb2.ListImportsResponse(
            imports=[job_to_proto(j) for j in jobs],
            next_page_token=_page_token(jobs[-1]) if more and jobs else "")


async def _abort(context: aio.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("unreachable")  # context.abort always raises
