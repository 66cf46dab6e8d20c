"""GetBackfill and ListBackfills: the progress of backfills as protobuf.

``BackfillRpc`` is mixed into the InsightsService servicer; the composition root passes the
repository it reads (``backfills``). Without one (tests of other RPCs) every target has none.
"""

from __future__ import annotations

from typing import Any

from grpc import aio

from dengar.v1 import insights_pb2
from dengar_common.errors import NotFound
from dengar_insights.domain.backfill import BackfillJob
from dengar_insights.entrypoints.protos import timestamp
from dengar_insights.service_layer.backfill import get_backfill, list_backfills
from dengar_insights.service_layer.ports import BackfillRepository


def backfill_to_proto(job: BackfillJob) -> insights_pb2.Backfill:
    out = insights_pb2.Backfill(kind=job.kind, target_id=job.target_id, target_version=job.target_version,
                                state=job.state, scanned=job.scanned, total=max(job.total, job.scanned),
                                matched=job.matched, changed=job.changed, error=job.error)
    for field, value in (("since", job.since), ("started_at", job.started_at),
                         ("finished_at", job.finished_at)):
        if value is not None:
            getattr(out, field).CopyFrom(timestamp(value))
    return out


class BackfillRpc:
    backfills: BackfillRepository | None = None

    async def GetBackfill(self, request: insights_pb2.GetBackfillRequest,
                          context: aio.ServicerContext[Any, Any]) -> insights_pb2.Backfill:
        if self.backfills is None:
            raise NotFound(f"no backfill of {request.kind} {request.target_id}")
        return backfill_to_proto(await get_backfill(self.backfills, request.tenant_id, request.kind,
                                                    request.target_id))

    async def ListBackfills(self, request: insights_pb2.ListBackfillsRequest,
                            context: aio.ServicerContext[Any, Any]) -> insights_pb2.ListBackfillsResponse:
        if self.backfills is None:
            return insights_pb2.ListBackfillsResponse()
        jobs = await list_backfills(self.backfills, request.tenant_id, request.kind, list(request.target_ids))
        return insights_pb2.ListBackfillsResponse(backfills=[backfill_to_proto(j) for j in jobs])
