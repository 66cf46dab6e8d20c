"""ChannelService and DigestService over gRPC in the running insights service: secrets shown once,
INVALID_ARGUMENT naming the field, FAILED_PRECONDITION for email without SMTP, tenant isolation, and a
notification dispatched inside the service reaching a local receiver with a verifiable signature."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from insights_helpers import make_settings, running, wait_until
from test_insights_deliveries import Receiver

from dengar.v1 import insights_pb2 as pb
from dengar.v1 import insights_pb2_grpc
from dengar_collector.domain.webhook import verify
from dengar_common import grpcutil
from dengar_common.grpcerrors import FIELD_KEY
from dengar_common.localinfra import LocalInfra
from dengar_insights.domain.notification import Notification


@pytest.fixture
async def http_receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.close()


def digest_spec(**kw: Any) -> pb.DigestSpec:
    return pb.DigestSpec(name="Week", time_zone="Asia/Jakarta", language="id", **kw)


def field_of(err: grpc.aio.AioRpcError) -> str | None:
    return dict(err.trailing_metadata() or ()).get(FIELD_KEY)


async def test_channels_and_digests_over_grpc(infra: LocalInfra, unique: str,
                                              http_receiver: Receiver) -> None:
    receiver = http_receiver
    settings = make_settings(infra, unique, egress={"allow_private": True},
                             deliveries={"poll_s": 0.05, "backoff_base_s": 0.05})
    async with running(settings) as app:
        channel = grpcutil.insecure_channel(f"127.0.0.1:{app.port}")
        try:
            channels = insights_pb2_grpc.ChannelServiceStub(channel)
            digests = insights_pb2_grpc.DigestServiceStub(channel)
            created = await channels.CreateChannel(pb.CreateChannelRequest(
                tenant_id="acme",
                channel=pb.ChannelSpec(name="ops", kind="webhook", url=receiver.url("/ok"))))
            assert created.secret.startswith("whsec_") and created.format == "dengar"
            got = await channels.GetChannel(pb.GetChannelRequest(tenant_id="acme", id=created.id))
            assert got.secret == "" and got.url == receiver.url("/ok")
            for spec, field in [(pb.ChannelSpec(name="x", kind="pager"), "kind"),
                                (pb.ChannelSpec(name="x", kind="webhook", url="gopher://x"), "url"),
                                (pb.ChannelSpec(name="x", kind="webhook", url="http://169.254.169.254/"),
                                 "url")]:
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await channels.CreateChannel(pb.CreateChannelRequest(tenant_id="acme", channel=spec))
                assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field_of(info.value) == field
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await channels.CreateChannel(pb.CreateChannelRequest(tenant_id="acme", channel=pb.ChannelSpec(
                    name="pr", kind="email", recipients=["a@b.co"])))
            assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await channels.GetChannel(pb.GetChannelRequest(tenant_id="other", id=created.id))
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
            assert (await channels.ListChannels(pb.ListChannelsRequest(tenant_id="other"))).channels == []
            rotated = await channels.RotateChannelSecret(pb.RotateChannelSecretRequest(tenant_id="acme",
                                                                                       id=created.id))
            assert rotated.secret and rotated.secret != created.secret

            digest = await digests.CreateDigest(pb.CreateDigestRequest(
                tenant_id="acme", digest=digest_spec(frequency="weekly", time="09:00",
                channel_ids=[created.id], weekday="mon")))
            assert digest.next_run_at.ToDatetime(UTC) > datetime.now(UTC)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await digests.CreateDigest(pb.CreateDigestRequest(
                    tenant_id="other", digest=digest_spec(frequency="daily", time="09:00",
                    channel_ids=[created.id])))
            assert field_of(info.value) == "channel_ids"  # another tenant's channel is unknown
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await digests.UpdateDigest(pb.UpdateDigestRequest(
                    tenant_id="acme", id=digest.id, digest=digest_spec(frequency="daily", time="9am",
                    channel_ids=[created.id])))
            assert field_of(info.value) == "time"

            # The alerts engine's view: the Dispatcher of the running service.
            ids = await app.deliveries.dispatch(Notification(
                tenant_id="acme", key="alert:g1:firing", kind="alert.firing", title={"en": "t"},
                text={"en": "x"}, payload={}, created_at=datetime.now(UTC)), [created.id])
            await wait_until(lambda: len(receiver.requests) == 1, timeout=10, what="the delivery")
            req = receiver.requests[0]
            h = req.headers
            verify(rotated.secret, h["x-dengar-timestamp"], h["x-dengar-signature"], req.body,
                   now=time.time(), tolerance_s=300)

            async def delivered() -> Any:
                return (await channels.ListDeliveries(pb.ListDeliveriesRequest(
                    tenant_id="acme", key="alert:g1:firing"))).deliveries

            for _ in range(100):
                found = await delivered()
                if found and found[0].state == "delivered":
                    break
                await asyncio.sleep(0.05)
            [d] = found
            assert d.id == ids[0] and [a.status for a in d.attempts] == [200]
            others = await channels.ListDeliveries(pb.ListDeliveriesRequest(tenant_id="other"))
            assert others.deliveries == []
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await channels.Redeliver(pb.RedeliverRequest(tenant_id="acme", id=d.id))
            assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        finally:
            await channel.close()
