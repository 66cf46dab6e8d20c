"""Telemetry end to end: the four services as processes export to an in-process OTLP receiver,
configured only by OTEL_* variables (gateway and nlp over grpc, collector and insights over
http/protobuf). One post must yield one trace across every service and both NATS hops down to the
store, and the platform's metrics must arrive."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from otlp_receiver import OtlpReceiver, Span, running_receiver

from dengar_cli.platform import Platform

pytestmark = pytest.mark.e2e

KEY_RE = re.compile(r"dgr_[A-Za-z0-9_\-]+")
SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # OTLP Span.SpanKind
WRITES = ("update", "insert", "findAndModify", "bulkWrite")  # MongoDB commands that store a mention


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    yield from running_receiver()


@pytest.fixture(scope="module")
def otel_platform(receiver: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=e2e",
        # Short intervals so the test need not wait for the defaults (5 s, 60 s).
        "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_METRIC_EXPORT_INTERVAL": "500",
        "DENGAR_LOG_JSON": "true",
    }
    grpc = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.grpc_endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    http = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
    p = Platform(home=tmp_path_factory.mktemp("otel"), subject_root="otel", db_prefix="otel", env=env)
    try:
        # Platform.start's order, with each service's own exporter settings.
        p.start_infra()
        p.start_service("collector", http)
        p.start_service("nlp", grpc).wait_port()
        p.start_service("insights", http)
        p.procs["collector"].wait_port()
        p.procs["insights"].wait_port()
        # The gateway logs every request at DEBUG: its JSON lines must carry the trace.
        p.start_service("gateway", {**grpc, "DENGAR_LOG_LEVEL": "DEBUG"}).wait_port()
        p.wait_ready()
        yield p
    finally:
        p.stop()


def _chain(spans: list[Span], span: Span) -> list[Span] | None:
    """``span`` and its ancestors up to the root, or None while one of them has not arrived."""
    by_id = {s.span_id: s for s in spans}
    out = [span]
    while out[-1].parent_span_id:
        parent = by_id.get(out[-1].parent_span_id)
        if parent is None:
            return None
        out.append(parent)
    return out


def test_one_post_is_one_trace_across_every_service_and_the_metrics_arrive(
        otel_platform: Platform, receiver: OtlpReceiver) -> None:
    key = KEY_RE.search(otel_platform.admin("tenants", "create", "Otel Foods", "--id", "oteltenant"))
    assert key
    post = {"platform": "x", "external_id": "otel-1", "text": "Delivery was late again, very disappointed",
            "created_at": datetime.now(UTC).isoformat()}
    with httpx.Client(base_url=otel_platform.api_url, timeout=30,
                      headers={"Authorization": f"Bearer {key.group(0)}"}) as c:
        r = c.post("/v1/posts", json={"posts": [post]})
        assert r.status_code == 202, r.text
        trace_id = r.headers["x-trace-id"]
        [mid] = r.json()["ids"]
        deadline = time.monotonic() + 30
        while (got := c.get(f"/v1/mentions/{mid}")).status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert got.status_code == 200 and got.json()["trace_id"] == trace_id

    def store_write() -> list[Span] | None:
        """The chain from the insights write of the mention up to the root, once it all arrived."""
        spans = receiver.trace(trace_id)
        for s in spans:
            if (s.service == "dengar-insights" and s.kind == CLIENT and "db.system.name" in s.attributes
                    and s.attributes.get("db.collection.name") == "mentions"
                    and s.attributes.get("db.query.text") in WRITES):
                chain = _chain(spans, s)
                if chain is not None:
                    return chain
        return None

    assert receiver.wait_for(lambda: store_write() is not None, timeout=20), \
        sorted({(s.service, s.kind, s.name, s.parent_span_id) for s in receiver.trace(trace_id)})
    chain = store_write()
    assert chain is not None
    spans = receiver.trace(trace_id)

    # The store write's ancestry is the whole path, each hop the child of the one before.
    path = [(s.service, s.kind, s.name) for s in reversed(chain)]
    services = [svc for svc, _, _ in path]
    assert services[0] == "dengar-gateway" and path[0][1] == SERVER and path[0][2] == "POST /v1/posts"
    order = list(dict.fromkeys(services))
    assert order == ["dengar-gateway", "dengar-collector", "dengar-nlp", "dengar-insights"], path
    kinds = [(svc, kind) for svc, kind, _ in path]
    for hop in [("dengar-gateway", CLIENT), ("dengar-collector", SERVER), ("dengar-collector", PRODUCER),
                ("dengar-nlp", CONSUMER), ("dengar-nlp", PRODUCER), ("dengar-insights", CONSUMER)]:
        assert hop in kinds, (hop, path)
    # Only the gateway's request is a root: one post, one trace.
    assert [s.name for s in spans if not s.parent_span_id] == ["POST /v1/posts"]

    # Each service exported over its own protocol.
    assert {(s.service, s.protocol) for s in spans} == {
        ("dengar-gateway", "grpc"), ("dengar-collector", "http/protobuf"),
        ("dengar-nlp", "grpc"), ("dengar-insights", "http/protobuf")}

    # The NATS hops follow the messaging conventions, with a bounded destination template.
    nlp_process = next(s for s in spans if s.service == "dengar-nlp" and s.kind == CONSUMER)
    assert nlp_process.name == "process otel.posts.collected.{tenant}"
    assert nlp_process.attributes["messaging.system"] == "nats"
    assert nlp_process.attributes["messaging.operation.type"] == "process"
    assert nlp_process.attributes["messaging.consumer.group.name"] == "nlp"
    assert nlp_process.attributes["messaging.destination.name"] == "otel.posts.collected.oteltenant"
    send = next(s for s in spans if s.service == "dengar-collector" and s.kind == PRODUCER)
    assert send.attributes["messaging.message.id"] == "oteltenant:x:otel-1"
    # What storing the mention caused (its live-stream event) belongs to the same trace.
    assert receiver.wait_for(lambda: any(
        s.name == "send otel.mentions.stored.{tenant}" and s.service == "dengar-insights"
        for s in receiver.trace(trace_id)), timeout=10)

    # Metrics: RED per route and method, the pipeline's counters, the consumers' lag, NLP latency.
    def routes() -> set[str | None]:
        return {p.attributes.get("http.route") for p in receiver.metric("http.server.request.duration")}

    def arrived() -> bool:
        # The mention read may land in a later export interval than the post's write.
        return {"/v1/posts", "/v1/mentions/{mention_id}"} <= routes() and all(
            receiver.metric(name, service) for name, service in [
            ("http.server.request.duration", "dengar-gateway"),
            ("rpc.server.call.duration", "dengar-collector"),
            ("dengar.posts.ingested", "dengar-collector"),
            ("dengar.posts.enriched", "dengar-nlp"),
            ("dengar.nlp.batch.duration", "dengar-nlp"),
            ("dengar.posts.stored", "dengar-insights"),
            ("dengar.messaging.consumer.pending", "dengar-nlp"),
            ("messaging.client.consumed.messages", "dengar-insights"),
        ])

    assert receiver.wait_for(arrived, timeout=20), (
        sorted({(p.service, p.metric) for p in receiver.points}), routes())
    methods = {(p.attributes["rpc.method"], p.attributes["rpc.response.status_code"])
               for p in receiver.metric("rpc.server.call.duration", "dengar-collector")}
    assert ("dengar.v1.CollectorService/IngestPosts", "OK") in methods
    ingested = receiver.metric("dengar.posts.ingested", "dengar-collector")[-1]
    assert ingested.value >= 1 and "dengar.tenant.id" not in ingested.attributes
    stored_points = receiver.metric("dengar.posts.stored", "dengar-insights")
    assert any(p.attributes == {"dengar.result": "inserted"} and p.value >= 1 for p in stored_points)
    batch = receiver.metric("dengar.nlp.batch.duration", "dengar-nlp")[-1]
    assert batch.resource["dengar.nlp.model.version"].startswith("dengar-nlp-")
    assert batch.resource["deployment.environment.name"] == "e2e"
    lag = {p.attributes["messaging.consumer.group.name"] for p in
           receiver.metric("dengar.messaging.consumer.pending")}
    assert {"nlp", "insights"} <= lag

    # JSON logs carry the ids of the span that logged them.
    lines = [json.loads(line) for line in Path(otel_platform.log_path("gateway")).read_text().splitlines()
             if line.startswith("{")]
    request_logs = [d for d in lines if d.get("trace_id") == trace_id and "/v1/posts" in d["msg"]]
    assert request_logs and all(len(d["span_id"]) == 16 for d in request_logs)
