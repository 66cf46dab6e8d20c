"""OpenTelemetry set-up and W3C trace-context propagation over HTTP, gRPC metadata and NATS headers."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

logger = logging.getLogger(__name__)


def configure_tracing(service_name: str, *, console: bool = False,
                      processors: list[SpanProcessor] | None = None) -> TracerProvider:
    """Install a tracer provider for this process. Exporters are opt-in."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if console:
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    for proc in processors or []:
        provider.add_span_processor(proc)
    trace.set_tracer_provider(provider)
    return provider


def inject_headers(carrier: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Headers carrying the current trace context (traceparent/tracestate)."""
    out: dict[str, str] = dict(carrier or {})
    propagate.inject(out)
    return out


def current_trace_id() -> str:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""


@contextmanager
def span_from_headers(name: str, headers: Mapping[str, str] | None, *,
                      kind: trace.SpanKind = trace.SpanKind.CONSUMER,
                      attributes: dict[str, Any] | None = None) -> Iterator[trace.Span]:
    """Start a span whose parent is the context found in ``headers`` (if any)."""
    parent = propagate.extract(dict(headers or {}))
    token = otel_context.attach(parent)
    try:
        tracer = trace.get_tracer("dengar")
        with tracer.start_as_current_span(name, kind=kind, attributes=attributes or {}) as span:
            yield span
    finally:
        otel_context.detach(token)
