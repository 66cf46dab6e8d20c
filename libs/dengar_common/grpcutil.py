"""gRPC servers with health and reflection, traced and measured; client channels that propagate the trace."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Sequence
from typing import Any, TypeAlias, cast

import grpc
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import aio_client_interceptors, aio_server_interceptor
from opentelemetry.instrumentation.grpc.filters import any_of, negate, service_name

from dengar_common import metrics
from dengar_common.grpcerrors import DomainErrorInterceptor

logger = logging.getLogger(__name__)

Registrar = Callable[[aio.Server], None]
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


class _MetricsServerInterceptor(aio.ServerInterceptor):
    """``rpc.server.call.duration`` per method and status code: the RED metrics of every RPC
    (the official gRPC instrumentation makes spans only)."""

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = str(handler_call_details.method or "").lstrip("/")
        histogram = metrics.instruments().rpc_server_duration

        def record(started: float, context: Any, error: BaseException | None) -> None:
            histogram.record(time.perf_counter() - started, {
                "rpc.system.name": "grpc", "rpc.method": method,
                "rpc.response.status_code": _status_name(context, error)})

        if handler.unary_unary is not None:
            # The stubs type handlers as synchronous; on an aio server they are coroutine functions.
            unary = cast(Callable[[Any, Any], Awaitable[Any]], handler.unary_unary)

            async def timed_unary(request: Any, context: Any) -> Any:
                started = time.perf_counter()
                try:
                    response = await unary(request, context)
                except BaseException as exc:
                    record(started, context, exc)
                    raise
                record(started, context, None)
                return response

            return grpc.unary_unary_rpc_method_handler(
                timed_unary, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        if handler.unary_stream is not None:
            stream = cast(Callable[[Any, Any], AsyncIterator[Any]], handler.unary_stream)

            async def timed_stream(request: Any, context: Any) -> AsyncIterator[Any]:
                started = time.perf_counter()
                try:
                    async for item in stream(request, context):
                        yield item
                except BaseException as exc:
                    record(started, context, exc)
                    raise
                record(started, context, None)

            return grpc.unary_stream_rpc_method_handler(
                timed_stream, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        return handler


def _status_name(context: Any, error: BaseException | None) -> str:
    try:
        code = context.code()
    except Exception:  # a context without code() (older servers)
        code = None
    if isinstance(code, grpc.StatusCode):
        return code.name
    if isinstance(code, int):
        return next((c.name for c in grpc.StatusCode if c.value[0] == code), "UNKNOWN")
    if error is None:
        return "OK"
    return "CANCELLED" if isinstance(error, asyncio.CancelledError) else "UNKNOWN"


def _otel_server_interceptor() -> aio.ServerInterceptor:
    # Health checks (probes, every few seconds per pod) and reflection would each be a trace of
    # their own: noise. They are still measured (rpc.server.call.duration).
    untraced = negate(any_of(service_name(health.SERVICE_NAME), service_name(reflection.SERVICE_NAME)))
    return cast(aio.ServerInterceptor,
                aio_server_interceptor(filter_=untraced))  # type: ignore[no-untyped-call]  # no types


def _otel_client_interceptors() -> list[aio.ClientInterceptor]:
    return cast(list[aio.ClientInterceptor],
                aio_client_interceptors())  # type: ignore[no-untyped-call]  # the package ships no types


def make_server(registrars: Iterable[Registrar], service_names: Sequence[str], *,
                tenant_optional: Collection[str] = ()) -> tuple[aio.Server, health.aio.HealthServicer]:
    """A server with the given servicers plus grpc.health.v1 and reflection.

    Every call is traced, its ``tenant_id`` validated and its ``DomainError`` mapped to a status
    (``dengar_common.grpcerrors``); ``tenant_optional`` names methods whose tenant may be empty.
    """
    # Outermost first: the official OpenTelemetry span (continuing the caller's traceparent), the
    # duration metric, then the domain-error mapping, so both see the final status code.
    server = aio.server(interceptors=[_otel_server_interceptor(), _MetricsServerInterceptor(),
                                      DomainErrorInterceptor(tenant_optional=tenant_optional)],
                        options=[("grpc.max_receive_message_length", 16 * 1024 * 1024)])
    for register in registrars:
        register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    return server, health_servicer


async def set_serving(health_servicer: health.aio.HealthServicer, service_names: Sequence[str],
                      serving: bool) -> None:
    status = (health_pb2.HealthCheckResponse.SERVING if serving
              else health_pb2.HealthCheckResponse.NOT_SERVING)
    for name in ["", *service_names]:
        await health_servicer.set(name, status)


def insecure_channel(target: str) -> aio.Channel:
    """A client channel that propagates the current trace to the server."""
    return aio.insecure_channel(
        target, interceptors=_otel_client_interceptors(),
        # Round robin over every address the target resolves to (replicas behind a headless Service,
        # or an ``ipv4:a:p,b:p`` list): pick_first, the default, would send every call to one replica.
        options=[("grpc.max_receive_message_length", 16 * 1024 * 1024),
                 ("grpc.lb_policy_name", "round_robin")],
    )
