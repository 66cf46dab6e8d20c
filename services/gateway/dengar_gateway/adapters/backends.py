"""gRPC clients of the collector, NLP and insights services: one way to call them.

``await backends.call(backends.queries.CreateQuery, request)`` calls any method of any backend
stub with the per-call deadline; a failure is logged once and raised as the kit's ``RemoteError``
(status code, detail, and the field/position/reason/retry-after the backend put in its trailing
metadata), which the entrypoints turn into a problem document. Client streams (an import upload)
go through the same call with their own deadline.

Channels come from ``grpcutil.insecure_channel``, which injects the current trace context, so a
call made while the request's server span is current continues the caller's trace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dengar.v1 import collector_pb2_grpc, insights_pb2_grpc, nlp_pb2_grpc
from dengar_common.grpcerrors import RemoteError
from dengar_common.grpcutil import insecure_channel

logger = logging.getLogger(__name__)

R = TypeVar("R")

# Statuses that are the caller's doing, not a backend problem: not worth a warning.
_QUIET = frozenset({grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT,
                    grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.UNAUTHENTICATED})


class Backends:
    """The backend stubs (one attribute per gRPC service) and the one call that uses them."""

    def __init__(self, *, collector: aio.Channel, nlp: aio.Channel, insights: aio.Channel,
                 timeout_s: float) -> None:
        self._channels = {"collector": collector, "nlp": nlp, "insights": insights}
        self._timeout = timeout_s
        self.ingest = collector_pb2_grpc.CollectorServiceStub(collector)
        self.imports = collector_pb2_grpc.ImportServiceStub(collector)
        self.sources = collector_pb2_grpc.SourceServiceStub(collector)
        self.queries = collector_pb2_grpc.QueryServiceStub(collector)
        self.nlp = nlp_pb2_grpc.NlpServiceStub(nlp)
        self.insights = insights_pb2_grpc.InsightsServiceStub(insights)
        self.categories = insights_pb2_grpc.CategoryServiceStub(insights)
        self.alerts = insights_pb2_grpc.AlertServiceStub(insights)
        # Which backend a method belongs to, for errors and logs: a stub keeps one callable per
        # method as an instance attribute.
        self._backend_of: dict[int, str] = {}
        for backend, stubs in (("collector", (self.ingest, self.imports, self.sources, self.queries)),
                               ("nlp", (self.nlp,)),
                               ("insights", (self.insights, self.categories, self.alerts))):
            for stub in stubs:
                self._backend_of.update({id(method): backend for method in vars(stub).values()})

    @classmethod
    def connect(cls, *, collector_target: str, nlp_target: str, insights_target: str,
                timeout_s: float) -> Backends:
        # Channels connect lazily: the gateway starts (and /readyz says why it is not ready) while
        # a backend is still down.
        return cls(collector=insecure_channel(collector_target), nlp=insecure_channel(nlp_target),
                   insights=insecure_channel(insights_target), timeout_s=timeout_s)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()

    async def call(self, method: Callable[..., Awaitable[R]], request: Any, *,
                   timeout_s: float | None = None) -> R:
        """``method(request)`` with a deadline (the default one unless ``timeout_s``); a failed call
        raises ``RemoteError``. ``request`` is a message, or an async iterator of messages for a
        client-streaming method (the deadline then covers the whole stream)."""
        backend = self._backend_of.get(id(method), "backend")
        try:
            return await method(request, timeout=timeout_s or self._timeout)
        except aio.AioRpcError as exc:
            code = exc.code()
            logger.log(logging.DEBUG if code in _QUIET else logging.WARNING,
                       "%s call failed: %s %s", backend, code.name, exc.details())
            raise RemoteError.from_rpc_error(backend, exc) from None

    async def stream(self, method: Callable[..., Any], request: Any, *,
                     idle_timeout_s: float | None = None) -> AsyncIterator[Any]:
        """The messages of a server-streaming ``method(request)``. There is no deadline on the
        whole stream (an export may run for long), but each message must come within
        ``idle_timeout_s`` (default: the call deadline); a failure raises ``RemoteError``. Closing
        the iterator early cancels the call."""
        backend = self._backend_of.get(id(method), "backend")
        call = method(request)
        idle = idle_timeout_s or self._timeout
        try:
            while True:
                try:
                    msg = await asyncio.wait_for(call.read(), idle)
                except TimeoutError:
                    logger.warning("%s stream sent nothing for %.0f s; cancelled", backend, idle)
                    raise RemoteError(backend, grpc.StatusCode.DEADLINE_EXCEEDED,
                                      "the stream stalled") from None
                if msg is aio.EOF:
                    return
                yield msg
        except aio.AioRpcError as exc:
            logger.warning("%s stream failed: %s %s", backend, exc.code().name, exc.details())
            raise RemoteError.from_rpc_error(backend, exc) from None
        finally:
            call.cancel()

    async def health(self, timeout_s: float) -> dict[str, str]:
        """grpc.health.v1 status of each backend: "SERVING", another status name, or the error."""

        async def check(channel: aio.Channel) -> str:
            try:
                resp = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=timeout_s)
                return health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
            except aio.AioRpcError as exc:
                return exc.code().name
            except Exception as exc:  # never let a probe raise: /readyz reports instead
                return type(exc).__name__

        names = list(self._channels)
        results = await asyncio.gather(*(check(self._channels[n]) for n in names))
        return dict(zip(names, results, strict=True))
