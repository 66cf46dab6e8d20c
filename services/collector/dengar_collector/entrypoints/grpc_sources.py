"""The gRPC SourceService: source management and signed webhook pushes.

The use cases raise ``DomainError``s (``SourceInputError``, ``SourceNotFoundError``,
``SourceStateError``, ``SignatureError``, ``BodyError``...); the kit's interceptor maps them and
validates ``tenant_id``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from google.protobuf import json_format, struct_pb2
from grpc import aio

from dengar.v1 import collector_pb2, collector_pb2_grpc
from dengar_collector.domain.sources import SourceRecord, SourceStatus
from dengar_collector.service_layer.ports import PublishError
from dengar_collector.service_layer.source_service import SourceManager
from dengar_common.errors import Unavailable

logger = logging.getLogger(__name__)

SERVICE_NAME: str = collector_pb2.DESCRIPTOR.services_by_name["SourceService"].full_name

_STATUS = {SourceStatus.ACTIVE: collector_pb2.SOURCE_STATUS_ACTIVE,
           SourceStatus.PAUSED: collector_pb2.SOURCE_STATUS_PAUSED,
           SourceStatus.ERROR: collector_pb2.SOURCE_STATUS_ERROR}


def _plain(value: Any) -> Any:
    """A Struct's JSON with integral numbers as ints (Struct has only doubles; configs count things)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def config_from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return _plain(json_format.MessageToDict(struct))


def _set_time(msg: Any, field: str, value: datetime | None) -> None:
    if value is not None:
        getattr(msg, field).FromDatetime(value)


def source_to_proto(record: SourceRecord) -> collector_pb2.Source:
    msg = collector_pb2.Source(
        id=record.id, tenant_id=record.tenant_id, name=record.name, kind=record.kind,
        credential_fields=sorted(record.credentials), interval_seconds=record.interval_seconds,
        paused=record.paused, status=_STATUS[record.status], items_collected=record.items_collected,
        runs=record.runs, last_error=record.last_error, consecutive_failures=record.consecutive_failures,
        last_run_items=record.last_run_items)
    msg.config.update(record.config)
    for name in ("created_at", "updated_at", "last_run_at", "last_error_at", "last_success_at"):
        _set_time(msg, name, getattr(record, name))
    if not record.paused:
        _set_time(msg, "next_run_at", record.next_run_at)
    return msg


class SourceServicer(collector_pb2_grpc.SourceServiceServicer):
    def __init__(self, manager: SourceManager) -> None:
        self._manager = manager

    def register(self, server: aio.Server) -> None:
        collector_pb2_grpc.add_SourceServiceServicer_to_server(self, server)

    async def CreateSource(self, request: collector_pb2.CreateSourceRequest,
                           context: aio.ServicerContext) -> collector_pb2.CreateSourceResponse:
        record, secret = await self._manager.create(
            request.tenant_id, name=request.name, kind=request.kind,
            config=config_from_struct(request.config), credentials=dict(request.credentials),
            interval_seconds=request.interval_seconds, paused=request.paused)
        return collector_pb2.CreateSourceResponse(source=source_to_proto(record), webhook_secret=secret)

    async def GetSource(self, request: collector_pb2.GetSourceRequest,
                        context: aio.ServicerContext) -> collector_pb2.Source:
        return source_to_proto(await self._manager.get(request.tenant_id, request.id))

    async def ListSources(self, request: collector_pb2.ListSourcesRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListSourcesResponse:
        records, token = await self._manager.list(
            request.tenant_id, kind=request.kind, page_size=request.page_size,
            page_token=request.page_token)
        return collector_pb2.ListSourcesResponse(sources=[source_to_proto(r) for r in records],
                                                 next_page_token=token)

    async def UpdateSource(self, request: collector_pb2.UpdateSourceRequest,
                           context: aio.ServicerContext) -> collector_pb2.Source:
        record = await self._manager.update(
            request.tenant_id, request.id,
            name=request.name if request.HasField("name") else None,
            config=config_from_struct(request.config) if request.HasField("config") else None,
            credentials=dict(request.credentials), replace_credentials=request.replace_credentials,
            interval_seconds=request.interval_seconds if request.HasField("interval_seconds") else None)
        return source_to_proto(record)

    async def DeleteSource(self, request: collector_pb2.DeleteSourceRequest,
                           context: aio.ServicerContext) -> collector_pb2.DeleteSourceResponse:
        await self._manager.delete(request.tenant_id, request.id)
        return collector_pb2.DeleteSourceResponse()

    async def PauseSource(self, request: collector_pb2.GetSourceRequest,
                          context: aio.ServicerContext) -> collector_pb2.Source:
        return source_to_proto(await self._manager.pause(request.tenant_id, request.id))

    async def ResumeSource(self, request: collector_pb2.GetSourceRequest,
                           context: aio.ServicerContext) -> collector_pb2.Source:
        return source_to_proto(await self._manager.resume(request.tenant_id, request.id))

    async def RunSourceNow(self, request: collector_pb2.GetSourceRequest,
                           context: aio.ServicerContext) -> collector_pb2.Source:
        return source_to_proto(await self._manager.run_now(request.tenant_id, request.id))

    async def RotateWebhookSecret(self, request: collector_pb2.GetSourceRequest,
                                  context: aio.ServicerContext) -> collector_pb2.CreateSourceResponse:
        record, secret = await self._manager.rotate_secret(request.tenant_id, request.id)
        return collector_pb2.CreateSourceResponse(source=source_to_proto(record), webhook_secret=secret)

    async def PushWebhook(self, request: collector_pb2.PushWebhookRequest,
                          context: aio.ServicerContext) -> collector_pb2.PushWebhookResponse:
        try:
            result = await self._manager.push(
                request.source_id, timestamp=request.timestamp, signature=request.signature,
                body=request.body, content_type=request.content_type)
        except PublishError as exc:
            logger.warning("webhook push failed to publish: %s", exc)
            raise Unavailable("event bus unavailable; retry the whole push") from exc
        return collector_pb2.PushWebhookResponse(
            tenant_id=result.tenant_id, accepted=result.accepted, rejected=result.rejected,
            post_ids=result.post_ids,
            errors=[collector_pb2.IngestError(index=e.index, field=e.field, message=e.message)
                    for e in result.errors])
