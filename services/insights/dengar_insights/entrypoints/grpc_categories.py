"""The CategoryService gRPC API: requests in, service_layer/categories.py use cases, protobuf out.

Errors are ``DomainError``s (the kit's interceptor turns them into status codes and trailing
metadata: a syntax error in ``expression`` carries its position).
"""

from __future__ import annotations

from typing import Any

from grpc import aio

from dengar.v1 import insights_pb2, insights_pb2_grpc
from dengar_insights.domain.categories import Category, CategoryChanges
from dengar_insights.entrypoints.protos import timestamp
from dengar_insights.service_layer.categories import CategoryManager


def category_to_proto(c: Category) -> insights_pb2.Category:
    out = insights_pb2.Category(id=c.id, tenant_id=c.tenant_id, name=c.name, expression=c.expression,
                                examples=list(c.examples))
    if c.created_at is not None:
        out.created_at.CopyFrom(timestamp(c.created_at))
    if c.updated_at is not None:
        out.updated_at.CopyFrom(timestamp(c.updated_at))
    cal = c.calibration
    if cal is not None:
        out.threshold = cal.threshold
        out.calibration.CopyFrom(insights_pb2.CategoryCalibration(
            member_median=cal.member_median, member_min=cal.member_min,
            background_p90=cal.background_p90, background_p95=cal.background_p95,
            background_size=cal.background_size))
    return out


class CategoryServicer(insights_pb2_grpc.CategoryServiceServicer):
    def __init__(self, manager: CategoryManager) -> None:
        self._manager = manager

    async def CreateCategory(self, request: insights_pb2.CreateCategoryRequest,
                             context: aio.ServicerContext[Any, Any]) -> insights_pb2.Category:
        return category_to_proto(await self._manager.create(
            request.tenant_id, name=request.name, expression=request.expression,
            examples=list(request.examples)))

    async def GetCategory(self, request: insights_pb2.GetCategoryRequest,
                          context: aio.ServicerContext[Any, Any]) -> insights_pb2.Category:
        return category_to_proto(await self._manager.get(request.tenant_id, request.id))

    async def ListCategories(self, request: insights_pb2.ListCategoriesRequest,
                             context: aio.ServicerContext[Any, Any]
                             ) -> insights_pb2.ListCategoriesResponse:
        found = await self._manager.list(request.tenant_id)
        return insights_pb2.ListCategoriesResponse(categories=[category_to_proto(c) for c in found])

    async def UpdateCategory(self, request: insights_pb2.UpdateCategoryRequest,
                             context: aio.ServicerContext[Any, Any]) -> insights_pb2.Category:
        changes = CategoryChanges(
            name=request.name if request.HasField("name") else None,
            expression=request.expression if request.HasField("expression") else None,
            examples=tuple(request.examples.texts) if request.HasField("examples") else None)
        return category_to_proto(await self._manager.update(request.tenant_id, request.id, changes))

    async def DeleteCategory(self, request: insights_pb2.DeleteCategoryRequest,
                             context: aio.ServicerContext[Any, Any]
                             ) -> insights_pb2.DeleteCategoryResponse:
        await self._manager.delete(request.tenant_id, request.id)
        return insights_pb2.DeleteCategoryResponse()
