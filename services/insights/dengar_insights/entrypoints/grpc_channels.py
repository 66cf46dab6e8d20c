"""The ChannelService and DigestService gRPC APIs over service_layer/deliveries.py and digests.py."""

from __future__ import annotations

from typing import Any

from grpc import aio

from dengar.v1 import insights_pb2, insights_pb2_grpc
from dengar_insights.domain.channels import Channel, ChannelSpec
from dengar_insights.domain.digests import DigestSchedule, DigestSpec
from dengar_insights.domain.notification import Delivery
from dengar_insights.entrypoints.protos import timestamp
from dengar_insights.service_layer.deliveries import ChannelManager, Deliveries
from dengar_insights.service_layer.digests import DigestManager

Ctx = aio.ServicerContext[Any, Any]


def channel_to_proto(c: Channel) -> insights_pb2.Channel:
    out = insights_pb2.Channel(id=c.id, tenant_id=c.tenant_id, name=c.name, kind=c.kind, url=c.url,
                               format=c.format if c.kind == "webhook" else "", recipients=list(c.recipients),
                               language=c.language, secret=c.secret)
    if c.created_at is not None:
        out.created_at.CopyFrom(timestamp(c.created_at))
    if c.updated_at is not None:
        out.updated_at.CopyFrom(timestamp(c.updated_at))
    return out


def delivery_to_proto(d: Delivery) -> insights_pb2.ChannelDelivery:
    out = insights_pb2.ChannelDelivery(id=d.id, tenant_id=d.tenant_id, key=d.key, channel_id=d.channel_id,
                                       state=d.state)
    for a in d.attempts:
        out.attempts.append(insights_pb2.ChannelDeliveryAttempt(at=timestamp(a.at), status=a.status,
                                                                latency_ms=a.latency_ms, error=a.error))
    if d.next_attempt_at is not None and d.state == "pending":
        out.next_attempt_at.CopyFrom(timestamp(d.next_attempt_at))
    return out


def _spec(p: insights_pb2.ChannelSpec) -> ChannelSpec:
    return ChannelSpec(name=p.name, kind=p.kind, url=p.url, format=p.format, recipients=tuple(p.recipients),
                       language=p.language)


def digest_to_proto(s: DigestSchedule) -> insights_pb2.Digest:
    spec = s.spec
    out = insights_pb2.Digest(id=s.id, tenant_id=s.tenant_id, digest=insights_pb2.DigestSpec(
        name=spec.name, frequency=spec.frequency, time=spec.time, time_zone=spec.time_zone,
        language=spec.language, channel_ids=list(spec.channel_ids), weekday=spec.weekday),
        next_run_at=timestamp(s.next_run_at))
    if s.last_period_start is not None:
        out.last_period_start.CopyFrom(timestamp(s.last_period_start))
    if s.created_at is not None:
        out.created_at.CopyFrom(timestamp(s.created_at))
    if s.updated_at is not None:
        out.updated_at.CopyFrom(timestamp(s.updated_at))
    return out


def _digest_spec(p: insights_pb2.DigestSpec) -> DigestSpec:
    return DigestSpec(name=p.name, frequency=p.frequency, time=p.time, time_zone=p.time_zone,
                      language=p.language, channel_ids=tuple(p.channel_ids), weekday=p.weekday)


class ChannelServicer(insights_pb2_grpc.ChannelServiceServicer):
    def __init__(self, channels: ChannelManager, deliveries: Deliveries) -> None:
        self._channels = channels
        self._deliveries = deliveries

    async def CreateChannel(self, request: insights_pb2.CreateChannelRequest,
                            context: Ctx) -> insights_pb2.Channel:
        return channel_to_proto(await self._channels.create(request.tenant_id, _spec(request.channel)))

    async def GetChannel(self, request: insights_pb2.GetChannelRequest, context: Ctx) -> insights_pb2.Channel:
        return channel_to_proto(await self._channels.get(request.tenant_id, request.id))

    async def ListChannels(self, request: insights_pb2.ListChannelsRequest,
                           context: Ctx) -> insights_pb2.ListChannelsResponse:
        found = await self._channels.list(request.tenant_id)
        return insights_pb2.ListChannelsResponse(channels=[channel_to_proto(c) for c in found])

    async def UpdateChannel(self, request: insights_pb2.UpdateChannelRequest,
                            context: Ctx) -> insights_pb2.Channel:
        updated = await self._channels.update(request.tenant_id, request.id, _spec(request.channel))
        return channel_to_proto(updated)

    async def DeleteChannel(self, request: insights_pb2.DeleteChannelRequest,
                            context: Ctx) -> insights_pb2.DeleteChannelResponse:
        await self._channels.delete(request.tenant_id, request.id)
        return insights_pb2.DeleteChannelResponse()

    async def RotateChannelSecret(self, request: insights_pb2.RotateChannelSecretRequest,
                                  context: Ctx) -> insights_pb2.Channel:
        return channel_to_proto(await self._channels.rotate_secret(request.tenant_id, request.id))

    async def ListDeliveries(self, request: insights_pb2.ListDeliveriesRequest,
                             context: Ctx) -> insights_pb2.ListDeliveriesResponse:
        found = await self._deliveries.list(request.tenant_id, key=request.key or None,
                                            state=request.state or None, limit=request.limit or 100)
        return insights_pb2.ListDeliveriesResponse(deliveries=[delivery_to_proto(d) for d in found])

    async def GetDelivery(self, request: insights_pb2.GetDeliveryRequest,
                          context: Ctx) -> insights_pb2.ChannelDelivery:
        return delivery_to_proto(await self._deliveries.get(request.tenant_id, request.id))

    async def Redeliver(self, request: insights_pb2.RedeliverRequest,
                        context: Ctx) -> insights_pb2.ChannelDelivery:
        return delivery_to_proto(await self._deliveries.redeliver(request.tenant_id, request.id))


class DigestServicer(insights_pb2_grpc.DigestServiceServicer):
    def __init__(self, digests: DigestManager) -> None:
        self._digests = digests

    async def CreateDigest(self, request: insights_pb2.CreateDigestRequest,
                           context: Ctx) -> insights_pb2.Digest:
        return digest_to_proto(await self._digests.create(request.tenant_id, _digest_spec(request.digest)))

    async def GetDigest(self, request: insights_pb2.GetDigestRequest, context: Ctx) -> insights_pb2.Digest:
        return digest_to_proto(await self._digests.get(request.tenant_id, request.id))

    async def ListDigests(self, request: insights_pb2.ListDigestsRequest,
                          context: Ctx) -> insights_pb2.ListDigestsResponse:
        return insights_pb2.ListDigestsResponse(
            digests=[digest_to_proto(s) for s in await self._digests.list(request.tenant_id)])

    async def UpdateDigest(self, request: insights_pb2.UpdateDigestRequest,
                           context: Ctx) -> insights_pb2.Digest:
        return digest_to_proto(await self._digests.update(request.tenant_id, request.id,
                                                          _digest_spec(request.digest)))

    async def DeleteDigest(self, request: insights_pb2.DeleteDigestRequest,
                           context: Ctx) -> insights_pb2.DeleteDigestResponse:
        await self._digests.delete(request.tenant_id, request.id)
        return insights_pb2.DeleteDigestResponse()
