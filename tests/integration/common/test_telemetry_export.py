"""``configure_telemetry`` in a fresh process (the providers are process-global), exporting to an
in-process OTLP receiver over both protocols, configured only by the standard OTEL_* variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from otlp_receiver import OtlpReceiver, running_receiver

PROBE = r"""
import json, sys, urllib.request
from opentelemetry import trace
from dengar_common import metrics
from dengar_common.telemetry import configure_telemetry

metrics.enable_tenant_attribute(sys.argv[1] == "tenant")
port = int(sys.argv[2]) if len(sys.argv) > 2 else None
t = configure_telemetry("dengar-probe", resource_attributes={"dengar.probe": "yes"}, instrument=False,
                        prometheus_port=port)
with trace.get_tracer("probe").start_as_current_span("probe-span"):
    pass
metrics.instruments().posts_ingested.add(3, metrics.attrs({"dengar.result": "new"}, "acme"))
scraped = ""
if t.prometheus_port is not None:
    scraped = urllib.request.urlopen(f"http://127.0.0.1:{t.prometheus_port}/metrics").read().decode()
t.shutdown()
print(json.dumps({"exporting": t.exporting, "scraped": scraped}))
"""


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    yield from running_receiver()


def _probe(env: dict[str, str], *args: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    res = subprocess.run([sys.executable, "-c", PROBE, "no-tenant", *args], env={**clean, **env},
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    out: dict[str, object] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_traces_and_metrics_go_out_over_otlp(receiver: OtlpReceiver, protocol: str) -> None:
    endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
    name = f"probe-{protocol.replace('/', '-')}"
    out = _probe({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
                  "OTEL_SERVICE_NAME": name, "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=test"})
    assert out["exporting"] == [f"traces (OTLP {protocol})", f"metrics (OTLP {protocol})"]
    # shutdown() flushed both before the process exited.
    spans = [s for s in receiver.spans if s.service == name]
    assert [(s.name, s.protocol) for s in spans] == [("probe-span", protocol)]
    [point] = receiver.metric("dengar.posts.ingested", service=name)
    assert point.protocol == protocol and point.value == 3
    # No tenant on a per-post counter unless enabled.
    assert point.attributes == {"dengar.result": "new"}
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win; Dengar's own attributes stay.
    assert point.resource["deployment.environment.name"] == "test"
    assert point.resource["dengar.probe"] == "yes"
    assert point.resource["service.namespace"] == "dengar"


def test_nothing_is_exported_without_an_endpoint(receiver: OtlpReceiver) -> None:
    out = _probe({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert out["exporting"] == []
    assert not [s for s in receiver.spans if s.service == "dengar-probe"]


def test_sdk_disabled_and_sampler_are_honoured(receiver: OtlpReceiver) -> None:
    base = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.grpc_endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    out = _probe({**base, "OTEL_SDK_DISABLED": "true", "OTEL_SERVICE_NAME": "probe-disabled"})
    assert out["exporting"] == []
    assert not [p for p in receiver.points if p.service == "probe-disabled"]
    _probe({**base, "OTEL_TRACES_SAMPLER": "always_off", "OTEL_SERVICE_NAME": "probe-unsampled"})
    assert not [s for s in receiver.spans if s.service == "probe-unsampled"]
    assert receiver.metric("dengar.posts.ingested", service="probe-unsampled")


def test_prometheus_scrape_endpoint_is_opt_in() -> None:
    out = _probe({}, "0")
    assert out["exporting"] and "Prometheus" in str(out["exporting"])
    scraped = str(out["scraped"])
    assert 'dengar_posts_ingested_total{dengar_result="new"' in scraped, scraped[-2000:]
    assert _probe({})["scraped"] == ""
