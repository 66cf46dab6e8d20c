"""gRPC clients of the services' operator-only tenant services (DeleteTenantData, retention)."""

from __future__ import annotations

from typing import Any

import grpc
from grpc import aio

from dengar.v1 import collector_pb2_grpc, common_pb2, insights_pb2, insights_pb2_grpc
from dengar_common.errors import InvalidArgument, Unavailable


def _error(service: str, exc: aio.AioRpcError) -> Exception:
    if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(f"{service}: {exc.details()}")
    # Everything else may pass (a restart, a store outage): the caller retries.
    return Unavailable(f"{service}: {exc.code().name} {exc.details()}")


class GrpcTenantData:
    """One service's DeleteTenantData; ``stub`` is its tenant-service stub."""

    def __init__(self, name: str, stub: Any, *, timeout_s: float) -> None:
        self.name = name
        self._stub = stub
        self._timeout = timeout_s

    async def delete_tenant_data(self, tenant_id: str) -> dict[str, int]:
        try:
            resp = await self._stub.DeleteTenantData(
                common_pb2.DeleteTenantDataRequest(tenant_id=tenant_id), timeout=self._timeout)
        except aio.AioRpcError as exc:
            raise _error(self.name, exc) from None
        return dict(resp.removed)


class TenantAdmin:
    """The channels to the collector and insights, and what the operator CLI asks of them."""

    def __init__(self, *, collector_target: str, insights_target: str, timeout_s: float) -> None:
        self._collector = aio.insecure_channel(collector_target)
        self._insights = aio.insecure_channel(insights_target)
        self._timeout = timeout_s
        self._insights_stub = insights_pb2_grpc.InsightsTenantServiceStub(self._insights)
        # The collector first: it stops new posts entering the bus before insights empties.
        self.services = [
            GrpcTenantData("collector", collector_pb2_grpc.CollectorTenantServiceStub(self._collector),
                           timeout_s=timeout_s),
            GrpcTenantData("insights", self._insights_stub, timeout_s=timeout_s)]

    async def close(self) -> None:
        await self._collector.close()
        await self._insights.close()

    async def set_retention(self, tenant_id: str, *, days: int | None, forever: bool
                            ) -> insights_pb2.Retention:
        try:
            resp: insights_pb2.Retention = await self._insights_stub.SetRetention(
                insights_pb2.SetRetentionRequest(tenant_id=tenant_id, days=days or 0, forever=forever),
                timeout=self._timeout)
        except aio.AioRpcError as exc:
            raise _error("insights", exc) from None
        return resp

    async def get_retention(self, tenant_id: str) -> insights_pb2.Retention:
        try:
            resp: insights_pb2.Retention = await self._insights_stub.GetRetention(
                insights_pb2.GetRetentionRequest(tenant_id=tenant_id), timeout=self._timeout)
        except aio.AioRpcError as exc:
            raise _error("insights", exc) from None
        return resp
