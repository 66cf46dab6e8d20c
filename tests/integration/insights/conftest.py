"""In-process insights service against the real nats-server and store of the ``infra`` fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from insights_helpers import Env, make_settings, running

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

