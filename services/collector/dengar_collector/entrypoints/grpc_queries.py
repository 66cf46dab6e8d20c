"""The gRPC QueryService: per-tenant listening queries."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import grpc
from grpc import aio

from dengar.v1 import collector_pb2, collector_pb2_grpc
from dengar_collector.domain.ingest import RequestError
from dengar_collector.domain.listening_query import (
    QueryChanges,
    QueryInputError,
    QueryLimitError,
    QueryNameTakenError,
    QueryNotFoundError,
    QueryRecord,
)
from dengar_collector.domain.query import QueryRole, QuerySyntaxError
from dengar_collector.service_layer.query_service import QueryManager

logger = logging.getLogger(__name__)

SERVICE_NAME: str = collector_pb2.DESCRIPTOR.services_by_name["QueryService"].full_name

POSITION_KEY = "dengar-error-position"
EXPECTED_KEY = "dengar-error-expected"

_ROLE_BY_ENUM: dict[int, QueryRole] = {
    collector_pb2.QUERY_ROLE_BRAND: "brand",
    collector_pb2.QUERY_ROLE_COMPETITOR: "competitor",
    collector_pb2.QUERY_ROLE_TOPIC: "topic",
}
_ENUM_BY_ROLE: dict[str, int] = {v: k for k, v in _ROLE_BY_ENUM.items()}

T = TypeVar("T")


def _metadata_value(value: str) -> str:
    # Plain metadata values must be printable ASCII; anything else is escaped, not dropped.
    escaped = value.encode("ascii", "backslashreplace").decode("ascii")
    return "".join(ch if " " <= ch <= "~" else " " for ch in escaped)


def syntax_message(exc: QuerySyntaxError) -> str:
    return f"invalid expression at position {exc.position} (expected {exc.expected}): {exc.reason}"


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
        expression=record.expression, enabled=record.enabled)  # type: ignore[arg-type]
    out.created_at.FromDatetime(record.created_at)
    out.updated_at.FromDatetime(record.updated_at)
    return out


class QueryServicer(collector_pb2_grpc.QueryServiceServicer):
    def __init__(self, queries: QueryManager) -> None:
        self._queries = queries

    def register(self, server: aio.Server) -> None:
        collector_pb2_grpc.add_QueryServiceServicer_to_server(self, server)

    async def _run(self, context: aio.ServicerContext, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call``, answering domain errors with their status codes."""
        try:
            return await call()
        except QuerySyntaxError as exc:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, syntax_message(exc),
                         ((POSITION_KEY, str(exc.position)), (EXPECTED_KEY, _metadata_value(exc.expected))))
        except (RequestError, QueryInputError) as exc:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except QueryNotFoundError as exc:
            await _abort(context, grpc.StatusCode.NOT_FOUND, f"listening query {exc} not found")
        except QueryNameTakenError as exc:
            await _abort(context, grpc.StatusCode.ALREADY_EXISTS,
                         f"a listening query named {exc} already exists")
        except QueryLimitError as exc:
            await _abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))

    async def CreateQuery(self, request: collector_pb2.CreateQueryRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListeningQuery:
        async def call() -> QueryRecord:
            role = _role(request.role, required=True)
            assert role is not None
            return await self._queries.create(
                request.tenant_id, name=request.name, role=role, expression=request.expression,
                enabled=request.enabled if request.HasField("enabled") else True)

        return query_to_proto(await self._run(context, call))

    async def GetQuery(self, request: collector_pb2.GetQueryRequest,
                       context: aio.ServicerContext) -> collector_pb2.ListeningQuery:
        return query_to_proto(await self._run(
            context, lambda: self._queries.get(request.tenant_id, request.id)))

    async def ListQueries(self, request: collector_pb2.ListQueriesRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListQueriesResponse:
        async def call() -> collector_pb2.ListQueriesResponse:
            page = await self._queries.list(request.tenant_id, role=_role(request.role, required=False),
                                            size=request.page_size, token=request.page_token)
            return collector_pb2.ListQueriesResponse(queries=[query_to_proto(r) for r in page.queries],
                                                     next_page_token=page.next_page_token)

        return await self._run(context, call)

    async def UpdateQuery(self, request: collector_pb2.UpdateQueryRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListeningQuery:
        async def call() -> QueryRecord:
            changes = QueryChanges(
                name=request.name if request.HasField("name") else None,
                role=_role(request.role, required=True) if request.HasField("role") else None,
                expression=request.expression if request.HasField("expression") else None,
                enabled=request.enabled if request.HasField("enabled") else None)
            return await self._queries.update(request.tenant_id, request.id, changes)

        return query_to_proto(await self._run(context, call))

    async def DeleteQuery(self, request: collector_pb2.DeleteQueryRequest,
                          context: aio.ServicerContext) -> collector_pb2.DeleteQueryResponse:
        await self._run(context, lambda: self._queries.delete(request.tenant_id, request.id))
        return collector_pb2.DeleteQueryResponse()

    async def ValidateQuery(self, request: collector_pb2.ValidateQueryRequest,
                            context: aio.ServicerContext) -> collector_pb2.ValidateQueryResponse:
        problem = self._queries.validate(request.expression)
        if problem is None:
            return collector_pb2.ValidateQueryResponse(valid=True)
        return collector_pb2.ValidateQueryResponse(valid=False, errors=[collector_pb2.QuerySyntaxError(
            position=problem.position, expected=problem.expected, message=problem.reason)])


async def _abort(context: aio.ServicerContext, code: grpc.StatusCode, message: str,
                 trailing: tuple[tuple[str, str], ...] = ()) -> NoReturn:
    await context.abort(code, message, trailing_metadata=trailing)
    raise AssertionError("unreachable: abort raises")
