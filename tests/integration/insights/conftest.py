"""In-process insights service against the real nats-server and store of the ``infra`` fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from insights_helpers import Env, make_settings, running
from shardkeys import LISTENER

from dengar.v1 import insights_pb2_grpc
from dengar_common import grpcutil
from dengar_common.bus import Subjects
from dengar_common.localinfra import LocalInfra


@pytest.fixture
async def env(infra: LocalInfra, unique: str, nats_client: Any) -> AsyncIterator[Env]:
    settings = make_settings(infra, unique)
    async with running(settings) as app:
        channel = grpcutil.insecure_channel(f"127.0.0.1:{app.port}")
        try:
            yield Env(app, nats_client.jetstream(), Subjects(unique),
                      insights_pb2_grpc.InsightsServiceStub(channel))
        finally:
            await channel.close()



@pytest.fixture(autouse=True)
def commands_route_by_shard_key() -> Iterator[None]:
    """Every store command the service sent during the test names its tenant on the sharded
    collections (docs/sharding.md): a test whose commands did not fails here."""
    before = len(LISTENER.violations)
    yield
    new = LISTENER.violations[before:]
    assert not new, "store commands that a sharded cluster could not route by tenant:\n" + "\n".join(
        dict.fromkeys(new))
