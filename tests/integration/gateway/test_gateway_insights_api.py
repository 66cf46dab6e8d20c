"""GET /v1/insights/spikes, /compare and /brief against gRPC doubles: shapes, 422s, the 404s."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from gateway_fakes import (
    SERVICE_NAMES,
    FakeCollector,
    FakeImports,
    FakeNlp,
    FakeQueries,
    Recorder,
    make_mention,
    make_query,
)
from insight_fakes import FakeInsightEngine, InsightBackends

from dengar.v1 import collector_pb2, collector_pb2_grpc, insights_pb2, insights_pb2_grpc, nlp_pb2_grpc
from dengar_common.grpcutil import make_server, set_serving
from dengar_gateway.domain.keys import Scope

RANGE = "from=2024-05-01T00:00:00Z&to=2024-05-03T00:00:00Z"
BRAND, COMPETITOR, TOPIC = (collector_pb2.QUERY_ROLE_BRAND, collector_pb2.QUERY_ROLE_COMPETITOR,
                            collector_pb2.QUERY_ROLE_TOPIC)


@pytest.fixture
async def fakes() -> AsyncIterator[InsightBackends]:
    """The suite's doubles, with an insights double that answers the insight engine too."""
    recs = Recorder(), Recorder(), Recorder()
    insights, queries, imports = FakeInsightEngine(recs[1]), FakeQueries(recs[0]), FakeImports(recs[0])
    server, health = make_server([
        lambda s: collector_pb2_grpc.add_CollectorServiceServicer_to_server(FakeCollector(recs[0]), s),
        lambda s: insights_pb2_grpc.add_InsightsServiceServicer_to_server(insights, s),
        lambda s: nlp_pb2_grpc.add_NlpServiceServicer_to_server(FakeNlp(recs[2]), s),
        lambda s: collector_pb2_grpc.add_QueryServiceServicer_to_server(queries, s),
        lambda s: collector_pb2_grpc.add_ImportServiceServicer_to_server(imports, s),
    ], SERVICE_NAMES)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await set_serving(health, SERVICE_NAMES, True)
    queries.queries["acme"] = [make_query("acme", "q_ours", "Kirimin", BRAND),
                               make_query("acme", "q_rival", "Paketku", COMPETITOR),
                               make_query("acme", "q_topic", "Ongkir", TOPIC)]
    queries.queries["globex"] = [make_query("globex", "q_theirs", "Theirs", BRAND)]
    try:
        yield InsightBackends(port, recs[0], recs[1], recs[2], insights, health, queries, imports)
    finally:
        await server.stop(0)


async def test_spikes(gateway, fakes) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    fakes.insights_servicer.mentions["acme"] = [make_mention("acme", "7", "Paket belum sampai")]
    resp = await gateway.client.get(
        f"/v1/insights/spikes?{RANGE}&interval=hour&metric=negative&query_id=q_ours", headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["from"], body["to"], body["interval"], body["metric"], body["query_id"]) == (
        "2024-05-01T00:00:00Z", "2024-05-03T00:00:00Z", "hour", "negative", "q_ours")
    [spike] = body["spikes"]
    keys = ("start", "end", "observed", "expected", "score", "severity", "confidence")
    assert {k: spike[k] for k in keys} == {
        "start": "2024-05-01T14:00:00Z", "end": "2024-05-01T15:00:00Z", "observed": 52.0, "expected": 13.5,
        "score": 9.1235, "severity": "high", "confidence": "medium"}
    aspect, term = spike["drivers"]
    assert {k: aspect[k] for k in ("kind", "value", "count", "baseline_count", "lift")} == {
        "kind": "aspect", "value": "delivery:negative", "count": 40, "baseline_count": 0, "lift": None}
    assert term["lift"] == 3.0 and term["evidence"] == []
    # Evidence renders exactly as /v1/mentions renders a mention.
    [evidence] = aspect["evidence"]
    listed = (await gateway.client.get("/v1/mentions", headers=headers)).json()["data"][0]
    assert evidence == listed
    [req] = fakes.insights.of("GetSpikes")
    assert (req.tenant_id, req.query_id, req.interval, req.metric) == (
        "acme", "q_ours", insights_pb2.INTERVAL_HOUR, insights_pb2.SPIKE_METRIC_NEGATIVE)
    assert [r.id for r in fakes.collector.of("GetQuery")] == ["q_ours"]

    plain = (await gateway.client.get(f"/v1/insights/spikes?{RANGE}", headers=headers)).json()
    assert plain["interval"] == "day" and plain["metric"] == "volume" and plain["query_id"] is None
    assert fakes.insights.of("GetSpikes")[1].query_id == ""


async def test_compare(gateway, fakes) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    resp = await gateway.client.get(f"/v1/insights/compare?{RANGE}", headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["previous_from"] == "2024-04-29T00:00:00Z"
    assert body["volume"] == {"current": 120, "previous": 100, "absolute": 20, "relative": 0.2}
    assert body["sentiment"]["negative"]["relative"] is None
    assert [(s["query_id"], s["name"]) for s in body["share_of_voice"]] == [
        ("q_ours", "Kirimin"), ("q_rival", "Paketku")]
    assert body["aspects"] == [{"name": "delivery", "polarity": {"negative": {
        "current": 30, "previous": 10, "absolute": 20, "relative": 2.0}}}]
    assert body["terms"][0]["name"] == "telat"
    [req] = fakes.insights.of("ComparePeriods")
    assert [(q.id, q.name, q.role) for q in req.queries] == [
        ("q_ours", "Kirimin", "brand"), ("q_rival", "Paketku", "competitor"), ("q_topic", "Ongkir", "topic")]


async def test_brief(gateway, fakes) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    resp = await gateway.client.get(f"/v1/insights/brief?{RANGE}&query_id=q_ours&lang=id", headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["lang"] == "id" and body["query_id"] == "q_ours"
    [card] = body["cards"]
    assert card["narrative"] == "Negative mentions of Kirimin rose" and card["title"] == "Spike (id)"
    assert card["metrics"] == {"observed": 52.0, "severity": "high", "volume": 60}
    assert card["impact"] == 1234.5679 and card["filters"]["sentiment"] == "negative"
    assert card["drivers"][0]["evidence_mention_ids"] == ["m1"]
    [req] = fakes.insights.of("GetBrief")
    assert (req.tenant_id, req.query_id, req.lang, req.limit) == ("acme", "q_ours", "id", 10)
    default = (await gateway.client.get(f"/v1/insights/brief?{RANGE}", headers=headers)).json()
    assert default["lang"] == "en"


@pytest.mark.parametrize(("path", "field"), [
    ("spikes?from=2024-05-03T00:00:00Z&to=2024-05-01T00:00:00Z", "to"),
    ("spikes?from=2020-01-01T00:00:00Z&to=2024-01-01T00:00:00Z&interval=hour", "interval"),
    (f"spikes?{RANGE}&metric=loudness", "metric"),
    (f"spikes?{RANGE}&interval=week", "interval"),
    (f"spikes?{RANGE}&query_id={'q' * 129}", "query_id"),
    ("compare?from=2024-05-03T00:00:00Z&to=2024-05-03T00:00:00Z", "to"),
    ("compare?from=2020-01-01T00:00:00Z&to=2024-01-01T00:00:00Z", "from"),
    (f"brief?{RANGE}&lang=fr", "lang"),
    ("brief?from=2020-01-01T00:00:00Z&to=2024-01-01T00:00:00Z", "from"),
    (f"brief?{RANGE}&limit=0", "limit"),
    ("brief?to=2024-05-03T00:00:00Z", "from"),
])
async def test_bad_input_is_a_422_naming_the_parameter(gateway, fakes, problem, path, field) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    doc = problem(await gateway.client.get(f"/v1/insights/{path}", headers=headers), 422)
    assert field in [e["field"] for e in doc["errors"]], doc
    assert fakes.insights.calls == []


@pytest.mark.parametrize("route", ["spikes", "compare", "brief"])
async def test_another_tenants_query_is_a_404_like_a_missing_one(gateway, fakes, problem, route) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    theirs = problem(await gateway.client.get(f"/v1/insights/{route}?{RANGE}&query_id=q_theirs",
                                              headers=headers), 404)
    missing = problem(await gateway.client.get(f"/v1/insights/{route}?{RANGE}&query_id=q_theirz",
                                               headers=headers), 404)
    assert theirs["errors"] == missing["errors"] == [
        {"location": "query", "field": "query_id", "message": "no such listening query"}]
    assert theirs["detail"].replace("q_theirs", "X") == missing["detail"].replace("q_theirz", "X")
    assert fakes.insights.calls == []


async def test_scopes(gateway, fakes, problem) -> None:
    ingest_only = (await gateway.new_key("acme", Scope.INGEST)).headers
    for route in ("spikes", "compare", "brief"):
        problem(await gateway.client.get(f"/v1/insights/{route}?{RANGE}", headers=ingest_only), 403)
        problem(await gateway.client.get(f"/v1/insights/{route}?{RANGE}"), 401)
    spec = (await gateway.client.get("/openapi.json")).json()
    assert {"/v1/insights/spikes", "/v1/insights/compare", "/v1/insights/brief"} <= set(spec["paths"])
