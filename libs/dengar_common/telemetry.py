"""OpenTelemetry set-up, configured by the standard ``OTEL_*`` variables, and W3C trace-context
propagation over NATS headers (gRPC and HTTP use the official instrumentations).

Export is OTLP (``grpc`` or ``http/protobuf``) for traces and metrics, and only when an endpoint is
set: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the per-signal ``..._TRACES_ENDPOINT`` /
``..._METRICS_ENDPOINT``). The exporters, the sampler (``OTEL_TRACES_SAMPLER``), the resource
(``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``), the batch and export intervals and
``OTEL_SDK_DISABLED`` all read their own variables, so there is no Dengar setting for any of them.

Outbound HTTP (connectors polling platforms and feeds, alert webhooks to customers) gets client spans
but never carries trace context: ``traceparent``, ``tracestate`` and ``baggage`` would hand our trace
ids (and any baggage) to third parties. Only hosts named in ``propagate_hosts``
(``DENGAR_OTEL_PROPAGATE_HOSTS``, default none) receive them; Dengar's own traffic is gRPC and NATS.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

logger = logging.getLogger(__name__)

Signal = Literal["traces", "metrics"]
PROTOCOLS = ("grpc", "http/protobuf")
# The OTLP specification's default (the Python SDK's own auto-configuration defaults to grpc).
DEFAULT_PROTOCOL = "http/protobuf"
# The instrumentations emit the stable HTTP and database conventions (http.server.request.duration
# in seconds, http.request.method, db.system.name...) unless the operator asks otherwise.
DEFAULT_SEMCONV_OPT_IN = "http,database"
MESSAGING_SYSTEM = "nats"
SHUTDOWN_TIMEOUT_MS = 5000


class TelemetryConfigError(ValueError):
    """An ``OTEL_*`` variable Dengar cannot honour (named in the message)."""


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def sdk_disabled() -> bool:
    """``OTEL_SDK_DISABLED=true``: no SDK at all, every tracer and meter is a no-op."""
    return _env("OTEL_SDK_DISABLED").lower() == "true"


def otlp_protocol(signal: Signal) -> str:
    """The OTLP protocol of ``signal``: the per-signal variable, then the general one."""
    key = f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL"
    protocol = _env(key) or _env("OTEL_EXPORTER_OTLP_PROTOCOL") or DEFAULT_PROTOCOL
    if protocol not in PROTOCOLS:
        name = key if _env(key) else "OTEL_EXPORTER_OTLP_PROTOCOL"
        raise TelemetryConfigError(f"{name}: {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    return protocol


def otlp_enabled(signal: Signal) -> bool:
    """True when an OTLP endpoint is configured for ``signal`` and its exporter is not ``none``."""
    if _env(f"OTEL_{signal.upper()}_EXPORTER").lower() == "none":
        return False
    return bool(_env(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT") or _env("OTEL_EXPORTER_OTLP_ENDPOINT"))


def _span_exporter(protocol: str) -> Any:
    # The exporters read their endpoint, headers, timeout, compression and TLS from OTEL_* themselves.
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter()


def _metric_exporter(protocol: str) -> Any:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcExporter,
        )

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpExporter

    return HttpExporter()


def make_resource(service_name: str, attributes: Mapping[str, str] | None = None) -> Resource:
    """The process's resource: Dengar's defaults, overridden by ``OTEL_RESOURCE_ATTRIBUTES`` and
    ``OTEL_SERVICE_NAME`` (the operator's word wins)."""
    defaults: dict[str, Any] = {"service.name": service_name, "service.namespace": "dengar"}
    try:
        from importlib.metadata import version

        defaults["service.version"] = version("dengar")
    except Exception:  # running from a tree that is not installed
        logger.debug("dengar is not installed; no service.version", exc_info=True)
    defaults.update(attributes or {})
    from_env = OTELResourceDetector().detect()
    return Resource.create({**defaults, **dict(from_env.attributes)})


@dataclass
class Telemetry:
    """What ``configure_telemetry`` installed; ``shutdown`` flushes and stops the exporters."""

    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    exporting: list[str] = field(default_factory=list)
    prometheus_port: int | None = None
    _prometheus_server: Any = None

    def shutdown(self) -> None:
        try:
            if self.tracer_provider is not None:
                self.tracer_provider.shutdown()
            if self.meter_provider is not None:
                # Bounded: an unreachable collector must not hold the exit past the pod's grace.
                self.meter_provider.shutdown(timeout_millis=SHUTDOWN_TIMEOUT_MS)
        except Exception:
            logger.exception("shutting down telemetry failed")
        if self._prometheus_server is not None:
            server, thread = self._prometheus_server
            server.shutdown()
            thread.join(timeout=5)


def configure_telemetry(service_name: str, *, console: bool = False, prometheus_port: int | None = None,
                        prometheus_host: str = "127.0.0.1",
                        resource_attributes: Mapping[str, str] | None = None,
                        span_processors: Sequence[SpanProcessor] = (),
                        metric_readers: Sequence[MetricReader] = (),
                        instrument: bool = True, propagate_hosts: Iterable[str] = ()) -> Telemetry:
    """Install this process's tracer and meter providers (once, from an entrypoint).

    A tracer provider is always installed (unless ``OTEL_SDK_DISABLED``) so that every request has a
    trace id for its logs and its ``X-Trace-Id``; spans leave the process only through an OTLP
    endpoint, ``console`` (``DENGAR_OTEL_CONSOLE``) or ``span_processors`` (tests). Metrics go to
    OTLP with an endpoint, and to a Prometheus scrape endpoint on ``prometheus_port`` when set.
    ``instrument`` also instruments PyMongo and httpx (gRPC and FastAPI are instrumented where
    their servers and channels are made); httpx requests send trace context only to
    ``propagate_hosts``.
    """
    if sdk_disabled():
        logger.info("OTEL_SDK_DISABLED: no traces or metrics")
        return Telemetry()
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", DEFAULT_SEMCONV_OPT_IN)
    resource = make_resource(service_name, resource_attributes)
    out = Telemetry(prometheus_port=prometheus_port)

    # The sampler comes from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (parentbased_always_on).
    tracer_provider = TracerProvider(resource=resource)
    if console:
        tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    if otlp_enabled("traces"):
        protocol = otlp_protocol("traces")
        tracer_provider.add_span_processor(BatchSpanProcessor(_span_exporter(protocol)))
        out.exporting.append(f"traces (OTLP {protocol})")
    for proc in span_processors:
        tracer_provider.add_span_processor(proc)

    readers: list[MetricReader] = list(metric_readers)
    if otlp_enabled("metrics"):
        protocol = otlp_protocol("metrics")
        # The interval is OTEL_METRIC_EXPORT_INTERVAL (60 s by default).
        readers.append(PeriodicExportingMetricReader(_metric_exporter(protocol)))
        out.exporting.append(f"metrics (OTLP {protocol})")
    if prometheus_port is not None:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server

        readers.append(PrometheusMetricReader())
        server, thread = start_http_server(prometheus_port, addr=prometheus_host)
        out._prometheus_server = (server, thread)
        out.prometheus_port = server.server_port
        out.exporting.append(f"metrics (Prometheus on {prometheus_host}:{out.prometheus_port}/metrics)")
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)

    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    out.tracer_provider, out.meter_provider = tracer_provider, meter_provider
    if instrument:
        instrument_clients(propagate_hosts=propagate_hosts)
    logger.info("telemetry of %s: %s", resource.attributes.get("service.name"),
                ", ".join(out.exporting) or "not exported (no OTEL_EXPORTER_OTLP_ENDPOINT)")
    return out


def instrument_clients(*, propagate_hosts: Iterable[str] = ()) -> None:
    """The official PyMongo and httpx instrumentations: client spans, and trace context on HTTP calls
    only to ``propagate_hosts`` (exact host names, or ``.example.com`` for its subdomains)."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    global _propagate_hosts
    _propagate_hosts = frozenset(h.strip().lower() for h in propagate_hosts if h.strip())
    # Statements are not captured: they hold tenants' search terms.
    PymongoInstrumentor().instrument(capture_statement=False)
    httpx_instrumentor = HTTPXClientInstrumentor()
    if not _strip_installed():
        # The instrumentation injects inside its own wrapper, just before calling the transport it
        # wrapped; the strip must be that transport, so it goes under an earlier instrumentation.
        was_instrumented = httpx_instrumentor.is_instrumented_by_opentelemetry
        if was_instrumented:
            httpx_instrumentor.uninstrument()
        _install_strip()
    if not httpx_instrumentor.is_instrumented_by_opentelemetry:
        httpx_instrumentor.instrument()


# Hosts that may receive trace context over HTTP; set by instrument_clients.
_propagate_hosts: frozenset[str] = frozenset()
_STRIP_MARK = "_dengar_strips_trace_context"


def may_propagate_to(host: str) -> bool:
    """Whether an HTTP request to ``host`` may carry trace context (``propagate_hosts``)."""
    host = host.lower().rstrip(".")
    return host in _propagate_hosts or any(
        h.startswith(".") and (host.endswith(h) or host == h[1:]) for h in _propagate_hosts)


def _strip_trace_context(request: Any) -> None:
    """Remove what the global propagator injects (traceparent, tracestate, baggage, or whatever
    ``OTEL_PROPAGATORS`` names) from a request to a host not in ``propagate_hosts``."""
    if isinstance(request, httpx.Request) and not may_propagate_to(request.url.host):
        for name in propagate.get_global_textmap().fields:
            if name in request.headers:
                del request.headers[name]


def _strip_installed() -> bool:
    return bool(getattr(httpx.HTTPTransport.handle_request, _STRIP_MARK, False))


def _install_strip() -> None:
    sync_original = httpx.HTTPTransport.handle_request
    async_original = httpx.AsyncHTTPTransport.handle_async_request

    @functools.wraps(sync_original)
    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        _strip_trace_context(request)
        return sync_original(self, request)

    @functools.wraps(async_original)
    async def handle_async_request(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        _strip_trace_context(request)
        return await async_original(self, request)

    setattr(handle_request, _STRIP_MARK, True)
    setattr(handle_async_request, _STRIP_MARK, True)
    # Patched on the classes, where the instrumentation wraps too, so every transport gets it.
    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]  # see above
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]  # see above


def inject_headers(carrier: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Headers carrying the current trace context (traceparent/tracestate)."""
    out: dict[str, str] = dict(carrier or {})
    propagate.inject(out)
    return out


def current_trace_id() -> str:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""


def current_ids() -> tuple[str, str]:
    """The current trace and span ids (hex), empty outside a span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return "", ""
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


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


def subject_template(subject: str) -> str:
    """``dengar.posts.collected.acme`` → ``dengar.posts.collected.{tenant}``: bounded span names
    and attributes (every Dengar subject ends with its tenant)."""
    head, _, _ = subject.rpartition(".")
    return f"{head}.{{tenant}}" if head else subject


def messaging_attributes(subject: str, operation: str, *, message_id: str | None = None,
                         consumer_group: str | None = None) -> dict[str, Any]:
    """Messaging semantic-convention attributes of a NATS operation (``send`` or ``process``)."""
    attrs: dict[str, Any] = {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.operation.name": operation,
        "messaging.operation.type": operation,
        "messaging.destination.name": subject,
        "messaging.destination.template": subject_template(subject),
    }
    if message_id:
        attrs["messaging.message.id"] = message_id
    if consumer_group:
        attrs["messaging.consumer.group.name"] = consumer_group
    return attrs


@contextmanager
def producer_span(subject: str, *, message_id: str | None = None) -> Iterator[trace.Span]:
    """A PRODUCER span around one publish (``send <subject template>``); the headers injected
    inside it make it the parent of the consumer's span."""
    tracer = trace.get_tracer("dengar")
    with tracer.start_as_current_span(f"send {subject_template(subject)}", kind=trace.SpanKind.PRODUCER,
                                      attributes=messaging_attributes(subject, "send",
                                                                      message_id=message_id)) as span:
        yield span


@contextmanager
def consumer_span(subject: str, headers: Mapping[str, str] | None, *, consumer_group: str,
                  message_id: str | None = None,
                  attributes: dict[str, Any] | None = None) -> Iterator[trace.Span]:
    """A CONSUMER ``process`` span continuing the producer's trace from the message's headers."""
    attrs = messaging_attributes(subject, "process", message_id=message_id, consumer_group=consumer_group)
    attrs.update(attributes or {})
    with span_from_headers(f"process {subject_template(subject)}", headers, kind=trace.SpanKind.CONSUMER,
                           attributes=attrs) as span:
        yield span
