"""ASGI middleware: the trace headers of the response, and the request body size limit.

Both are plain ASGI (not BaseHTTPMiddleware) so the handler runs in the same context as the
instrumentation's server span: the gRPC channels read the current span from that context to
propagate the trace.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import HTTPException
from opentelemetry import trace
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dengar_common.telemetry import current_trace_id, inject_headers
from dengar_gateway.entrypoints.problems import problem_response

logger = logging.getLogger(__name__)

_PROBES = frozenset({"/healthz", "/readyz"})


class TracingMiddleware:
    """Returns ``traceparent`` and ``X-Trace-Id`` of the request's server span (made by the official
    FastAPI instrumentation, which continues an incoming ``traceparent``) so a client can quote the
    trace in a bug report.

    It is also the last line for unexpected exceptions: answering the 500 here (rather than in
    Starlette's outer error middleware) keeps the problem document and the trace headers on it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        path = scope.get("path", "")
        started = time.perf_counter()
        status: dict[str, Any] = {"code": None}
        span = trace.get_current_span()
        trace_headers = inject_headers()
        trace_id = current_trace_id()

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                out = MutableHeaders(scope=message)
                if "traceparent" in trace_headers:
                    out["traceparent"] = trace_headers["traceparent"]
                if trace_id:
                    out["X-Trace-Id"] = trace_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        except Exception as exc:
            logger.exception("unhandled error on %s %s", method, path)
            span.record_exception(exc)
            if status["code"] is not None:
                raise  # the response already started; nothing sane can be sent
            response = problem_response(None, 500, detail="internal error", slug="internal-error",
                                        extensions={"instance": path})
            await response(scope, receive, send_with_trace)
        code = status["code"] or 500
        elapsed_ms = (time.perf_counter() - started) * 1000
        # Orchestrators poll the probes; a not-ready gateway is reported by /readyz itself.
        loud = code >= 500 and path not in _PROBES
        logger.log(logging.WARNING if loud else logging.DEBUG,
                   "%s %s -> %d in %.1f ms", method, path, code, elapsed_ms)


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyLimitMiddleware:
    """Refuses bodies over ``max_bytes`` with 413: from Content-Length before reading anything,
    and while reading for bodies without one (chunked), so no oversized body is ever buffered."""

    def __init__(self, app: ASGIApp, *, max_bytes: int,
                 path_limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Exact paths with their own limit (file uploads are far larger than JSON bodies).
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        max_bytes = self.path_limits.get(scope.get("path", "").rstrip("/"), self.max_bytes)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > max_bytes
            except ValueError:
                response = problem_response(None, 400, detail="invalid Content-Length header",
                                            extensions={"instance": scope.get("path", "")})
                await response(scope, receive, send)
                return
            if too_big:
                response = problem_response(
                    None, 413, detail=f"the request body is larger than {max_bytes} bytes",
                    extensions={"instance": scope.get("path", "")})
                await response(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    # Raised into whoever reads the body; the HTTPException handler renders it.
                    raise HTTPException(413, f"the request body is larger than {max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)
