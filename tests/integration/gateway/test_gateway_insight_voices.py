"""GET /v1/insights/authors, /posts and /campaigns against gRPC doubles: shapes, 422s, the 404s."""

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
from insight_fakes import InsightBackends
from voice_fakes import FakeVoices

from dengar.v1 import collector_pb2, collector_pb2_grpc, insights_pb2, insights_pb2_grpc, nlp_pb2_grpc
from dengar_common.grpcutil import make_server, set_serving
from dengar_gateway.domain.keys import Scope

RANGE = "from=2024-05-01T00:00:00Z&to=2024-05-03T00:00:00Z"
ROUTES = ("authors", "posts", "campaigns")


@pytest.fixture
async def fakes() -> AsyncIterator[InsightBackends]:
    """The suite's doubles, with an insights double that answers the top-voices methods too."""
    recs = Recorder(), Recorder(), Recorder()
    insights, queries, imports = FakeVoices(recs[1]), FakeQueries(recs[0]), FakeImports(recs[0])
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


async def test_authors(gateway, fakes) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    resp = await gateway.client.get(f"/v1/insights/authors?{RANGE}&rank_by=reach&limit=5&query_id=q_ours",
                                    headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["from"], body["to"], body["query_id"], body["rank_by"]) == (
        "2024-05-01T00:00:00Z", "2024-05-03T00:00:00Z", "q_ours", "reach")
    loud, viral = body["authors"]
    assert loud == {"platform": "x", "id": "u1", "handle": "acme_loud", "display_name": "Loud",
                    "verified": True, "followers": 120, "mentions": 4, "engagement": 21,
                    "sentiment": {"negative": 2, "neutral": 1, "positive": 1}, "net_sentiment": -0.25,
                    "sample_mention_ids": ["acme-m2", "acme-m4"]}
    # Handle-only authors have no id; net sentiment is rounded like the other insight numbers.
    assert (viral["id"], viral["handle"], viral["net_sentiment"]) == (None, "viral", 0.6667)
    [req] = fakes.insights.of("GetTopAuthors")
    assert (req.tenant_id, req.query_id, req.rank_by, req.limit) == (
        "acme", "q_ours", insights_pb2.AUTHOR_RANK_REACH, 5)
    assert req.start_time.ToJsonString() == "2024-05-01T00:00:00Z"
    assert [r.id for r in fakes.collector.of("GetQuery")] == ["q_ours"]

    plain = (await gateway.client.get(f"/v1/insights/authors?{RANGE}", headers=headers)).json()
    assert plain["rank_by"] == "volume" and plain["query_id"] is None
    req = fakes.insights.of("GetTopAuthors")[1]
    assert (req.query_id, req.rank_by, req.limit) == ("", insights_pb2.AUTHOR_RANK_VOLUME, 10)


async def test_posts_render_as_mentions_and_never_another_tenants(gateway, fakes) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    fakes.insights_servicer.mentions["acme"] = [
        make_mention("acme", "7", "Paket belum sampai"),
        # A backend that answered another tenant's mention: the gateway hides it.
        make_mention("globex", "8", "Not yours")]
    resp = await gateway.client.get(f"/v1/insights/posts?{RANGE}&limit=3", headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    [post] = body["posts"]
    listed = (await gateway.client.get("/v1/mentions", headers=headers)).json()["data"][0]
    assert post == listed
    [req] = fakes.insights.of("GetTopPosts")
    assert (req.tenant_id, req.query_id, req.limit) == ("acme", "", 3)


async def test_campaigns(gateway, fakes) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    resp = await gateway.client.get(f"/v1/insights/campaigns?{RANGE}&query_id=q_ours", headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["sampled_mentions"] == 15 and body["query_id"] == "q_ours"
    [c] = body["campaigns"]
    assert {k: c[k] for k in ("cluster", "posts", "authors", "start", "end")} == {
        "cluster": "txt-1", "posts": 6, "authors": 6, "start": "2024-05-01T10:05:00Z",
        "end": "2024-05-01T10:30:00Z"}
    assert c["first_post"] == {"mention_id": "acme-c1", "author": "camp1", "text": "Boikot!",
                               "created_at": "2024-05-01T10:05:00Z", "platform": "x"}
    assert (c["common_terms"], c["platforms"], c["query_ids"], c["evidence_mention_ids"]) == (
        ["boikot", "produk"], ["x"], ["q_ours"], ["acme-c1", "acme-c2"])
    assert c["filters"] == {"from": "2024-05-01T10:05:00Z", "to": "2024-05-01T10:30:01Z",
                            "q": "boikot produk"}
    [req] = fakes.insights.of("GetCampaigns")
    assert (req.tenant_id, req.query_id, req.limit) == ("acme", "q_ours", 10)


@pytest.mark.parametrize(("path", "field"), [
    (f"authors?{RANGE}&rank_by=loudest", "rank_by"),
    (f"authors?{RANGE}&limit=0", "limit"),
    (f"authors?{RANGE}&limit=101", "limit"),
    ("authors?from=2024-05-03T00:00:00Z&to=2024-05-01T00:00:00Z", "to"),
    ("authors?from=2020-01-01T00:00:00Z&to=2024-01-01T00:00:00Z", "from"),
    (f"authors?{RANGE}&query_id={'q' * 129}", "query_id"),
    (f"posts?{RANGE}&limit=101", "limit"),
    ("posts?to=2024-05-03T00:00:00Z", "from"),
    ("posts?from=2024-05-03T00:00:00Z&to=2024-05-03T00:00:00Z", "to"),
    (f"campaigns?{RANGE}&limit=51", "limit"),
    ("campaigns?from=yesterday&to=2024-05-03T00:00:00Z", "from"),
    ("campaigns?from=2020-01-01T00:00:00Z&to=2024-01-01T00:00:00Z", "from"),
])
async def test_bad_input_is_a_422_naming_the_parameter(gateway, fakes, problem, path, field) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    doc = problem(await gateway.client.get(f"/v1/insights/{path}", headers=headers), 422)
    assert field in [e["field"] for e in doc["errors"]], doc
    assert fakes.insights.calls == []


@pytest.mark.parametrize("route", ROUTES)
async def test_another_tenants_query_is_a_404_like_a_missing_one(gateway, fakes, problem, route) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    theirs = problem(await gateway.client.get(f"/v1/insights/{route}?{RANGE}&query_id=q_theirs",
                                              headers=headers), 404)
    missing = problem(await gateway.client.get(f"/v1/insights/{route}?{RANGE}&query_id=q_theirz",
                                               headers=headers), 404)
    assert theirs["errors"] == missing["errors"] == [
        {"location": "query", "field": "query_id", "message": "no such listening query"}]
    assert fakes.insights.calls == []


async def test_scopes_and_openapi(gateway, fakes, problem) -> None:
    ingest_only = (await gateway.new_key("acme", Scope.INGEST)).headers
    for route in ROUTES:
        problem(await gateway.client.get(f"/v1/insights/{route}?{RANGE}", headers=ingest_only), 403)
        problem(await gateway.client.get(f"/v1/insights/{route}?{RANGE}"), 401)
    assert fakes.insights.calls == []
    spec = (await gateway.client.get("/openapi.json")).json()
    for route in ROUTES:
        op = spec["paths"][f"/v1/insights/{route}"]["get"]
        assert op["tags"] == ["insights"] and op["description"]
        assert {"401", "403", "404", "422"} <= set(op["responses"])
    params = {p["name"]: p for p in spec["paths"]["/v1/insights/authors"]["get"]["parameters"]}
    assert {"from", "to", "query_id", "rank_by", "limit"} <= set(params)
