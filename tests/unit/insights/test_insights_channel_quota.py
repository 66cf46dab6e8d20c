"""The per-tenant channel limit holds when creates race (insert, recount, withdraw), and names its
limit and the current count."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from dengar_common.errors import FailedPrecondition
from dengar_insights.domain.channels import Channel, ChannelSpec
from dengar_insights.service_layer.deliveries import ChannelManager


class Channels:
    """The ChannelRepository in memory; every call yields, as a store round trip does."""

    def __init__(self) -> None:
        self.rows: dict[str, Channel] = {}

    async def insert(self, channel: Channel) -> None:
        await asyncio.sleep(0)
        self.rows[channel.id] = channel

    async def list(self, tenant_id: str) -> list[Channel]:
        await asyncio.sleep(0)
        return [c for c in self.rows.values() if c.tenant_id == tenant_id]

    async def delete(self, tenant_id: str, channel_id: str) -> bool:
        await asyncio.sleep(0)
        return self.rows.pop(channel_id, None) is not None

    async def get(self, tenant_id: str, channel_id: str) -> Channel | None:
        found = self.rows.get(channel_id)
        return replace(found) if found and found.tenant_id == tenant_id else None


SPEC = ChannelSpec(name="Ops", kind="webhook", url="https://hooks.example.com/x")


async def test_racing_creates_never_pass_the_limit() -> None:
    channels = Channels()
    manager = ChannelManager(channels, email_configured=False, check_url=lambda url: None,  # type: ignore[arg-type]  # the in-memory double has what create needs
                             max_per_tenant=3)
    results = await asyncio.gather(*[manager.create("acme", SPEC) for _ in range(10)],
                                   return_exceptions=True)
    created = [r for r in results if isinstance(r, Channel)]
    assert all(isinstance(r, (Channel, FailedPrecondition)) for r in results)
    # Racing at the limit may refuse them all (documented), never admit one too many.
    assert len(created) <= 3 and len(await channels.list("acme")) == len(created)
    while len(await channels.list("acme")) < 3:
        await manager.create("acme", SPEC)
    with pytest.raises(FailedPrecondition) as refused:
        await manager.create("acme", SPEC)
    assert (refused.value.reason, refused.value.limit, refused.value.current) == ("channel-limit", 3, 3)
    assert len(await channels.list("acme")) == 3
    await manager.create("globex", SPEC)
