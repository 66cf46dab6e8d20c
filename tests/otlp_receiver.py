"""An in-process OTLP receiver for the tests: the collector's gRPC TraceService and MetricsService
(``opentelemetry-proto`` and grpcio) and the ``http/protobuf`` endpoints ``/v1/traces`` and
``/v1/metrics``, recording what arrives and over which protocol."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


def attributes(kvs: Any) -> dict[str, Any]:
    """OTLP ``KeyValue``s as a dict of plain values."""
    out: dict[str, Any] = {}
    for kv in kvs:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which) if which else None
    return out


@dataclass(frozen=True)
class Span:
    service: str
    protocol: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Point:
    service: str
    protocol: str
    metric: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    value: float


@dataclass
class OtlpReceiver:
    spans: list[Span] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    grpc_port: int = 0
    http_port: int = 0
    _grpc: Any = None
    _http: Any = None

    # -- recording --------------------------------------------------------------------------------

    def add_traces(self, req: trace_service_pb2.ExportTraceServiceRequest, protocol: str) -> None:
        found = []
        for rs in req.resource_spans:
            service = str(attributes(rs.resource.attributes).get("service.name", ""))
            for ss in rs.scope_spans:
                for s in ss.spans:
                    found.append(Span(service, protocol, s.name, s.kind, s.trace_id.hex(), s.span_id.hex(),
                                      s.parent_span_id.hex(), attributes(s.attributes)))
        with self._lock:
            self.spans.extend(found)

    def add_metrics(self, req: metrics_service_pb2.ExportMetricsServiceRequest, protocol: str) -> None:
        found = []
        for rm in req.resource_metrics:
            resource = attributes(rm.resource.attributes)
            service = str(resource.get("service.name", ""))
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = m.WhichOneof("data")
                    for p in getattr(m, kind).data_points:
                        if kind == "histogram":
                            value = float(p.count)
                        else:
                            value = float(p.as_double if p.WhichOneof("value") == "as_double" else p.as_int)
                        found.append(Point(service, protocol, m.name, attributes(p.attributes), resource,
                                           value))
        with self._lock:
            self.points.extend(found)

    # -- reading ----------------------------------------------------------------------------------

    def trace(self, trace_id: str) -> list[Span]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def metric(self, name: str, service: str | None = None) -> list[Point]:
        with self._lock:
            return [p for p in self.points if p.metric == name and (service is None or p.service == service)]

    def wait_for(self, check: Callable[[], bool], timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.2)
        return check()

    # -- serving ----------------------------------------------------------------------------------

    def start(self) -> OtlpReceiver:
        receiver = self

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:
                receiver.add_traces(request, "grpc")
                return trace_service_pb2.ExportTraceServiceResponse()

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:
                receiver.add_metrics(request, "grpc")
                return metrics_service_pb2.ExportMetricsServiceResponse()

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
        self.grpc_port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._grpc = server

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/traces":
                    req: Any = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                    receiver.add_traces(req, "http/protobuf")
                    answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                elif self.path == "/v1/metrics":
                    req = metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
                    receiver.add_metrics(req, "http/protobuf")
                    answer = metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http_port = http.server_address[1]
        threading.Thread(target=http.serve_forever, daemon=True).start()
        self._http = http
        return self

    def stop(self) -> None:
        if self._grpc is not None:
            self._grpc.stop(0)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    @property
    def grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def running_receiver() -> Iterator[OtlpReceiver]:
    """For a fixture: ``yield from running_receiver()``."""
    receiver = OtlpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


__all__ = ["OtlpReceiver", "Point", "Span", "attributes", "running_receiver"]
