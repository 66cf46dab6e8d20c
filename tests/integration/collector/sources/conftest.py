"""Fixtures for the source tests: collectors in-process (port 0) on a per-test database, real NATS and
SecantusDB, and the connector tests' local fixture server standing in for the platforms."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "connectors"))

from collector_harness import RunningCollector, collector_settings
from connector_fakes import FakeClock, MastodonHarness
from connector_server import FixtureServer

from dengar.v1 import collector_pb2_grpc
from dengar_common.grpcutil import insecure_channel
from dengar_common.localinfra import LocalInfra


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    srv = FixtureServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def mastodon(server: FixtureServer) -> MastodonHarness:
    return MastodonHarness(server, FakeClock(), None)  # type: ignore[arg-type]  # bad on purpose


AppFactory = Callable[..., Awaitable[RunningCollector]]


@pytest.fixture
async def start_collector(infra: LocalInfra, unique: str) -> AsyncIterator[AppFactory]:
    """Starts collectors on this test's database; each stops at the end unless already stopped."""
    apps: list[RunningCollector] = []

    async def start(**overrides: Any) -> RunningCollector:
        values: dict[str, Any] = dict(
            db=f"col_{unique}", grpc_port=0, egress__allowed_cidrs=["127.0.0.1/32"],
            scheduler__poll_interval_s=0.05, sources__min_interval_s=1,
            sources__default_interval_s=3600)
        values.update(overrides)
        app = RunningCollector(collector_settings(
            dict(nats_url=infra.nats_url, mongo_uri=infra.mongo_uri, subject_root=unique,
                 shutdown_grace_s=2.0), **values))
        await app.start()
        apps.append(app)
        return app

    try:
        yield start
    finally:
        for app in reversed(apps):
            await app.stop()


@pytest.fixture
async def collector(start_collector: AppFactory) -> RunningCollector:
    return await start_collector()


@pytest.fixture
async def sources(collector: RunningCollector) -> AsyncIterator[collector_pb2_grpc.SourceServiceStub]:
    async with insecure_channel(collector.target) as ch:
        yield collector_pb2_grpc.SourceServiceStub(ch)
