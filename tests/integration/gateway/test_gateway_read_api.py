"""Mentions, analytics and analysis against gRPC doubles of insights and NLP."""

from __future__ import annotations

import grpc
from gateway_fakes import make_mention

from dengar.v1 import common_pb2, insights_pb2
from dengar_gateway.domain.keys import Scope

RANGE = "from=2024-05-01T00:00:00Z&to=2024-05-08T00:00:00%2B07:00"


async def test_search_maps_every_filter_to_the_request(gateway, fakes) -> None:
    key = await gateway.new_key("acme", Scope.READ)
    fakes.insights_servicer.mentions["acme"] = [make_mention("acme", str(i), f"late #{i}") for i in range(3)]
    resp = await gateway.client.get(
        f"/v1/mentions?{RANGE}&sentiment=negative,positive&sentiment=neutral&platform=twitter"
        "&platform=reddit&lang=EN&aspect=delivery&q=%20late%20&sort=engagement&limit=2",
        headers=key.headers)
    assert resp.status_code == 200, resp.text
    page = resp.json()
    [req] = fakes.insights.of("SearchMentions")
    assert req.tenant_id == "acme"
    assert list(req.sentiments) == [common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_POSITIVE,
                                    common_pb2.SENTIMENT_NEUTRAL]
    assert list(req.platforms) == [common_pb2.PLATFORM_X, common_pb2.PLATFORM_REDDIT]
    assert (list(req.languages), list(req.aspects), req.query) == (["en"], ["delivery"], "late")
    assert (req.page_size, req.sort) == (2, insights_pb2.SORT_ORDER_ENGAGEMENT_DESC)
    assert req.start_time.seconds == 1714521600 and req.end_time.seconds == 1715101200

    assert len(page["data"]) == 2 and page["next_cursor"] == "2"
    m = page["data"][0]
    assert m["id"] == fakes.insights_servicer.mentions["acme"][0].id
    assert (m["platform"], m["external_id"], m["text"]) == ("x", "0", "late #0")
    assert m["created_at"] == "2024-05-01T12:00:00Z"
    assert m["author"]["handle"] == "ann" and m["engagement"]["likes"] == 3
    assert m["sentiment"] == {"label": "negative", "scores": {"negative": 0.8, "neutral": 0.15,
                                                              "positive": 0.05}}
    assert m["emotion"]["label"] == "anger"
    assert m["aspects"] == [{"name": "delivery", "polarity": "negative", "confidence": 0.9}]
    assert m["hashtags"] == ["late"] and m["entities"][0]["kind"] == "brand"
    assert m["language"] == "en"

    nxt = await gateway.client.get(f"/v1/mentions?cursor={page['next_cursor']}", headers=key.headers)
    assert [x["external_id"] for x in nxt.json()["data"]] == ["2"] and nxt.json()["next_cursor"] is None
    assert fakes.insights.of("SearchMentions")[1].sort == insights_pb2.SORT_ORDER_TIME_DESC


async def test_search_validation(gateway, fakes, problem) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    for query, field in [("sentiment=angry", "sentiment"), ("platform=myspace", "platform"),
                         ("limit=201", "limit"), ("from=2024-05-01T00:00:00", "from"),
                         ("from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z", "to"),
                         ("sort=newest", "sort")]:
        doc = problem(await gateway.client.get(f"/v1/mentions?{query}", headers=headers), 422)
        assert [e["field"] for e in doc["errors"]] == [field], query
    # A cursor the backend rejects is the client's mistake.
    problem(await gateway.client.get("/v1/mentions?cursor=garbage", headers=headers), 400)
    assert len(fakes.insights.calls) == 1


async def test_a_key_only_ever_reads_its_own_tenant(gateway, fakes, problem) -> None:
    a = await gateway.new_key("acme", Scope.READ)
    b = await gateway.new_key("globex", Scope.READ)
    theirs = make_mention("globex", "1", "globex secret")
    fakes.insights_servicer.mentions["globex"] = [theirs]
    fakes.insights_servicer.mentions["acme"] = [make_mention("acme", "1", "ours"),
                                                # A (buggy) backend answer leaking another tenant:
                                                make_mention("globex", "2", "leaked")]
    page = (await gateway.client.get("/v1/mentions", headers=a.headers)).json()
    assert [m["text"] for m in page["data"]] == ["ours"]
    problem(await gateway.client.get(f"/v1/mentions/{theirs.id}", headers=a.headers), 404)
    got = await gateway.client.get(f"/v1/mentions/{theirs.id}", headers=b.headers)
    assert got.status_code == 200 and got.json()["text"] == "globex secret"
    await gateway.client.get(f"/v1/analytics/summary?{RANGE}", headers=a.headers)
    await gateway.client.post("/v1/analyze", json={"texts": ["x"]}, headers=b.headers)
    tenants = [c.request.tenant_id for rec in (fakes.insights, fakes.nlp) for c in rec.calls]
    assert tenants == ["acme", "acme", "globex", "acme", "globex"]


async def test_time_series_and_summary(gateway, fakes, problem) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    resp = await gateway.client.get(f"/v1/analytics/timeseries?metric=sentiment&interval=day&{RANGE}",
                                    headers=headers)
    assert resp.status_code == 200, resp.text
    series = resp.json()
    assert (series["metric"], series["interval"], series["total"]) == ("sentiment", "day", 6)
    assert series["from"] == "2024-05-01T00:00:00Z"
    assert series["points"][0] == {"bucket_start": "2024-05-01T00:00:00Z", "volume": 2, "negative": 1,
                                   "neutral": 1, "positive": 0}
    req = fakes.insights.of("GetTimeSeries")[0]
    assert (req.tenant_id, req.metric, req.interval) == ("acme", insights_pb2.METRIC_SENTIMENT,
                                                         insights_pb2.INTERVAL_DAY)
    volume = (await gateway.client.get(f"/v1/analytics/timeseries?{RANGE}", headers=headers)).json()
    assert volume["metric"] == "volume" and set(volume["points"][0]) == {"bucket_start", "volume"}

    summary = (await gateway.client.get(f"/v1/analytics/summary?{RANGE}&top=1", headers=headers)).json()
    assert summary["volume"] == 10
    assert summary["sentiment"] == {"negative": 5, "neutral": 3, "positive": 2}
    assert summary["top_negative_aspects"] == [{"name": "delivery", "negative": 4, "neutral": 1,
                                                "positive": 0}]
    assert summary["platforms"] == [{"platform": "x", "count": 7}, {"platform": "reddit", "count": 3}]
    assert summary["languages"][0] == {"language": "en", "count": 8}

    doc = problem(await gateway.client.get("/v1/analytics/summary", headers=headers), 422)
    assert {e["field"] for e in doc["errors"]} == {"from", "to"}
    problem(await gateway.client.get(
        "/v1/analytics/timeseries?interval=hour&from=2000-01-01T00:00:00Z&to=2024-01-01T00:00:00Z",
        headers=headers), 422)


async def test_analyze(gateway, fakes, problem) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    resp = await gateway.client.post("/v1/analyze", json={"texts": ["bad #service", "good"]}, headers=headers)
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["sentiment"]["label"] for r in results] == ["negative", "positive"]
    assert results[0]["hashtags"] == ["service"] and results[0]["language"] == "en"
    assert "embedding" not in results[0]
    [req] = fakes.nlp.of("Analyze")
    assert list(req.texts) == ["bad #service", "good"]
    assert (req.include_embedding, req.tenant_id) == (False, "acme")

    with_emb = await gateway.client.post("/v1/analyze", json={"texts": ["x"], "include_embedding": True},
                                         headers=headers)
    assert with_emb.json()["results"][0]["embedding"] == [0.25, -0.5]

    problem(await gateway.client.post("/v1/analyze", json={"texts": ["x"] * 101}, headers=headers), 422)
    problem(await gateway.client.post("/v1/analyze", json={"texts": ["x" * 40_001]}, headers=headers), 422)
    problem(await gateway.client.post("/v1/analyze", json={"texts": ["x"], "extra": 1}, headers=headers), 422)
    ingest_only = (await gateway.new_key("acme", Scope.INGEST)).headers
    problem(await gateway.client.post("/v1/analyze", json={"texts": ["x"]}, headers=ingest_only), 403)


async def test_backend_status_mapping(gateway_for, fakes, problem) -> None:
    gw = await gateway_for(nlp_target="127.0.0.1:1")  # nothing listens there
    headers = (await gw.new_key("acme", Scope.READ)).headers
    doc = problem(await gw.client.get("/v1/mentions/nope", headers=headers), 404)
    assert "not found" in doc["detail"]
    resp = await gw.client.post("/v1/analyze", json={"texts": ["x"]}, headers=headers)
    assert problem(resp, 503)["type"] == "urn:dengar:problem:backend-unavailable"
    assert resp.headers["retry-after"]
    fakes.insights.fail = grpc.StatusCode.INTERNAL
    doc = problem(await gw.client.get("/v1/mentions", headers=headers), 502)
    assert "INTERNAL" not in doc.get("detail", "")


async def test_trace_context_flows_from_http_into_grpc(gateway, fakes) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    resp = await gateway.client.get(
        "/v1/mentions", headers={**headers, "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    assert resp.status_code == 200
    assert resp.headers["x-trace-id"] == trace_id
    assert resp.headers["traceparent"].split("-")[1] == trace_id
    [call] = fakes.insights.calls
    assert call.metadata["traceparent"].split("-")[1] == trace_id
