"""The gRPC CollectorService. It raises the use case's ``DomainError``s (``RequestError``,
``PublishError``); the kit's interceptor maps them to status codes."""

from __future__ import annotations

import logging

from grpc import aio

from dengar.v1 import collector_pb2, collector_pb2_grpc
from dengar_collector.service_layer.ingest_service import IngestService
from dengar_collector.service_layer.ports import PublishError

logger = logging.getLogger(__name__)

SERVICE_NAME: str = collector_pb2.DESCRIPTOR.services_by_name["CollectorService"].full_name


class CollectorServicer(collector_pb2_grpc.CollectorServiceServicer):
    def __init__(self, ingest: IngestService) -> None:
        self._ingest = ingest

    def register(self, server: aio.Server) -> None:
        collector_pb2_grpc.add_CollectorServiceServicer_to_server(self, server)

    async def IngestPosts(self, request: collector_pb2.IngestPostsRequest,
                          context: aio.ServicerContext) -> collector_pb2.IngestPostsResponse:
        try:
            plan, _new = await self._ingest.ingest(request.tenant_id, request.posts)
        except PublishError as exc:
            # The caller is only told to retry the whole batch; the cause is for the log.
            logger.warning("ingest of %d posts for %s failed: %s", len(request.posts),
                           request.tenant_id, exc)
            raise
        return collector_pb2.IngestPostsResponse(
            accepted=plan.accepted, rejected=plan.rejected, post_ids=plan.post_ids,
            errors=[collector_pb2.IngestError(index=e.index, field=e.field, message=e.message)
                    for e in plan.errors],
        )
