"""The gRPC CollectorService."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import grpc
from grpc import aio

from dengar.v1 import collector_pb2, collector_pb2_grpc
from dengar_collector.domain.ingest import RequestError, check_request, plan_ingest
from dengar_collector.domain.ports import PostPublisher, PublishError

logger = logging.getLogger(__name__)

SERVICE_NAME: str = collector_pb2.DESCRIPTOR.services_by_name["CollectorService"].full_name


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CollectorServicer(collector_pb2_grpc.CollectorServiceServicer):
    def __init__(self, publisher: PostPublisher, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self._publisher = publisher
        self._clock = clock

    def register(self, server: aio.Server) -> None:
        collector_pb2_grpc.add_CollectorServiceServicer_to_server(self, server)

    async def IngestPosts(self, request: collector_pb2.IngestPostsRequest,
                          context: aio.ServicerContext) -> collector_pb2.IngestPostsResponse:
        try:
            check_request(request.tenant_id, len(request.posts))
        except RequestError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        plan = plan_ingest(request.tenant_id, request.posts, now=self._clock())
        try:
            new = await self._publisher.publish(request.tenant_id, plan.to_publish)
        except PublishError as exc:
            logger.warning("ingest of %d posts for %s failed: %s", len(plan.to_publish),
                           request.tenant_id, exc)
            # Nothing is promised for this batch; message ids make a full retry safe.
            await context.abort(grpc.StatusCode.UNAVAILABLE,
                                "event bus unavailable; retry the whole batch")
        logger.debug("tenant %s: %d accepted (%d new, %d repeated in batch), %d rejected",
                     request.tenant_id, plan.accepted, new, plan.duplicates, plan.rejected)
        return collector_pb2.IngestPostsResponse(
            accepted=plan.accepted, rejected=plan.rejected, post_ids=plan.post_ids,
            errors=[collector_pb2.IngestError(index=e.index, field=e.field, message=e.message)
                    for e in plan.errors],
        )
