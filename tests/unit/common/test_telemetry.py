"""Telemetry helpers: OTEL_* parsing, bounded attributes, and trace ids in JSON logs."""

from __future__ import annotations

import io
import json
import logging

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider

from dengar_common import metrics, telemetry
from dengar_common.grpcutil import _status_name
from dengar_common.logs import _JsonFormatter


def _log_line(message: str) -> dict[str, str]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_JsonFormatter())
    log = logging.getLogger("test.telemetry.json")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("%s", message)
    finally:
        log.removeHandler(handler)
    doc: dict[str, str] = json.loads(stream.getvalue())
    return doc


def test_json_logs_carry_the_current_trace_and_span_ids() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        doc = _log_line("inside")
    ctx = span.get_span_context()
    assert doc["msg"] == "inside"
    assert doc["trace_id"] == format(ctx.trace_id, "032x")
    assert doc["span_id"] == format(ctx.span_id, "016x")
    assert "trace_id" not in _log_line("outside")


def test_protocol_and_endpoint_come_from_the_standard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                 "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
                 "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
                 "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    assert not telemetry.otlp_enabled("traces") and not telemetry.otlp_enabled("metrics")
    assert telemetry.otlp_protocol("traces") == "http/protobuf"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf")
    assert telemetry.otlp_enabled("traces") and telemetry.otlp_enabled("metrics")
    assert telemetry.otlp_protocol("traces") == "grpc"
    assert telemetry.otlp_protocol("metrics") == "http/protobuf"
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    assert not telemetry.otlp_enabled("metrics")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(telemetry.TelemetryConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        telemetry.otlp_protocol("traces")


def test_tenant_attribute_only_when_enabled() -> None:
    assert metrics.attrs({"dengar.result": "new"}, "acme") == {"dengar.result": "new"}
    metrics.enable_tenant_attribute(True)
    try:
        assert metrics.attrs({"dengar.result": "new"}, "acme") == {"dengar.result": "new",
                                                                  "dengar.tenant.id": "acme"}
    finally:
        metrics.enable_tenant_attribute(False)


def test_messaging_attributes_name_a_bounded_destination() -> None:
    attrs = telemetry.messaging_attributes("dengar.posts.collected.acme", "send", message_id="acme:x:1")
    assert attrs["messaging.destination.template"] == "dengar.posts.collected.{tenant}"
    assert attrs["messaging.destination.name"] == "dengar.posts.collected.acme"
    assert attrs["messaging.system"] == "nats" and attrs["messaging.message.id"] == "acme:x:1"


class _Context:
    def __init__(self, code: object) -> None:
        self._code = code

    def code(self) -> object:
        return self._code


def test_rpc_status_names() -> None:
    assert _status_name(_Context(None), None) == "OK"
    assert _status_name(_Context(grpc.StatusCode.NOT_FOUND), RuntimeError()) == "NOT_FOUND"
    assert _status_name(_Context(3), RuntimeError()) == "INVALID_ARGUMENT"
    assert _status_name(_Context(None), RuntimeError()) == "UNKNOWN"


def test_trace_context_goes_only_to_the_listed_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not telemetry.may_propagate_to("hooks.customer.example")
    monkeypatch.setattr(telemetry, "_propagate_hosts", frozenset({"proxy.internal", ".mesh.local"}))
    assert telemetry.may_propagate_to("proxy.internal") and telemetry.may_propagate_to("PROXY.internal.")
    assert telemetry.may_propagate_to("a.mesh.local") and telemetry.may_propagate_to("mesh.local")
    assert not telemetry.may_propagate_to("proxy.internal.evil.example")
    assert not telemetry.may_propagate_to("evilmesh.local") and not telemetry.may_propagate_to("internal")
