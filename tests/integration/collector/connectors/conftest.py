"""Fixtures for the connector tests: a local fixture server, a fake clock and the safe HTTP client
allowed to reach 127.0.0.1 only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from connector_fakes import FakeClock, local_config
from connector_server import FixtureServer

from dengar_common.http_safety import SafeHttpClient


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    srv = FixtureServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def http() -> AsyncIterator[SafeHttpClient]:
    async with SafeHttpClient(local_config()) as client:
        yield client
