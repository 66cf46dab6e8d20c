"""Shared fixtures: real nats-server and SecantusDB processes on free loopback ports."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dengar_common.localinfra import LocalInfra

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfra]:
    env = LocalInfra(tmp_path_factory.mktemp("infra")).start()
    try:
        yield env
    finally:
        env.stop()


@pytest.fixture
def unique() -> str:
    """A short unique token: each test gets its own databases, streams and subjects."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
async def nats_client(infra: LocalInfra) -> AsyncIterator[object]:
    from dengar_common.bus import connect

    nc = await connect(infra.nats_url, name="tests")
    try:
        yield nc
    finally:
        await nc.close()


@pytest.fixture
async def mongo_client(infra: LocalInfra) -> AsyncIterator[object]:
    from dengar_common.mongo import make_client

    client = make_client(infra.mongo_uri, app_name="tests")
    try:
        yield client
    finally:
        await client.close()
