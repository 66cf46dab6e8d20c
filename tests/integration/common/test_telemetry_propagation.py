"""Outbound HTTP keeps its client spans but sends no trace context to third parties: a real local
server stands in for a customer's webhook endpoint and a polled platform, and ``configure_telemetry``
runs in a fresh process (the instrumentation and providers are process-global)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

PROBE = r"""
import asyncio, json, sys
import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from dengar_common.http_safety import EgressPolicy, SafeHttpClient, SafeHttpConfig
from dengar_common.telemetry import configure_telemetry

port = int(sys.argv[1])
if sys.argv[3] == "pre-instrumented":  # e.g. by opentelemetry-instrument, before our entrypoint
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    HTTPXClientInstrumentor().instrument()
exporter = InMemorySpanExporter()
t = configure_telemetry("dengar-probe", span_processors=[SimpleSpanProcessor(exporter)],
                        propagate_hosts=json.loads(sys.argv[2]))

async def resolve(host, port):
    return ["127.0.0.1"]

async def outbound():
    config = SafeHttpConfig(policy=EgressPolicy.from_cidrs(["127.0.0.1/32"]))
    async with SafeHttpClient(config, resolver=resolve) as client:
        # An alert webhook to a customer, a poll of a platform, and a host the operator allowed.
        await client.request("POST", f"http://hooks.customer.example:{port}/webhook", json={"alert": 1})
        await client.get(f"http://api.platform.example:{port}/poll")
        await client.get(f"http://tracing-proxy.internal:{port}/allowed")

with trace.get_tracer("probe").start_as_current_span("deliver"):
    asyncio.run(outbound())
    with httpx.Client() as client:  # the synchronous transport too
        client.get(f"http://127.0.0.1:{port}/sync")
t.shutdown()
print(json.dumps([{"name": s.name, "kind": s.kind.name, "url": s.attributes.get("url.full"),
                   "trace_id": format(s.context.trace_id, "032x")} for s in exporter.get_finished_spans()]))
"""


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def third_party() -> Iterator[tuple[int, list[tuple[str, dict[str, str]]]]]:
    seen: ClassVar[list[tuple[str, dict[str, str]]]] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def _probe(port: int, propagate_hosts: list[str], order: str = "plain") -> list[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    res = subprocess.run([sys.executable, "-c", PROBE, str(port), json.dumps(propagate_hosts), order],
                         env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    spans: list[dict[str, str]] = json.loads(res.stdout.strip().splitlines()[-1])
    return spans


def test_outbound_http_gets_client_spans_but_no_trace_context(
        third_party: tuple[int, list[tuple[str, dict[str, str]]]]) -> None:
    port, seen = third_party
    spans = _probe(port, ["tracing-proxy.internal"])

    headers = dict(seen)
    assert sorted(headers) == ["/allowed", "/poll", "/sync", "/webhook"]
    for path in ("/webhook", "/poll", "/sync"):
        assert not {"traceparent", "tracestate", "baggage"} & set(headers[path]), path
    # The one host the operator listed does get it, and it names the client span of that request.
    [(trace_id, allowed)] = [(s["trace_id"], s) for s in spans if s["url"] and s["url"].endswith("/allowed")]
    assert headers["/allowed"]["traceparent"].split("-")[1] == trace_id
    # Every request still has its client span, in the caller's trace.
    clients = sorted((s["name"], s["url"]) for s in spans if s["kind"] == "CLIENT")
    assert clients == sorted([
        ("POST", f"http://hooks.customer.example:{port}/webhook"),
        ("GET", f"http://api.platform.example:{port}/poll"),
        ("GET", f"http://tracing-proxy.internal:{port}/allowed"),
        ("GET", f"http://127.0.0.1:{port}/sync"),
    ])
    assert len({s["trace_id"] for s in spans}) == 1
    assert allowed["kind"] == "CLIENT"


@pytest.mark.parametrize("order", ["plain", "pre-instrumented"])
def test_no_host_receives_trace_context_by_default(
        third_party: tuple[int, list[tuple[str, dict[str, str]]]], order: str) -> None:
    port, seen = third_party
    spans = _probe(port, [], order)
    assert len(seen) == 4
    assert all("traceparent" not in h and "tracestate" not in h for _, h in seen)
    assert len([s for s in spans if s["kind"] == "CLIENT"]) == 4
