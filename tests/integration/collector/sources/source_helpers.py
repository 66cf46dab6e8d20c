"""Helpers shared by the source tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from connector_fakes import MastodonHarness

from dengar.v1 import collector_pb2, collector_pb2_grpc
from dengar_common.bus import Subjects

TENANT = "acme"
OTHER = "globex"


def mastodon_config(harness: MastodonHarness, **extra: Any) -> dict[str, Any]:
    # The fixtures were recorded on 2026-11-20; a 30-day backfill reaches them.
    return {**harness.config(), "backfill_hours": 720, **extra}


async def wait_for(stub: collector_pb2_grpc.SourceServiceStub, tenant: str, source_id: str,
                   done: Callable[[collector_pb2.Source], bool], *,
                   timeout: float = 15.0) -> collector_pb2.Source:
    """Poll GetSource until ``done`` holds (the scheduler works in the background)."""
    async with asyncio.timeout(timeout):
        while True:
            src = await stub.GetSource(collector_pb2.GetSourceRequest(tenant_id=tenant, id=source_id))
            if done(src):
                return src
            await asyncio.sleep(0.02)


async def stream_posts(nats_client: Any, subjects: Subjects) -> list[Any]:
    """Every post on the collected stream, in order."""
    from dengar.v1 import common_pb2

    js = nats_client.jetstream()
    stream = subjects.stream("collected")
    info = await js.stream_info(stream)
    if not info.state.messages:
        return []
    msgs = [await js.get_msg(stream, seq) for seq in range(info.state.first_seq, info.state.last_seq + 1)]
    return [common_pb2.Post.FromString(m.data) for m in msgs]
