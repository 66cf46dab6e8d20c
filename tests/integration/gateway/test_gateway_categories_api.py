"""/v1/categories and the category_id filters, against a gRPC double of insights' CategoryService
that answers as the real one does (DomainErrors through the kit's interceptor)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from gateway_fakes import FakeInsights, Recorder

from dengar.v1 import insights_pb2, insights_pb2_grpc
from dengar_common.errors import AlreadyExists, InvalidArgument, NotFound, ResourceExhausted, Unavailable
from dengar_common.grpcutil import make_server, set_serving
from dengar_common.query import compile_query
from dengar_gateway.domain.keys import Scope

NAMES = ["dengar.v1.InsightsService", "dengar.v1.CategoryService"]


class FakeCategories(insights_pb2_grpc.CategoryServiceServicer):
    """In memory, per tenant; at most ``limit`` per tenant; examples must be 0 or 3+."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.items: dict[str, dict[str, insights_pb2.Category]] = {}
        self.limit = 2
        self.nlp_down = False
        self.next = 0

    def _check(self, tenant: str, name: str, expression: str, examples: list[str], own_id: str) -> None:
        if expression:
            compile_query(expression)
        if examples and len(examples) < 3:
            raise InvalidArgument("examples: give none or 3-20", field="examples")
        if examples and self.nlp_down:
            raise Unavailable("NLP is unavailable")
        if any(c.name.casefold() == name.casefold() and c.id != own_id
               for c in self.items.get(tenant, {}).values()):
            raise AlreadyExists(f"a category named {name} already exists", field="name")

    async def CreateCategory(self, request: insights_pb2.CreateCategoryRequest,
                             context: Any) -> insights_pb2.Category:
        await self.rec.record("CreateCategory", request, context)
        self._check(request.tenant_id, request.name, request.expression, list(request.examples), "")
        mine = self.items.setdefault(request.tenant_id, {})
        if len(mine) >= self.limit:
            raise ResourceExhausted(f"a tenant may have at most {self.limit} categories",
                                    reason="category-limit")
        self.next += 1
        c = insights_pb2.Category(id=f"c_{self.next:016x}", tenant_id=request.tenant_id,
                                  name=request.name, expression=request.expression,
                                  examples=request.examples)
        if request.examples:
            c.threshold = 0.93
            c.calibration.CopyFrom(insights_pb2.CategoryCalibration(
                member_median=0.94, member_min=0.92, background_size=0))
        c.created_at.FromJsonString("2024-05-01T12:00:00Z")
        c.updated_at.CopyFrom(c.created_at)
        mine[c.id] = c
        return c

    def _find(self, tenant: str, category_id: str) -> insights_pb2.Category:
        found = self.items.get(tenant, {}).get(category_id)
        if found is None:
            raise NotFound(f"category {category_id} not found")
        return found

    async def GetCategory(self, request: insights_pb2.GetCategoryRequest,
                          context: Any) -> insights_pb2.Category:
        await self.rec.record("GetCategory", request, context)
        return self._find(request.tenant_id, request.id)

    async def ListCategories(self, request: insights_pb2.ListCategoriesRequest,
                             context: Any) -> insights_pb2.ListCategoriesResponse:
        await self.rec.record("ListCategories", request, context)
        found = sorted(self.items.get(request.tenant_id, {}).values(), key=lambda c: c.name.casefold())
        return insights_pb2.ListCategoriesResponse(categories=found)

    async def UpdateCategory(self, request: insights_pb2.UpdateCategoryRequest,
                             context: Any) -> insights_pb2.Category:
        await self.rec.record("UpdateCategory", request, context)
        c = self._find(request.tenant_id, request.id)
        name = request.name if request.HasField("name") else c.name
        expression = request.expression if request.HasField("expression") else c.expression
        examples = list(request.examples.texts) if request.HasField("examples") else list(c.examples)
        self._check(request.tenant_id, name, expression, examples, c.id)
        c.name, c.expression = name, expression
        del c.examples[:]
        c.examples.extend(examples)
        return c

    async def DeleteCategory(self, request: insights_pb2.DeleteCategoryRequest,
                             context: Any) -> insights_pb2.DeleteCategoryResponse:
        await self.rec.record("DeleteCategory", request, context)
        self._find(request.tenant_id, request.id)
        del self.items[request.tenant_id][request.id]
        return insights_pb2.DeleteCategoryResponse()


class Backend:
    def __init__(self, port: int, rec: Recorder, categories: FakeCategories) -> None:
        self.port, self.rec, self.categories = port, rec, categories


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    rec = Recorder()
    categories = FakeCategories(rec)
    server, health = make_server([
        lambda s: insights_pb2_grpc.add_InsightsServiceServicer_to_server(FakeInsights(rec), s),
        lambda s: insights_pb2_grpc.add_CategoryServiceServicer_to_server(categories, s),
    ], NAMES)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await set_serving(health, NAMES, True)
    try:
        yield Backend(port, rec, categories)
    finally:
        await server.stop(0)


@pytest.fixture
async def gw(gateway_for, backend: Backend) -> Any:
    return await gateway_for(insights_target=f"127.0.0.1:{backend.port}")


REFUNDS = {"name": "Refunds", "expression": 'refund OR "money back"',
           "examples": ["Where is my refund", "I want my money back", "Refund the ticket please"]}


async def test_create_get_list_patch_delete(gw, backend: Backend) -> None:
    admin = (await gw.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    c = gw.client
    resp = await c.post("/v1/categories", json=REFUNDS, headers=admin)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert resp.headers["location"] == f"/v1/categories/{created['id']}"
    assert {k: created[k] for k in REFUNDS} == REFUNDS
    assert created["threshold"] == 0.93 and created["calibration"]["background_size"] == 0
    [req] = backend.rec.of("CreateCategory")
    assert req.tenant_id == "acme" and list(req.examples) == REFUNDS["examples"]

    words = (await c.post("/v1/categories", json={"name": "Delays", "expression": "delay*"},
                          headers=admin)).json()
    assert words["threshold"] is None and words["calibration"] is None and words["examples"] == []
    assert (await c.get(f"/v1/categories/{created['id']}", headers=admin)).json() == created
    listed = (await c.get("/v1/categories", headers=admin)).json()
    assert [x["name"] for x in listed["data"]] == ["Delays", "Refunds"]

    resp = await c.patch(f"/v1/categories/{words['id']}",
                         json={"examples": ["late again", "delayed 3 hours", "still delayed"]},
                         headers=admin)
    assert resp.status_code == 200, resp.text
    assert resp.json()["examples"] == ["late again", "delayed 3 hours", "still delayed"]
    [upd] = backend.rec.of("UpdateCategory")
    # Only what the body had is sent as set.
    assert [f.name for f, _ in upd.ListFields()] == ["tenant_id", "id", "examples"]

    assert (await c.delete(f"/v1/categories/{words['id']}", headers=admin)).status_code == 204
    assert [x["id"] for x in (await c.get("/v1/categories", headers=admin)).json()["data"]] == [
        created["id"]]


async def test_errors_are_problems(gw, backend: Backend, problem) -> None:
    admin = (await gw.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    reader = (await gw.new_key("acme", Scope.READ)).headers
    c = gw.client
    doc = problem(await c.post("/v1/categories", json={"name": "X", "expression": "refund AND"},
                               headers=admin), 422)
    assert doc["position"] == 10 and doc["expected"]
    assert doc["type"] == "urn:dengar:problem:category-expression-error"
    assert doc["errors"][0]["field"] == "expression"
    doc = problem(await c.post("/v1/categories", json={"name": "X", "examples": ["a", "b"]},
                               headers=admin), 422)
    assert doc["errors"][0]["field"] == "examples"
    # Refused by the gateway itself (never reaches insights).
    calls = len(backend.rec.calls)
    problem(await c.post("/v1/categories", json={"name": " "}, headers=admin), 422)
    problem(await c.post("/v1/categories", json={"name": "X", "bogus": 1}, headers=admin), 422)
    problem(await c.patch("/v1/categories/c_0000000000000001", json={"name": None}, headers=admin), 422)
    assert len(backend.rec.calls) == calls
    problem(await c.post("/v1/categories", json=REFUNDS, headers=reader), 403)

    await c.post("/v1/categories", json=REFUNDS, headers=admin)
    problem(await c.post("/v1/categories", json={**REFUNDS, "name": "refunds"}, headers=admin), 409)
    await c.post("/v1/categories", json={"name": "Two", "expression": "x"}, headers=admin)
    doc = problem(await c.post("/v1/categories", json={"name": "Three", "expression": "y"},
                               headers=admin), 409)
    assert doc["type"] == "urn:dengar:problem:category-limit-reached"
    problem(await c.get("/v1/categories/c_00000000000000ff", headers=reader), 404)
    problem(await c.delete("/v1/categories/c_00000000000000ff", headers=admin), 404)

    backend.categories.nlp_down, backend.categories.limit = True, 10
    resp = await c.post("/v1/categories", json={**REFUNDS, "name": "Later"}, headers=admin)
    problem(resp, 503)
    assert resp.headers["retry-after"] == "1"


async def test_tenants_are_isolated(gw, backend: Backend, problem) -> None:
    a = (await gw.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    b = (await gw.new_key("globex", Scope.ADMIN, Scope.READ)).headers
    created = (await gw.client.post("/v1/categories", json=REFUNDS, headers=a)).json()
    assert (await gw.client.get("/v1/categories", headers=b)).json()["data"] == []
    problem(await gw.client.get(f"/v1/categories/{created['id']}", headers=b), 404)
    problem(await gw.client.patch(f"/v1/categories/{created['id']}", json={"name": "Mine"},
                                  headers=b), 404)
    assert [r.tenant_id for r in backend.rec.of("GetCategory")] == ["globex"]


async def test_category_filters_reach_insights(gw, backend: Backend, problem) -> None:
    reader = (await gw.new_key("acme", Scope.READ)).headers
    c = gw.client
    ids = "c_0000000000000001,c_0000000000000002"
    resp = await c.get(f"/v1/mentions?category_id={ids}&category_id=c_0000000000000001", headers=reader)
    assert resp.status_code == 200, resp.text
    [search] = backend.rec.of("SearchMentions")
    assert list(search.category_ids) == ["c_0000000000000001", "c_0000000000000002"]
    problem(await c.get("/v1/mentions?category_id=q_1", headers=reader), 422)

    window = "from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z"
    resp = await c.get(f"/v1/analytics/summary?{window}&category_id=c_0000000000000001", headers=reader)
    assert resp.status_code == 200, resp.text
    assert resp.json()["category_id"] == "c_0000000000000001"
    assert backend.rec.of("GetSummary")[-1].category_id == "c_0000000000000001"
    resp = await c.get(f"/v1/analytics/timeseries?{window}&category_id=c_0000000000000001&metric=sentiment",
                       headers=reader)
    assert resp.status_code == 200, resp.text
    assert resp.json()["category_id"] == "c_0000000000000001"
    assert backend.rec.of("GetTimeSeries")[-1].category_id == "c_0000000000000001"
    plain = (await c.get(f"/v1/analytics/summary?{window}", headers=reader)).json()
    assert "category_id" not in plain
    problem(await c.get(f"/v1/analytics/summary?{window}&category_id=c_1&query_id=q1", headers=reader), 422)
    problem(await c.get(
        f"/v1/analytics/summary?{window}&category_id=c_0000000000000001&query_id=q1", headers=reader), 422)


async def test_openapi_documents_the_routes(gw) -> None:
    spec = (await gw.client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert {"post", "get"} <= set(paths["/v1/categories"])
    assert {"get", "patch", "delete"} <= set(paths["/v1/categories/{category_id}"])
    assert "CategoryCreateIn" in spec["components"]["schemas"]
    params = {p["name"] for p in paths["/v1/mentions"]["get"]["parameters"]}
    assert "category_id" in params
