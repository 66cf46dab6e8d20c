"""/v1/queries against the gRPC double of the collector's QueryService (see gateway_fakes)."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from dengar.v1 import collector_pb2, insights_pb2
from dengar_gateway.domain.keys import Scope

GOCEPAT = {"name": "GoCepat", "role": "brand", "expression": "gocepat OR @gocepat_id"}


async def test_create_get_list_patch_delete(gateway, fakes) -> None:
    admin = (await gateway.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    c = gateway.client
    resp = await c.post("/v1/queries", json=GOCEPAT, headers=admin)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert resp.headers["location"] == f"/v1/queries/{created['id']}"
    assert {k: created[k] for k in ("name", "role", "expression", "enabled")} == {**GOCEPAT, "enabled": True}
    assert created["created_at"] == "2024-05-01T12:00:00Z"
    [req] = fakes.collector.of("CreateQuery")
    assert (req.tenant_id, req.role, req.HasField("enabled"), req.enabled) == (
        "acme", collector_pb2.QUERY_ROLE_BRAND, True, True)

    rival = (await c.post("/v1/queries", json={"name": "AntarYuk", "role": "competitor",
                                                "expression": "antaryuk", "enabled": False},
                          headers=admin)).json()
    assert (rival["role"], rival["enabled"]) == ("competitor", False)
    assert (await c.get(f"/v1/queries/{created['id']}", headers=admin)).json() == created

    page = (await c.get("/v1/queries?limit=1", headers=admin)).json()
    assert [q["name"] for q in page["data"]] == ["GoCepat"] and page["next_cursor"] == "1"
    nxt = (await c.get(f"/v1/queries?limit=1&cursor={page['next_cursor']}", headers=admin)).json()
    assert [q["name"] for q in nxt["data"]] == ["AntarYuk"] and nxt["next_cursor"] is None
    only = (await c.get("/v1/queries?role=competitor", headers=admin)).json()
    assert [q["id"] for q in only["data"]] == [rival["id"]]
    listing = fakes.collector.of("ListQueries")
    assert [(r.page_size, r.page_token, r.role) for r in listing] == [
        (1, "", 0), (1, "1", 0), (50, "", collector_pb2.QUERY_ROLE_COMPETITOR)]

    resp = await c.patch(f"/v1/queries/{created['id']}", json={"enabled": False, "role": "topic"},
                         headers=admin)
    assert resp.status_code == 200, resp.text
    assert (resp.json()["enabled"], resp.json()["role"], resp.json()["name"]) == (False, "topic", "GoCepat")
    [upd] = fakes.collector.of("UpdateQuery")
    # Only what the body had is sent as set.
    assert [f.name for f, _ in upd.ListFields()] == ["tenant_id", "id", "role", "enabled"]

    assert (await c.delete(f"/v1/queries/{created['id']}", headers=admin)).status_code == 204
    assert [q["id"] for q in (await c.get("/v1/queries", headers=admin)).json()["data"]] == [rival["id"]]


async def test_syntax_errors_are_422_with_position_and_expected(gateway, fakes, problem) -> None:
    admin = (await gateway.new_key("acme", Scope.ADMIN)).headers
    doc = problem(await gateway.client.post(
        "/v1/queries", json={**GOCEPAT, "expression": "gocepat AND"}, headers=admin), 422)
    assert (doc["position"], doc["expected"]) == (11, 'a term or "("')
    assert doc["type"] == "urn:dengar:problem:query-syntax-error" and "position 11" in doc["detail"]
    assert doc["errors"][0]["field"] == "expression"

    created = (await gateway.client.post("/v1/queries", json=GOCEPAT, headers=admin)).json()
    doc = problem(await gateway.client.patch(f"/v1/queries/{created['id']}",
                                             json={"expression": "a AND"}, headers=admin), 422)
    assert (doc["position"], doc["expected"]) == (5, 'a term or "("')


async def test_validate(gateway, problem) -> None:
    reader = (await gateway.new_key("acme", Scope.READ)).headers
    ok = await gateway.client.post("/v1/queries/validate", json={"expression": "gocepat"}, headers=reader)
    assert ok.status_code == 200 and ok.json() == {"valid": True, "errors": []}
    bad = (await gateway.client.post("/v1/queries/validate", json={"expression": "gocepat AND"},
                                     headers=reader)).json()
    assert bad == {"valid": False, "errors": [{"position": 11, "expected": 'a term or "("',
                                               "message": "Expected a term"}]}
    problem(await gateway.client.post("/v1/queries/validate", json={}, headers=reader), 422)


async def test_request_validation(gateway, fakes, problem) -> None:
    admin = (await gateway.new_key("acme", Scope.ADMIN)).headers
    c = gateway.client
    for body, field in [({**GOCEPAT, "role": "rival"}, "role"), ({**GOCEPAT, "name": "   "}, "name"),
                        ({"role": "brand", "expression": "x"}, "name"), ({**GOCEPAT, "extra": 1}, "extra"),
                        ({**GOCEPAT, "expression": "x" * 16_001}, "expression")]:
        doc = problem(await c.post("/v1/queries", json=body, headers=admin), 422)
        assert [e["field"] for e in doc["errors"]] == [field], body
    created = (await c.post("/v1/queries", json=GOCEPAT, headers=admin)).json()
    for body, field in [({"enabled": None}, "enabled"), ({"role": "rival"}, "role"), ({"x": 1}, "x")]:
        doc = problem(await c.patch(f"/v1/queries/{created['id']}", json=body, headers=admin), 422)
        assert [e["field"] for e in doc["errors"]] == [field], body
    problem(await c.get("/v1/queries?role=rival", headers=admin), 403)  # admin alone cannot read
    problem(await c.post("/v1/queries", content=b"name=x", headers={**admin, "content-type": "text/plain"}),
            415)
    assert len(fakes.collector.of("UpdateQuery")) == 0


async def test_conflicts_and_limits(gateway, fakes, problem) -> None:
    admin = (await gateway.new_key("acme", Scope.ADMIN)).headers
    await gateway.client.post("/v1/queries", json=GOCEPAT, headers=admin)
    problem(await gateway.client.post("/v1/queries", json={**GOCEPAT, "name": "gocepat"}, headers=admin),
            409)
    fakes.queries_servicer.limit = 1
    doc = problem(await gateway.client.post("/v1/queries", json={**GOCEPAT, "name": "Other"},
                                            headers=admin), 409)
    assert doc["type"] == "urn:dengar:problem:query-limit-reached" and "at most 1" in doc["detail"]


async def test_scopes_and_authentication(gateway, fakes, problem) -> None:
    reader = (await gateway.new_key("acme", Scope.READ)).headers
    ingest = (await gateway.new_key("acme", Scope.INGEST)).headers
    admin = (await gateway.new_key("acme", Scope.ADMIN)).headers
    c = gateway.client
    created = (await c.post("/v1/queries", json=GOCEPAT, headers=admin)).json()
    url = f"/v1/queries/{created['id']}"
    # Reading and validating needs `read`; changing needs `admin`.
    for resp in (await c.post("/v1/queries", json=GOCEPAT, headers=reader),
                 await c.patch(url, json={"enabled": False}, headers=reader),
                 await c.delete(url, headers=reader),
                 await c.get("/v1/queries", headers=ingest),
                 await c.get(url, headers=admin),
                 await c.post("/v1/queries/validate", json={"expression": "x"}, headers=ingest)):
        problem(resp, 403)
    for resp in (await c.get("/v1/queries"), await c.post("/v1/queries", json=GOCEPAT),
                 await c.delete(url, headers={"Authorization": "Bearer dgr_nope"})):
        assert problem(resp, 401)
    assert (await c.get(url, headers=reader)).status_code == 200
    assert [r.method for r in fakes.collector.calls] == ["CreateQuery", "GetQuery"]


async def test_tenants_never_reach_each_others_queries(gateway, fakes, problem) -> None:
    acme = (await gateway.new_key("acme")).headers
    globex = (await gateway.new_key("globex")).headers
    theirs = (await gateway.client.post("/v1/queries", json=GOCEPAT, headers=globex)).json()
    url = f"/v1/queries/{theirs['id']}"
    problem(await gateway.client.get(url, headers=acme), 404)
    problem(await gateway.client.patch(url, json={"name": "mine"}, headers=acme), 404)
    problem(await gateway.client.delete(url, headers=acme), 404)
    assert (await gateway.client.get("/v1/queries", headers=acme)).json()["data"] == []
    assert (await gateway.client.get(url, headers=globex)).json()["name"] == "GoCepat"
    # Every call is made for the caller's own tenant, whatever id it names.
    assert [(c.method, c.request.tenant_id) for c in fakes.collector.calls] == [
        ("CreateQuery", "globex"), ("GetQuery", "acme"), ("UpdateQuery", "acme"), ("DeleteQuery", "acme"),
        ("ListQueries", "acme"), ("GetQuery", "globex")]


async def test_backend_failures(gateway, fakes, problem) -> None:
    reader = (await gateway.new_key("acme", Scope.READ)).headers
    fakes.collector.fail = grpc.StatusCode.UNAVAILABLE
    doc = problem(await gateway.client.get("/v1/queries", headers=reader), 503)
    assert doc["type"] == "urn:dengar:problem:backend-unavailable"


async def test_openapi_documents_the_routes_with_examples(gateway) -> None:
    spec = (await gateway.client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert set(paths["/v1/queries"]) == {"get", "post"}
    assert set(paths["/v1/queries/{query_id}"]) == {"get", "patch", "delete"}
    create = paths["/v1/queries"]["post"]
    body = create["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/QueryCreateIn") and body["example"]["role"] == "brand"
    assert "application/problem+json" in create["responses"]["422"]["content"]
    schemas = spec["components"]["schemas"]
    for name in ("QueryCreateIn", "QueryPatchIn", "QueryValidateIn", "QueryOut", "QueryValidateOut"):
        assert schemas[name]["examples"], name
    assert schemas["QueryCreateIn"]["properties"]["role"]["enum"] == ["brand", "competitor", "topic"]
    assert "queries" in {t["name"] for t in spec["tags"]}
    assert paths["/v1/queries/validate"]["post"]["requestBody"]["content"]["application/json"]["example"]


async def test_backfill_progress_is_composed_from_insights(gateway, fakes) -> None:
    reader = (await gateway.new_key("acme", Scope.READ)).headers
    BRAND = collector_pb2.QUERY_ROLE_BRAND
    since = Timestamp()
    since.FromDatetime(datetime(2026, 11, 1, tzinfo=UTC))
    fakes.queries_servicer.queries["acme"] = [
        collector_pb2.ListeningQuery(id="q_new", tenant_id="acme", name="A", role=BRAND, expression="a",
                                     enabled=True, version=3),
        collector_pb2.ListeningQuery(id="q_old", tenant_id="acme", name="B", role=BRAND, expression="b",
                                     enabled=True, version=2),
        # Stored before query versions: no backfill to speak of.
        collector_pb2.ListeningQuery(id="q_legacy", tenant_id="acme", name="C",
                                     role=collector_pb2.QUERY_ROLE_TOPIC, expression="c", enabled=True),
    ]
    fakes.insights_servicer.backfills[("acme", "q_new")] = insights_pb2.Backfill(
        kind="query", target_id="q_new", target_version=3, state="running", scanned=40, total=100,
        matched=7, changed=5, since=since, started_at=since)
    # An older version's job: the current version is still on its way to insights.
    fakes.insights_servicer.backfills[("acme", "q_old")] = insights_pb2.Backfill(
        kind="query", target_id="q_old", target_version=1, state="done", scanned=10, total=10)

    one = (await gateway.client.get("/v1/queries/q_new", headers=reader)).json()
    assert one["backfill"] == {"state": "running", "version": 3, "scanned": 40, "total": 100, "matched": 7,
                               "changed": 5, "since": "2026-11-01T00:00:00Z",
                               "started_at": "2026-11-01T00:00:00Z", "finished_at": None, "error": None}
    listing = (await gateway.client.get("/v1/queries", headers=reader)).json()["data"]
    by_id = {q["id"]: q["backfill"] for q in listing}
    assert by_id["q_new"] == one["backfill"]
    old = by_id["q_old"]
    assert (old["state"], old["version"], old["scanned"]) == ("pending", 2, 0)
    assert by_id["q_legacy"] is None
    # One batched call for the page, only for queries that have versions.
    calls = fakes.insights.of("ListBackfills")
    assert [list(c.target_ids) for c in calls] == [["q_new"], ["q_new", "q_old"]]
    assert all((c.tenant_id, c.kind) == ("acme", "query") for c in calls)

    # Insights down: the query is still served, its progress unknown.
    fakes.insights_servicer.backfills_down = True
    resp = await gateway.client.get("/v1/queries/q_new", headers=reader)
    assert resp.status_code == 200 and resp.json()["backfill"] is None
