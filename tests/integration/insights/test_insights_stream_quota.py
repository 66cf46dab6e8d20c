"""Concurrent StreamMentions per tenant, counted over two insights replicas on one store."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import grpc
from insights_helpers import make_settings, running

from dengar.v1 import insights_pb2, insights_pb2_grpc
from dengar_common import grpcutil
from dengar_common.grpcerrors import RemoteError


async def test_streams_are_limited_per_tenant_over_every_replica(infra, unique) -> None:
    settings = make_settings(infra, unique, stream={"max_per_tenant": 2})
    async with AsyncExitStack() as stack:
        stubs = []
        for _ in range(2):
            app = await stack.enter_async_context(running(settings))
            channel = grpcutil.insecure_channel(f"127.0.0.1:{app.port}")
            stack.push_async_callback(channel.close)
            stubs.append(insights_pb2_grpc.InsightsServiceStub(channel))

        async def open_stream(stub, tenant: str = "acme"):
            call = stub.StreamMentions(insights_pb2.StreamMentionsRequest(tenant_id=tenant))
            first = await asyncio.wait_for(call.read(), 15)
            return call, first

        held = [(await open_stream(stubs[0]))[0], (await open_stream(stubs[1]))[0]]
        for stub in stubs:
            call = stub.StreamMentions(insights_pb2.StreamMentionsRequest(tenant_id="acme"))
            try:
                await asyncio.wait_for(call.read(), 15)
                raise AssertionError("a third stream was admitted")
            except grpc.aio.AioRpcError as exc:
                error = RemoteError.from_rpc_error("insights", exc)
            assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED and error.reason == "too-many-streams"
            assert (error.limit, error.current) == (2, 2) and error.retry_after_s == 5
        other, _ = await open_stream(stubs[0], "globex")  # another tenant has its own allowance
        # A stream that ends gives its slot back (on its replica, a moment after the call ends).
        held.pop().cancel()
        for _ in range(100):
            try:
                again, first = await open_stream(stubs[0])
                break
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("the ended stream's slot never came back")
        assert not first.HasField("mention")
        for call in (*held, other, again):
            call.cancel()
