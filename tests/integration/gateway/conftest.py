"""Gateway integration fixtures: the real app and MongoDB, and real gRPC servers that implement
the collector, NLP and insights protos as test doubles (see gateway_fakes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from gateway_fakes import (
    SERVICE_NAMES,
    FakeCollector,
    FakeImports,
    FakeInsights,
    FakeNlp,
    FakeQueries,
    Recorder,
)

from dengar.v1 import collector_pb2_grpc, insights_pb2_grpc, nlp_pb2_grpc
from dengar_common.grpcutil import make_server, set_serving
from dengar_common.localinfra import LocalInfra
from dengar_gateway.bootstrap import create_app
from dengar_gateway.domain.keys import ALL_SCOPES, Scope, generate_key
from dengar_gateway.entrypoints.deps import GatewayDeps
from dengar_gateway.settings import GatewaySettings


@dataclass
class FakeBackends:
    port: int
    collector: Recorder
    insights: Recorder
    nlp: Recorder
    insights_servicer: FakeInsights
    health: Any
    # The collector's QueryService; its calls are recorded with the collector's.
    queries_servicer: FakeQueries
    # The collector's ImportService (calls recorded with the collector's).
    imports_servicer: FakeImports


@pytest.fixture
async def fakes() -> AsyncIterator[FakeBackends]:
    recs = Recorder(), Recorder(), Recorder()
    insights = FakeInsights(recs[1])
    queries = FakeQueries(recs[0])
    imports = FakeImports(recs[0])
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
    try:
        yield FakeBackends(port, recs[0], recs[1], recs[2], insights, health, queries, imports)
    finally:
        await server.stop(0)


@pytest.fixture
def settings_for(infra: LocalInfra, unique: str, fakes: FakeBackends) -> Callable[..., GatewaySettings]:
    """Settings for this test's database and fake backends, with overrides."""

    def build(**overrides: Any) -> GatewaySettings:
        target = f"127.0.0.1:{fakes.port}"
        values: dict[str, Any] = dict(
            mongo_uri=infra.mongo_uri, gateway_db=f"gw_{unique}", collector_target=target,
            nlp_target=target, insights_target=target, gateway_rate_limit_per_s=0,
            gateway_grpc_timeout_s=5)
        values.update(overrides)
        return GatewaySettings(**values)

    return build


@dataclass(frozen=True)
class Key:
    id: str
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


@dataclass
class Gateway:
    client: httpx.AsyncClient
    deps: GatewayDeps

    async def new_key(self, tenant_id: str, *scopes: Scope) -> Key:
        """A key of ``tenant_id`` (all scopes unless given), creating the tenant if needed."""
        now = datetime.now(UTC)
        if await self.deps.store.tenants.get(tenant_id) is None:
            await self.deps.store.tenants.create(tenant_id, tenant_id.title(), now)
        key = generate_key()
        await self.deps.store.keys.insert(tenant_id, key_id=key.key_id, key_hash=key.hash,
                                          scopes=[s.value for s in scopes or ALL_SCOPES], name="test",
                                          now=now)
        return Key(key.key_id, key.secret)


@pytest.fixture
async def gateway_for(settings_for: Callable[..., GatewaySettings]
                      ) -> AsyncIterator[Callable[..., Any]]:
    """Starts the app (lifespan included) with setting overrides; stops it after the test."""
    stacks: list[Any] = []

    async def start(**overrides: Any) -> Gateway:
        app = create_app(settings_for(**overrides))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
        stacks.append((lifespan, client))
        return Gateway(client, app.state.deps)

    try:
        yield start
    finally:
        for lifespan, client in reversed(stacks):
            await client.aclose()
            await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def gateway(gateway_for: Callable[..., Any]) -> Gateway:
    return await gateway_for()


def assert_problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    doc = resp.json()
    assert doc["status"] == status and doc["title"] and doc["type"] and doc["instance"]
    return doc


@pytest.fixture
def problem() -> Callable[[httpx.Response, int], dict[str, Any]]:
    return assert_problem
