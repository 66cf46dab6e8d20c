"""Every error is an RFC 9457 problem document. The app runs over ASGI with in-memory doubles
of the store and backends, so only the HTTP layer is under test here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
import httpx
import pytest

from dengar.v1 import insights_pb2
from dengar_common.grpcerrors import (
    EXPECTED_KEY,
    FIELD_KEY,
    POSITION_KEY,
    REASON_KEY,
    RETRY_AFTER_KEY,
    RemoteError,
)
from dengar_gateway.bootstrap import build_deps, create_app
from dengar_gateway.domain.keys import ApiKeyRecord, generate_key
from dengar_gateway.entrypoints.problems import Answer, answering, problem_document, remote_problem
from dengar_gateway.settings import GatewayConfig, LimitsConfig, RateLimitConfig

KEY = generate_key()
INGEST_ONLY = generate_key()


class FakeKeys:
    async def find_for_auth(self, key_id: str) -> ApiKeyRecord | None:
        now = datetime.now(UTC)
        for key, scopes in ((KEY, ("read", "ingest", "admin")), (INGEST_ONLY, ("ingest",))):
            if key.key_id == key_id:
                return ApiKeyRecord(key_id, "acme", "", scopes, key.hash, now, None)
        return None


class FakeQuotas:
    """No tenant of its own limits, and room in every rate window."""

    async def limits_of(self, tenant_id: str) -> dict[str, object]:
        return {}

    async def claim_requests(self, *args: Any) -> bool:
        return True


class FakeStore:
    keys = FakeKeys()
    quotas = FakeQuotas()
    tenants = idempotency = None


class FakeInsights:
    SearchMentions = "SearchMentions"


class FakeBackends:
    """``Backends.call`` answering SearchMentions (or raising ``error``)."""

    insights = FakeInsights()

    def __init__(self) -> None:
        self.error: Exception | None = None

    async def call(self, method: Any, request: Any, **_: Any) -> insights_pb2.SearchMentionsResponse:
        assert method == "SearchMentions", method
        if self.error:
            raise self.error
        return insights_pb2.SearchMentionsResponse()


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, FakeBackends]]:
    config = GatewayConfig(limits=LimitsConfig(max_body_bytes=2048), rate_limit=RateLimitConfig(per_s=0))
    backends = FakeBackends()
    app = create_app(config, build_deps(config, FakeStore(), backends))  # type: ignore[arg-type]  # in-memory doubles of the adapters
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://gateway") as c:
        yield c, backends


AUTH = {"Authorization": f"Bearer {KEY.secret}"}
JSON_AUTH = {**AUTH, "Content-Type": "application/json"}


def assert_problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    doc = resp.json()
    assert doc["status"] == status and doc["title"] and doc["type"]
    assert doc["instance"] == resp.request.url.path
    return doc


def test_problem_document_shape() -> None:
    doc = problem_document(404, detail="no such thing", instance="/v1/x")
    assert doc == {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no such thing",
                   "instance": "/v1/x"}
    assert problem_document(429, slug="rate-limited")["type"] == "urn:dengar:problem:rate-limited"


@pytest.mark.parametrize("code,status", [
    (grpc.StatusCode.INVALID_ARGUMENT, 400), (grpc.StatusCode.NOT_FOUND, 404),
    (grpc.StatusCode.UNAVAILABLE, 503), (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
    (grpc.StatusCode.INTERNAL, 502), (grpc.StatusCode.UNAUTHENTICATED, 502),
])
def test_grpc_status_mapping(code: grpc.StatusCode, status: int) -> None:
    problem = remote_problem(RemoteError("insights", code, "secret internals",
                                         {FIELD_KEY: "host", REASON_KEY: "internal-db"}))
    assert problem.status == status
    if status >= 500:
        assert "secret internals" not in (problem.detail or "")
        assert problem.extensions == {}
    else:
        assert problem.detail == "secret internals"
        assert problem.extensions == {"field": "host", "reason": "internal-db"}


def test_remote_details_become_extensions_and_retry_after() -> None:
    problem = remote_problem(RemoteError("collector", grpc.StatusCode.INVALID_ARGUMENT, "bad at 3", {
        FIELD_KEY: "expression", POSITION_KEY: "3", EXPECTED_KEY: "a term"}))
    assert (problem.status, problem.detail) == (400, "bad at 3")
    assert problem.extensions == {"field": "expression", "position": 3, "expected": "a term"}
    busy = remote_problem(RemoteError("nlp", grpc.StatusCode.UNAVAILABLE, "down", {RETRY_AFTER_KEY: "4.2"}))
    assert (busy.status, busy.headers["Retry-After"], busy.slug) == (503, "5", "backend-unavailable")


def test_route_answers_match_reason_first_then_code() -> None:
    answers = {"query-limit": Answer(409, "by-reason"), "RESOURCE_EXHAUSTED": Answer(413, "by-code"),
               "INVALID_ARGUMENT": Answer(422, "located", errors_field="expression", needs_position=True)}
    limit = RemoteError("collector", grpc.StatusCode.RESOURCE_EXHAUSTED, "full", {REASON_KEY: "query-limit"})
    assert remote_problem(limit, answers).slug == "by-reason"
    assert remote_problem(RemoteError("c", grpc.StatusCode.RESOURCE_EXHAUSTED, "x"), answers).status == 413
    # Without a position the syntax answer does not apply: the status table does.
    assert remote_problem(RemoteError("c", grpc.StatusCode.INVALID_ARGUMENT, "x"), answers).status == 400
    located = remote_problem(RemoteError("c", grpc.StatusCode.INVALID_ARGUMENT, "x", {POSITION_KEY: "0"}),
                             answers)
    assert (located.status, located.extensions["errors"]) == (
        422, [{"location": "body", "field": "expression", "message": "x"}])
    with pytest.raises(Exception) as raised, answering(answers):
        raise limit
    assert getattr(raised.value, "status", None) == 409


async def test_unknown_route_and_method(client: Any) -> None:
    c, _ = client
    assert_problem(await c.get("/v1/nope"), 404)
    assert_problem(await c.put("/v1/mentions", headers=AUTH), 405)


async def test_missing_and_malformed_keys_are_401_with_challenge(client: Any) -> None:
    c, _ = client
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dXNlcjpwdw=="},
                    {"Authorization": f"Bearer {KEY.secret}x"}):
        resp = await c.get("/v1/mentions", headers=headers)
        assert_problem(resp, 401)
        assert resp.headers["www-authenticate"].startswith("Bearer")


async def test_wrong_scope_is_403(client: Any) -> None:
    c, _ = client
    resp = await c.get("/v1/mentions", headers={"Authorization": f"Bearer {INGEST_ONLY.secret}"})
    assert "read" in assert_problem(resp, 403)["detail"]


async def test_query_validation_is_422_with_field_errors(client: Any) -> None:
    c, _ = client
    doc = assert_problem(await c.get("/v1/mentions?limit=0&from=2024-01-01T00:00:00", headers=AUTH), 422)
    assert doc["type"] == "urn:dengar:problem:validation-error"
    fields = {(e["location"], e["field"]) for e in doc["errors"]}
    assert fields == {("query", "limit"), ("query", "from")}


async def test_body_problems(client: Any) -> None:
    c, _ = client
    resp = await c.post("/v1/analyze", content=b"texts=a", headers={**AUTH, "Content-Type": "text/plain"})
    assert_problem(resp, 415)
    resp = await c.post("/v1/analyze", content=b'{"texts": [', headers=JSON_AUTH)
    assert assert_problem(resp, 400)["type"] == "urn:dengar:problem:malformed-json"
    resp = await c.post("/v1/analyze", json={"texts": []}, headers=AUTH)
    assert assert_problem(resp, 422)["errors"][0]["field"] == "texts"


async def test_oversized_bodies_are_413_declared_or_streamed(client: Any) -> None:
    c, _ = client
    big = b'{"texts": ["' + b"a" * 4096 + b'"]}'
    assert_problem(await c.post("/v1/analyze", content=big, headers=JSON_AUTH), 413)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while reading
        for i in range(0, len(big), 512):
            yield big[i:i + 512]

    resp = await c.post("/v1/analyze", content=chunks(), headers=JSON_AUTH)
    assert_problem(resp, 413)


async def test_backend_failures(client: Any) -> None:
    c, backends = client
    backends.error = RemoteError("insights", grpc.StatusCode.UNAVAILABLE, "connection refused")
    resp = await c.get("/v1/mentions", headers=AUTH)
    assert assert_problem(resp, 503)["type"] == "urn:dengar:problem:backend-unavailable"
    assert resp.headers["retry-after"] == "1"
    backends.error = RuntimeError("boom")
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    resp = await c.get("/v1/mentions", headers={**AUTH, "traceparent": traceparent})
    doc = assert_problem(resp, 500)
    assert "boom" not in resp.text
    assert doc["trace_id"] == resp.headers["x-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
