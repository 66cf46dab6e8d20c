"""The gRPC QueryService: per-tenant listening queries.

Domain errors (``QuerySyntaxError`` with its position and expectation, ``QueryNotFoundError``,
``QueryNameTakenError``, ``QueryLimitError``...) are raised through; the kit's interceptor maps them.
"""

from __future__ import annotations

from grpc import aio

from dengar.v1 import collector_pb2, collector_pb2_grpc
from dengar_collector.domain.listening_query import QueryChanges, QueryInputError, QueryRecord
from dengar_collector.service_layer.query_service import QueryManager
from dengar_common.query import QueryRole

SERVICE_NAME: str = collector_pb2.DESCRIPTOR.services_by_name["QueryService"].full_name

_ROLE_BY_ENUM: dict[int, QueryRole] = {
    collector_pb2.QUERY_ROLE_BRAND: "brand",
    collector_pb2.QUERY_ROLE_COMPETITOR: "competitor",
    collector_pb2.QUERY_ROLE_TOPIC: "topic",
}
_ENUM_BY_ROLE: dict[str, int] = {v: k for k, v in _ROLE_BY_ENUM.items()}

def _role(value: int, *, required: bool) -> QueryRole | None:
    if value == collector_pb2.QUERY_ROLE_UNSPECIFIED:
        if required:
            raise QueryInputError("role", "role is required: brand, competitor or topic")
        return None
    role = _ROLE_BY_ENUM.get(value)
    if role is None:
        raise QueryInputError("role", f"unknown role value {value}")
    return role


def query_to_proto(record: QueryRecord) -> collector_pb2.ListeningQuery:
    out = collector_pb2.ListeningQuery(
        id=record.id, tenant_id=record.tenant_id, name=record.name, role=_ENUM_BY_ROLE[record.role],
        # The stubs want the enum's ValueType for role; _ENUM_BY_ROLE holds those enum numbers.
        expression=record.expression, enabled=record.enabled, version=record.version)  # type: ignore[arg-type]  # enum int for the stub's ValueType
    out.created_at.FromDatetime(record.created_at)
    out.updated_at.FromDatetime(record.updated_at)
    return out


class QueryServicer(collector_pb2_grpc.QueryServiceServicer):
    def __init__(self, queries: QueryManager) -> None:
        self._queries = queries

    def register(self, server: aio.Server) -> None:
        collector_pb2_grpc.add_QueryServiceServicer_to_server(self, server)

    async def CreateQuery(self, request: collector_pb2.CreateQueryRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListeningQuery:
        role = _role(request.role, required=True)
        assert role is not None
        return query_to_proto(await self._queries.create(
            request.tenant_id, name=request.name, role=role, expression=request.expression,
            enabled=request.enabled if request.HasField("enabled") else True))

    async def GetQuery(self, request: collector_pb2.GetQueryRequest,
                       context: aio.ServicerContext) -> collector_pb2.ListeningQuery:
        return query_to_proto(await self._queries.get(request.tenant_id, request.id))

    async def ListQueries(self, request: collector_pb2.ListQueriesRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListQueriesResponse:
        page = await self._queries.list(request.tenant_id, role=_role(request.role, required=False),
                                        size=request.page_size, token=request.page_token)
        return collector_pb2.ListQueriesResponse(queries=[query_to_proto(r) for r in page.queries],
                                                 next_page_token=page.next_page_token)

    async def UpdateQuery(self, request: collector_pb2.UpdateQueryRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListeningQuery:
        changes = QueryChanges(
            name=request.name if request.HasField("name") else None,
            role=_role(request.role, required=True) if request.HasField("role") else None,
            expression=request.expression if request.HasField("expression") else None,
            enabled=request.enabled if request.HasField("enabled") else None)
        return query_to_proto(await self._queries.update(request.tenant_id, request.id, changes))

    async def DeleteQuery(self, request: collector_pb2.DeleteQueryRequest,
                          context: aio.ServicerContext) -> collector_pb2.DeleteQueryResponse:
        await self._queries.delete(request.tenant_id, request.id)
        return collector_pb2.DeleteQueryResponse()

    async def ValidateQuery(self, request: collector_pb2.ValidateQueryRequest,
                            context: aio.ServicerContext) -> collector_pb2.ValidateQueryResponse:
        problem = self._queries.validate(request.expression)
        if problem is None:
            return collector_pb2.ValidateQueryResponse(valid=True)
        return collector_pb2.ValidateQueryResponse(valid=False, errors=[collector_pb2.QuerySyntaxError(
            position=problem.position, expected=problem.expected, message=problem.problem)])

