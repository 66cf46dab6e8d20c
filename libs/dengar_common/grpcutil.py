"""gRPC servers with health and reflection, and trace-context propagation both ways."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from typing import Any, TypeAlias, cast

import grpc
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace

from dengar_common.grpcerrors import DomainErrorInterceptor
from dengar_common.telemetry import inject_headers, span_from_headers

logger = logging.getLogger(__name__)

Registrar = Callable[[aio.Server], None]
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


class _TracingServerInterceptor(aio.ServerInterceptor):
    """Continues the caller's trace for every unary call."""

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        metadata = {k: v for k, v in (handler_call_details.invocation_metadata or ())
                    if isinstance(v, str)}
        # The stubs type handlers as synchronous; on an aio server they are coroutine functions.
        inner = cast(Callable[[Any, aio.ServicerContext[Any, Any]], Awaitable[Any]], handler.unary_unary)

        async def traced(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            with span_from_headers(method, metadata, kind=trace.SpanKind.SERVER):
                return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            traced, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class _TracingClientInterceptor(aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any,
                                    request: Any) -> Any:
        md = list(client_call_details.metadata or [])
        md.extend(inject_headers().items())
        details = client_call_details._replace(metadata=aio.Metadata(*md)) \
            if hasattr(client_call_details, "_replace") else client_call_details
        if not hasattr(client_call_details, "_replace"):
            details = aio.ClientCallDetails(
                client_call_details.method, client_call_details.timeout, aio.Metadata(*md),
                client_call_details.credentials, client_call_details.wait_for_ready,
            )
        return await continuation(details, request)


def make_server(registrars: Iterable[Registrar], service_names: Sequence[str], *,
                tenant_optional: Collection[str] = ()) -> tuple[aio.Server, health.aio.HealthServicer]:
    """A server with the given servicers plus grpc.health.v1 and reflection.

    Every call is traced, its ``tenant_id`` validated and its ``DomainError`` mapped to a status
    (``dengar_common.grpcerrors``); ``tenant_optional`` names methods whose tenant may be empty.
    """
    server = aio.server(interceptors=[_TracingServerInterceptor(),
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
        target, interceptors=[_TracingClientInterceptor()],
        # Round robin over every address the target resolves to (replicas behind a headless Service,
        # or an ``ipv4:a:p,b:p`` list): pick_first, the default, would send every call to one replica.
        options=[("grpc.max_receive_message_length", 16 * 1024 * 1024),
                 ("grpc.lb_policy_name", "round_robin")],
    )
