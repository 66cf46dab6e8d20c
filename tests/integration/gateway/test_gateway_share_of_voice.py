"""Listening-query filters on mentions and analytics, and share of voice, against gRPC doubles."""

from __future__ import annotations

import grpc
from gateway_fakes import make_mention, make_query

from dengar.v1 import collector_pb2, insights_pb2
from dengar_gateway.domain.keys import Scope

RANGE = "from=2024-05-01T00:00:00Z&to=2024-05-03T00:00:00Z"
BRAND, COMPETITOR, TOPIC = (collector_pb2.QUERY_ROLE_BRAND, collector_pb2.QUERY_ROLE_COMPETITOR,
                            collector_pb2.QUERY_ROLE_TOPIC)


def seed_queries(fakes) -> None:
    fakes.queries_servicer.queries["acme"] = [
        make_query("acme", "q_ours", "Acme", BRAND),
        make_query("acme", "q_topic", "Delivery talk", TOPIC),
        make_query("acme", "q_rival", "Globex", COMPETITOR),
        make_query("acme", "q_old", "Initech", COMPETITOR, enabled=False),
        make_query("acme", "q_sub", "Acme Mini", BRAND),
    ]
    fakes.insights_servicer.voice.update({"q_ours": (1, 1, 4), "q_rival": (2, 1, 1), "q_sub": (0, 2, 0),
                                          "q_topic": (0, 5, 0)})


async def test_query_filters_reach_insights(gateway, fakes) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    fakes.insights_servicer.mentions["acme"] = [make_mention("acme", "1", "hi")]
    resp = await gateway.client.get("/v1/mentions?query_id=q_a,q_b&query_id=q_c&query_id=q_a",
                                    headers=headers)
    assert resp.status_code == 200, resp.text
    assert list(fakes.insights.of("SearchMentions")[0].query_ids) == ["q_a", "q_b", "q_c"]

    series = await gateway.client.get(f"/v1/analytics/timeseries?{RANGE}&query_id=q_a", headers=headers)
    assert series.status_code == 200 and series.json()["query_id"] == "q_a"
    summary = await gateway.client.get(f"/v1/analytics/summary?{RANGE}&query_id=q_b", headers=headers)
    assert summary.status_code == 200 and summary.json()["query_id"] == "q_b"
    [ts_req] = fakes.insights.of("GetTimeSeries")
    [sum_req] = fakes.insights.of("GetSummary")
    assert (ts_req.query_id, sum_req.query_id) == ("q_a", "q_b")

    # Without the parameter: every mention, and the answers look as they always did.
    await gateway.client.get("/v1/mentions", headers=headers)
    plain = (await gateway.client.get(f"/v1/analytics/summary?{RANGE}", headers=headers)).json()
    assert list(fakes.insights.of("SearchMentions")[1].query_ids) == []
    assert fakes.insights.of("GetSummary")[1].query_id == "" and "query_id" not in plain


async def test_query_filter_validation(gateway, fakes, problem) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    many = ",".join(f"q{i}" for i in range(51))
    for path in (f"/v1/mentions?query_id={many}", f"/v1/mentions?query_id={'q' * 129}",
                 f"/v1/analytics/timeseries?{RANGE}&query_id=",
                 f"/v1/analytics/summary?{RANGE}&query_id={'q' * 129}",
                 f"/v1/analytics/share-of-voice?{RANGE}&query_id={many}",
                 f"/v1/analytics/share-of-voice?{RANGE}&interval=week",
                 "/v1/analytics/share-of-voice?from=2024-05-03T00:00:00Z&to=2024-05-01T00:00:00Z",
                 "/v1/analytics/share-of-voice?interval=hour&from=2000-01-01T00:00:00Z&to=2024-01-01T00:00:00Z"):
        doc = problem(await gateway.client.get(path, headers=headers), 422)
        assert doc["errors"], path
    assert fakes.insights.calls == [] and fakes.collector.calls == []
    ingest_only = (await gateway.new_key("acme", Scope.INGEST)).headers
    problem(await gateway.client.get(f"/v1/analytics/share-of-voice?{RANGE}", headers=ingest_only), 403)
    problem(await gateway.client.get(f"/v1/analytics/share-of-voice?{RANGE}"), 401)


async def test_share_of_voice_defaults_to_brand_and_competitor_queries(gateway, fakes) -> None:
    seed_queries(fakes)
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    resp = await gateway.client.get(f"/v1/analytics/share-of-voice?{RANGE}", headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    # Brands first, then competitors; topics and disabled queries are left out.
    assert [(i["query_id"], i["name"], i["role"]) for i in body["items"]] == [
        ("q_ours", "Acme", "brand"), ("q_sub", "Acme Mini", "brand"), ("q_rival", "Globex", "competitor")]
    assert body["total"] == 12 and body["interval"] is None
    assert body["from"] == "2024-05-01T00:00:00Z" and body["to"] == "2024-05-03T00:00:00Z"
    ours = body["items"][0]
    assert ours == {"query_id": "q_ours", "name": "Acme", "role": "brand", "volume": 6, "share": 0.5,
                    "sentiment": {"negative": 1, "neutral": 1, "positive": 4}, "net_sentiment": 0.5}
    assert sum(i["share"] for i in body["items"]) == 1.0

    roles = [r.role for r in fakes.collector.of("ListQueries")]
    assert roles == [BRAND, COMPETITOR]
    assert {r.tenant_id for r in fakes.collector.of("ListQueries")} == {"acme"}
    [req] = fakes.insights.of("GetShareOfVoice")
    assert (req.tenant_id, list(req.query_ids)) == ("acme", ["q_ours", "q_sub", "q_rival"])
    assert req.interval == insights_pb2.INTERVAL_UNSPECIFIED
    assert req.start_time.seconds == 1714521600 and req.end_time.seconds == 1714694400


async def test_share_of_voice_of_chosen_queries_with_series(gateway, fakes) -> None:
    seed_queries(fakes)
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    resp = await gateway.client.get(
        f"/v1/analytics/share-of-voice?{RANGE}&query_id=q_topic,q_rival&query_id=q_gone&interval=day",
        headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [(i["query_id"], i["name"], i["role"], i["volume"]) for i in body["items"]] == [
        ("q_topic", "Delivery talk", "topic", 5), ("q_rival", "Globex", "competitor", 4),
        ("q_gone", None, None, 0)]
    assert body["interval"] == "day" and body["total"] == 9
    assert body["items"][1]["points"] == [
        {"bucket_start": "2024-05-01T00:00:00Z", "volume": 4, "negative": 2, "neutral": 1, "positive": 1},
        {"bucket_start": "2024-05-02T00:00:00Z", "volume": 0, "negative": 0, "neutral": 0, "positive": 0}]
    assert body["items"][1]["net_sentiment"] == -0.25
    [req] = fakes.insights.of("GetShareOfVoice")
    assert list(req.query_ids) == ["q_topic", "q_rival", "q_gone"]
    assert req.interval == insights_pb2.INTERVAL_DAY
    # Names come from one listing of every role.
    assert [r.role for r in fakes.collector.of("ListQueries")] == [collector_pb2.QUERY_ROLE_UNSPECIFIED]


async def test_share_of_voice_lists_every_page_and_stays_in_its_tenant(gateway, fakes) -> None:
    fakes.queries_servicer.queries["acme"] = [make_query("acme", f"q_{i:03d}", f"Brand {i}", BRAND)
                                              for i in range(45)]
    fakes.queries_servicer.queries["globex"] = [make_query("globex", "q_theirs", "Theirs", BRAND)]
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    fakes.insights_servicer.voice["q_044"] = (0, 0, 1)
    body = (await gateway.client.get(f"/v1/analytics/share-of-voice?{RANGE}", headers=headers)).json()
    assert len(body["items"]) == 45 and body["items"][44]["share"] == 1.0
    assert "q_theirs" not in {i["query_id"] for i in body["items"]}


async def test_share_of_voice_without_queries_or_with_too_many(gateway, fakes, problem) -> None:
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    empty = await gateway.client.get(f"/v1/analytics/share-of-voice?{RANGE}&interval=hour", headers=headers)
    assert empty.status_code == 200
    assert empty.json() == {"from": "2024-05-01T00:00:00Z", "to": "2024-05-03T00:00:00Z",
                            "interval": "hour", "total": 0, "items": []}
    assert fakes.insights.of("GetShareOfVoice") == []

    fakes.queries_servicer.queries["acme"] = [make_query("acme", f"q_{i:03d}", f"C {i}", COMPETITOR)
                                              for i in range(51)]
    doc = problem(await gateway.client.get(f"/v1/analytics/share-of-voice?{RANGE}", headers=headers), 400)
    assert "query_id" in doc["detail"]
    assert fakes.insights.of("GetShareOfVoice") == []


async def test_share_of_voice_backend_errors(gateway, fakes, problem) -> None:
    seed_queries(fakes)
    headers = (await gateway.new_key("acme", Scope.READ)).headers
    fakes.insights.fail = grpc.StatusCode.INVALID_ARGUMENT
    problem(await gateway.client.get(f"/v1/analytics/share-of-voice?{RANGE}", headers=headers), 400)
    fakes.insights.fail = None
    fakes.collector.fail = grpc.StatusCode.UNAVAILABLE
    problem(await gateway.client.get(f"/v1/analytics/share-of-voice?{RANGE}", headers=headers), 503)


async def test_dashboard_has_the_share_of_voice_panel_and_query_selector(gateway) -> None:
    page = (await gateway.client.get("/")).text
    assert 'id="sov"' in page and 'id="query"' in page
    js = (await gateway.client.get("/static/app.js")).text
    assert "/v1/analytics/share-of-voice" in js and "query_id" in js and "/v1/queries" in js
