"""Gateway integration fixtures: the real app and MongoDB, and real gRPC servers that implement
the collector, NLP and insights protos as test doubles (see gateway_fakes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
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
    FakeSources,
    Recorder,
)

from dengar.v1 import collector_pb2_grpc, insights_pb2_grpc, nlp_pb2_grpc
from dengar_common.app import ServiceApp
from dengar_common.grpcutil import make_server, set_serving
from dengar_common.localinfra import LocalInfra
from dengar_gateway import bootstrap
from dengar_gateway.domain.keys import ALL_SCOPES, Scope, generate_key
from dengar_gateway.entrypoints.deps import GatewayDeps
from dengar_gateway.settings import GatewayConfig, GatewaySettings


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
    """Settings for this test's database and fake backends, with overrides of the gateway's own
    (``GatewayConfig`` fields; nested ones as dicts, merged: ``limits={"max_posts": 10}``)."""

    def build(**overrides: Any) -> GatewaySettings:
        target = f"127.0.0.1:{fakes.port}"
        values: dict[str, Any] = dict(
            db=f"gw_{unique}", collector_target=target, nlp_target=target, insights_target=target,
            rate_limit={"per_s": 0}, grpc_timeout_s=5, http_port=0)
        for name, value in overrides.items():
            values[name] = {**values.get(name, {}), **value} if isinstance(value, dict) else value
        return GatewaySettings(mongo_uri=infra.mongo_uri, shutdown_grace_s=2,
                               gateway=GatewayConfig.model_validate(values))

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
    # The ASGI app, for clients of their own (another client address).
    api: Any = None

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
    """Starts the service as ``python -m dengar_gateway`` does (HTTP on a free port) with setting
    overrides, and a client that calls its app in-process; stops it after the test."""
    stack = AsyncExitStack()

    async def start(**overrides: Any) -> Gateway:
        app = await stack.enter_async_context(ServiceApp("dengar-gateway", grace_s=2))
        api = await bootstrap.start(app, settings_for(**overrides))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://gateway"))
        return Gateway(client, api.state.deps, api)

    async with stack:
        yield start


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


@pytest.fixture
async def fake_sources() -> AsyncIterator[tuple[FakeSources, int]]:
    """A SourceService double alone on its own port: (its servicer, the port)."""
    names = ["dengar.v1.SourceService"]
    servicer = FakeSources(Recorder())
    server, health = make_server(
        [lambda s: collector_pb2_grpc.add_SourceServiceServicer_to_server(servicer, s)], names)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await set_serving(health, names, True)
    try:
        yield servicer, port
    finally:
        await server.stop(0)
