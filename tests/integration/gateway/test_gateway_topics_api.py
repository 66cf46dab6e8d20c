"""GET /v1/insights/topics against gRPC doubles: the shape, 422s, the query 404s, scopes, OpenAPI."""

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
    make_query,
)
from grpc import aio
from insight_fakes import FakeInsightEngine, InsightBackends

from dengar.v1 import collector_pb2, collector_pb2_grpc, insights_pb2, insights_pb2_grpc, nlp_pb2_grpc
from dengar_common.errors import InvalidArgument
from dengar_common.grpcutil import make_server, set_serving
from dengar_gateway.domain.keys import Scope

RANGE = "from=2024-05-01T00:00:00Z&to=2024-05-03T00:00:00Z"


class FakeTopics(FakeInsightEngine):
    """GetTopics: one growing topic and one that faded; limit 49 answers INVALID_ARGUMENT."""

    async def GetTopics(self, request: insights_pb2.GetTopicsRequest,
                        context: aio.ServicerContext) -> insights_pb2.GetTopicsResponse:
        await self.rec.record("GetTopics", request, context)
        if request.limit == 49:
            raise InvalidArgument("limit must be 1-48", field="limit")
        growing = insights_pb2.EmergingTopic(
            id="tp_0123456789ab", keywords=["telat", "paket", "kurir"], volume=120, share=0.4,
            negative=80, neutral=30, positive=10, aspects=[insights_pb2.CountItem(key="delivery", count=70)],
            representatives=[insights_pb2.TopicRepresentative(id="m1", snippet="Paket telat lagi")],
            previous_volume=40, change=80, relative_change=2.0, status="growing", cohesion=0.812345)
        faded = insights_pb2.EmergingTopic(id="tp_ba9876543210", keywords=["promo"], volume=0,
                                           previous_volume=50, change=-50, relative_change=-1.0,
                                           status="fading", cohesion=0.7)
        resp = insights_pb2.GetTopicsResponse(topics=[growing, faded], volume=300, previous_volume=200,
                                              sampled=300, previous_sampled=200, estimated=False)
        resp.start_time.CopyFrom(request.start_time)
        resp.end_time.CopyFrom(request.end_time)
        resp.previous_start_time.CopyFrom(request.start_time)
        resp.previous_start_time.seconds -= request.end_time.seconds - request.start_time.seconds
        return resp


@pytest.fixture
async def fakes() -> AsyncIterator[InsightBackends]:
    recs = Recorder(), Recorder(), Recorder()
    insights, queries, imports = FakeTopics(recs[1]), FakeQueries(recs[0]), FakeImports(recs[0])
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
    queries.queries["acme"] = [make_query("acme", "q_ours", "Kirimin", collector_pb2.QUERY_ROLE_BRAND)]
    queries.queries["globex"] = [make_query("globex", "q_theirs", "Theirs", collector_pb2.QUERY_ROLE_BRAND)]
    try:
        yield InsightBackends(port, recs[0], recs[1], recs[2], insights, health, queries, imports)
    finally:
        await server.stop(0)


async def test_topics(gateway, fakes) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    resp = await gateway.client.get(f"/v1/insights/topics?{RANGE}&query_id=q_ours&limit=5", headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["from"] == "2024-05-01T00:00:00Z" and body["previous_from"] == "2024-04-29T00:00:00Z"
    assert (body["query_id"], body["volume"], body["previous_volume"], body["sampled"], body["estimated"]) \
        == ("q_ours", 300, 200, 300, False)
    grow, fade = body["topics"]
    assert grow == {
        "id": "tp_0123456789ab", "keywords": ["telat", "paket", "kurir"], "volume": 120, "share": 0.4,
        "sentiment": {"negative": 80, "neutral": 30, "positive": 10}, "aspects": {"delivery": 70},
        "representatives": [{"id": "m1", "snippet": "Paket telat lagi"}], "previous_volume": 40,
        "change": 80, "relative_change": 2.0, "status": "growing", "cohesion": 0.8123}
    assert (fade["status"], fade["volume"], fade["previous_volume"]) == ("fading", 0, 50)
    [req] = fakes.insights.of("GetTopics")
    assert (req.tenant_id, req.query_id, req.limit) == ("acme", "q_ours", 5)
    default = await gateway.client.get(f"/v1/insights/topics?{RANGE}", headers=headers)
    assert default.status_code == 200 and default.json()["query_id"] is None
    assert fakes.insights.of("GetTopics")[-1].limit == 10


@pytest.mark.parametrize(("query", "field"), [
    ("from=2024-05-03T00:00:00Z&to=2024-05-01T00:00:00Z", "to"),
    ("from=2020-01-01T00:00:00Z&to=2024-01-01T00:00:00Z", "from"),
    (f"{RANGE}&limit=0", "limit"),
    (f"{RANGE}&limit=51", "limit"),
    (f"{RANGE}&query_id={'q' * 129}", "query_id"),
    ("to=2024-05-03T00:00:00Z", "from"),
])
async def test_bad_input_is_a_422_naming_the_parameter(gateway, fakes, problem, query, field) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    doc = problem(await gateway.client.get(f"/v1/insights/topics?{query}", headers=headers), 422)
    assert field in [e["field"] for e in doc["errors"]], doc
    assert fakes.insights.calls == []


async def test_invalid_argument_from_insights_is_a_problem(gateway, fakes, problem) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    # The gateway's mapping of a backend's INVALID_ARGUMENT: 400 naming the field.
    doc = problem(await gateway.client.get(f"/v1/insights/topics?{RANGE}&limit=49", headers=headers), 400)
    assert doc["field"] == "limit" and doc["detail"] == "limit must be 1-48", doc


async def test_another_tenants_query_is_a_404_like_a_missing_one(gateway, fakes, problem) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    theirs = problem(await gateway.client.get(f"/v1/insights/topics?{RANGE}&query_id=q_theirs",
                                              headers=headers), 404)
    missing = problem(await gateway.client.get(f"/v1/insights/topics?{RANGE}&query_id=q_theirz",
                                               headers=headers), 404)
    assert theirs["errors"] == missing["errors"]
    assert fakes.insights.calls == []


async def test_scopes_and_openapi(gateway, fakes, problem) -> None:
    ingest_only = (await gateway.new_key("acme", Scope.INGEST)).headers
    problem(await gateway.client.get(f"/v1/insights/topics?{RANGE}", headers=ingest_only), 403)
    problem(await gateway.client.get(f"/v1/insights/topics?{RANGE}"), 401)
    spec = (await gateway.client.get("/openapi.json")).json()
    op = spec["paths"]["/v1/insights/topics"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"from", "to", "query_id", "limit"}
    assert {"200", "401", "403", "404", "422"} <= set(op["responses"])
