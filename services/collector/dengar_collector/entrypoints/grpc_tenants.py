"""The gRPC CollectorTenantService: offboarding a tenant (operator only, `dengar tenants delete`)."""

from __future__ import annotations

from grpc import aio

from dengar.v1 import collector_pb2, collector_pb2_grpc, common_pb2
from dengar_common.tenant_data import TenantOffboarding

SERVICE_NAME: str = collector_pb2.DESCRIPTOR.services_by_name["CollectorTenantService"].full_name


class CollectorTenantServicer(collector_pb2_grpc.CollectorTenantServiceServicer):
    def __init__(self, offboarding: TenantOffboarding) -> None:
        self._offboarding = offboarding

    def register(self, server: aio.Server) -> None:
        collector_pb2_grpc.add_CollectorTenantServiceServicer_to_server(self, server)

    async def DeleteTenantData(self, request: common_pb2.DeleteTenantDataRequest,
                               context: aio.ServicerContext) -> common_pb2.DeleteTenantDataResponse:
        removed = await self._offboarding.delete(request.tenant_id)
        return common_pb2.DeleteTenantDataResponse(removed=removed)
