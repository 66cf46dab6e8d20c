"""The per-tenant limit on sources, enforced by the collector that owns them (so it holds over
gRPC as over HTTP), with the limit and the current count in the error's metadata."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import struct_pb2
from source_helpers import OTHER, TENANT

from dengar.v1 import collector_pb2, collector_pb2_grpc
from dengar_common.grpcerrors import RemoteError
from dengar_common.grpcutil import insecure_channel


def _req(tenant: str, name: str) -> collector_pb2.CreateSourceRequest:
    config = struct_pb2.Struct()
    config.update({"query": "gojek"})
    return collector_pb2.CreateSourceRequest(tenant_id=tenant, name=name, kind="hackernews",
                                             config=config, paused=True)


async def test_sources_are_limited_per_tenant_and_racing_creates_never_pass(start_collector) -> None:
    collector = await start_collector(sources__max_per_tenant=2)
    async with insecure_channel(collector.target) as ch:
        stub = collector_pb2_grpc.SourceServiceStub(ch)
        first = await stub.CreateSource(_req(TENANT, "one"))
        await stub.CreateSource(_req(TENANT, "two"))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateSource(_req(TENANT, "three"))
        error = RemoteError.from_rpc_error("collector", refused.value)
        assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED and error.reason == "source-limit"
        assert (error.limit, error.current) == (2, 2)
        listed = await stub.ListSources(collector_pb2.ListSourcesRequest(tenant_id=TENANT))
        assert len(listed.sources) == 2  # the refused one left nothing behind
        # Another tenant has its own allowance; deleting one makes room again.
        await stub.CreateSource(_req(OTHER, "one"))
        await stub.DeleteSource(collector_pb2.DeleteSourceRequest(tenant_id=TENANT,
                                                                  id=first.source.id))
        await stub.CreateSource(_req(TENANT, "three"))
        # Eight at once for a tenant with none: the limit still holds.
        results = await asyncio.gather(*[stub.CreateSource(_req("racer", f"s{i}")) for i in range(8)],
                                       return_exceptions=True)
        assert all(isinstance(r, collector_pb2.CreateSourceResponse)
                   or r.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for r in results)
        listed = await stub.ListSources(collector_pb2.ListSourcesRequest(tenant_id="racer"))
        assert len(listed.sources) == sum(isinstance(r, collector_pb2.CreateSourceResponse)
                                          for r in results) <= 2
