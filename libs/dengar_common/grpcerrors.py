"""Domain errors over gRPC, both ways.

Server side: ``DomainErrorInterceptor`` validates a request's ``tenant_id`` once, before any servicer
code runs, and turns a ``DomainError`` raised anywhere below into its status code with the details
in trailing metadata. An unexpected exception becomes INTERNAL with a generic message (logged with
its traceback here, never sent to the caller).

Client side: ``RemoteError.from_rpc_error`` reads the same status and metadata back, so the
gateway can answer with the field, position or reason that the backend named.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import grpc
from grpc import aio

from dengar_common.errors import DomainError, InvalidArgument, tenant_id_problem

logger = logging.getLogger(__name__)

# Trailing metadata keys (plain ASCII values). Position/expected predate this module; clients of
# QueryService already read them.
FIELD_KEY = "dengar-error-field"
POSITION_KEY = "dengar-error-position"
EXPECTED_KEY = "dengar-error-expected"
REASON_KEY = "dengar-error-reason"
RETRY_AFTER_KEY = "dengar-retry-after"
# A reached quota: its limit and the tenant's current usage (decimal integers).
LIMIT_KEY = "dengar-quota-limit"
CURRENT_KEY = "dengar-quota-current"

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
_STATUS_BY_NAME: dict[str, grpc.StatusCode] = {code.name: code for code in grpc.StatusCode}


def metadata_value(value: str) -> str:
    """Plain metadata values must be printable ASCII: escape the rest instead of dropping it."""
    escaped = value.encode("ascii", "backslashreplace").decode("ascii")
    return "".join(ch if " " <= ch <= "~" else " " for ch in escaped)


def status_of(error: DomainError) -> grpc.StatusCode:
    return _STATUS_BY_NAME.get(error.status_name, grpc.StatusCode.UNKNOWN)


def trailing_metadata(error: DomainError) -> tuple[tuple[str, str], ...]:
    """The details of ``error`` that a client can act on, as gRPC trailing metadata."""
    md: list[tuple[str, str]] = []
    if error.field:
        md.append((FIELD_KEY, metadata_value(error.field)))
    if error.position is not None:
        md.append((POSITION_KEY, str(error.position)))
    if error.expected:
        md.append((EXPECTED_KEY, metadata_value(error.expected)))
    if error.reason:
        md.append((REASON_KEY, metadata_value(error.reason)))
    if error.retry_after_s is not None:
        md.append((RETRY_AFTER_KEY, f"{error.retry_after_s:g}"))
    if error.limit is not None:
        md.append((LIMIT_KEY, str(error.limit)))
    if error.current is not None:
        md.append((CURRENT_KEY, str(error.current)))
    return tuple(md)


class RemoteError(Exception):
    """A failed call to another service, with the details its ``DomainError`` carried."""

    def __init__(self, service: str, code: grpc.StatusCode, detail: str,
                 metadata: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{service}: {code.name}: {detail}")
        self.service = service
        self.code = code
        self.detail = detail
        self.metadata = dict(metadata or {})

    @classmethod
    def from_rpc_error(cls, service: str, exc: aio.AioRpcError) -> RemoteError:
        trailing = {k: v for k, v in (exc.trailing_metadata() or ()) if isinstance(v, str)}
        return cls(service, exc.code(), exc.details() or "", trailing)

    @property
    def field(self) -> str | None:
        return self.metadata.get(FIELD_KEY)

    @property
    def position(self) -> int | None:
        raw = self.metadata.get(POSITION_KEY)
        return int(raw) if raw is not None and raw.isdigit() else None

    @property
    def expected(self) -> str | None:
        return self.metadata.get(EXPECTED_KEY)

    @property
    def reason(self) -> str | None:
        return self.metadata.get(REASON_KEY)

    @property
    def limit(self) -> int | None:
        return _int_or_none(self.metadata.get(LIMIT_KEY))

    @property
    def current(self) -> int | None:
        return _int_or_none(self.metadata.get(CURRENT_KEY))

    @property
    def retry_after_s(self) -> float | None:
        raw = self.metadata.get(RETRY_AFTER_KEY)
        try:
            return float(raw) if raw is not None else None
        except ValueError:
            return None


def _int_or_none(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isdigit() else None


def _request_tenant(request: Any) -> str | None:
    """The request's ``tenant_id`` if its message type has one (None when it has no such field)."""
    descriptor = getattr(request, "DESCRIPTOR", None)
    if descriptor is None or "tenant_id" not in descriptor.fields_by_name:
        return None
    return str(request.tenant_id)


async def _abort(context: aio.ServicerContext[Any, Any], error: DomainError) -> None:
    context.set_trailing_metadata(trailing_metadata(error))
    await context.abort(status_of(error), error.message)


async def _abort_internal(context: aio.ServicerContext[Any, Any], method: str) -> None:
    logger.exception("%s failed", method)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the service log")


class DomainErrorInterceptor(aio.ServerInterceptor):
    """Validate ``tenant_id`` once and map ``DomainError`` to gRPC status for every method.

    ``tenant_optional`` lists full method names (``/dengar.v1.NlpService/Analyze``) whose
    ``tenant_id`` may be empty; a non-empty one is still validated.
    """

    def __init__(self, *, tenant_optional: Collection[str] = ()) -> None:
        self._tenant_optional = frozenset(tenant_optional)

    def _check_tenant(self, method: str, request: Any) -> None:
        tenant = _request_tenant(request)
        if tenant is None or (not tenant and method in self._tenant_optional):
            return
        problem = tenant_id_problem(tenant)
        if problem:
            raise InvalidArgument(problem, field="tenant_id")

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        wrap = dict(request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(self._unary(method, handler.unary_unary), **wrap)
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._unary_stream(method, handler.unary_stream), **wrap)
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                self._stream_unary(method, handler.stream_unary), **wrap)
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                self._stream_stream(method, handler.stream_stream), **wrap)
        return handler

    def _unary(self, method: str, inner: Any) -> Any:
        async def call(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            async with _mapped_errors(context, method):
                self._check_tenant(method, request)
                return await inner(request, context)
            raise AssertionError("unreachable: abort raises")

        return call

    def _unary_stream(self, method: str, inner: Any) -> Any:
        async def call(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            async with _mapped_errors(context, method):
                self._check_tenant(method, request)
                async for item in inner(request, context):
                    yield item

        return call

    def _stream_unary(self, method: str, inner: Any) -> Any:
        # The tenant of a client stream travels in its first message: the servicer checks it.
        async def call(requests: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            async with _mapped_errors(context, method):
                return await inner(requests, context)
            raise AssertionError("unreachable: abort raises")

        return call

    def _stream_stream(self, method: str, inner: Any) -> Any:
        async def call(requests: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            async with _mapped_errors(context, method):
                async for item in inner(requests, context):
                    yield item

        return call


@asynccontextmanager
async def _mapped_errors(context: aio.ServicerContext[Any, Any], method: str) -> AsyncIterator[None]:
    """Abort the call with the status of a ``DomainError``; INTERNAL for anything unexpected."""
    try:
        yield
    except DomainError as exc:
        await _abort(context, exc)
    except (aio.AbortError, aio.BaseError, grpc.RpcError):
        raise
    except Exception:
        await _abort_internal(context, method)
