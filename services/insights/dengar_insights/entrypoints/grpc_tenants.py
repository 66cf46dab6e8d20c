"""The gRPC InsightsTenantService (operator only: `dengar tenants delete|retention`) and the worker
that runs the retention sweep."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from grpc import aio

from dengar.v1 import common_pb2, insights_pb2, insights_pb2_grpc
from dengar_common.tenant_data import TenantOffboarding
from dengar_insights.domain.retention import Retention
from dengar_insights.service_layer.retention import RetentionPolicy, RetentionSweep

logger = logging.getLogger(__name__)

SERVICE_NAME: str = insights_pb2.DESCRIPTOR.services_by_name["InsightsTenantService"].full_name


def _retention(r: Retention) -> insights_pb2.Retention:
    return insights_pb2.Retention(tenant_id=r.tenant_id, days=r.days, is_default=r.is_default)


class InsightsTenantServicer(insights_pb2_grpc.InsightsTenantServiceServicer):
    def __init__(self, offboarding: TenantOffboarding, retention: RetentionPolicy) -> None:
        self._offboarding = offboarding
        self._retention = retention

    def register(self, server: aio.Server) -> None:
        insights_pb2_grpc.add_InsightsTenantServiceServicer_to_server(self, server)

    async def DeleteTenantData(self, request: common_pb2.DeleteTenantDataRequest,
                               context: aio.ServicerContext) -> common_pb2.DeleteTenantDataResponse:
        removed = await self._offboarding.delete(request.tenant_id)
        return common_pb2.DeleteTenantDataResponse(removed=removed)

    async def SetRetention(self, request: insights_pb2.SetRetentionRequest,
                           context: aio.ServicerContext) -> insights_pb2.Retention:
        days = 0 if request.forever else (request.days or None)
        return _retention(await self._retention.set(request.tenant_id, days))

    async def GetRetention(self, request: insights_pb2.GetRetentionRequest,
                           context: aio.ServicerContext) -> insights_pb2.Retention:
        return _retention(await self._retention.get(request.tenant_id))


class RetentionWorker:
    """A worker for ``ServiceApp.run_worker``: a sweep every ``interval_s``; a failed one is logged
    and the next one runs."""

    def __init__(self, sweep: RetentionSweep, interval_s: float) -> None:
        self._sweep = sweep
        self._interval = interval_s
        self._stopping = asyncio.Event()
        self.sweeps = 0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._sweep.sweep()
            except Exception:
                logger.exception("retention sweep failed")
            self.sweeps += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
