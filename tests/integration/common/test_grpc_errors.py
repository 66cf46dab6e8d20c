"""The gRPC error interceptor over a real loopback server: domain errors become status + metadata."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from grpc import aio

from dengar.v1 import insights_pb2
from dengar_common import errors
from dengar_common.app import ServiceApp
from dengar_common.grpcerrors import RemoteError
from dengar_common.grpcutil import insecure_channel

Behaviour = Callable[[insights_pb2.GetMentionRequest], Awaitable[insights_pb2.Mention]]
SERVICE = "dengar.test.Probe"


async def _serve(behaviour: Behaviour) -> tuple[ServiceApp, int]:
    async def handler(request: insights_pb2.GetMentionRequest, context: Any) -> insights_pb2.Mention:
        return await behaviour(request)

    generic = grpc.method_handlers_generic_handler(SERVICE, {
        "Get": grpc.unary_unary_rpc_method_handler(
            handler, request_deserializer=insights_pb2.GetMentionRequest.FromString,
            response_serializer=insights_pb2.Mention.SerializeToString),
    })
    app = ServiceApp("probe", grace_s=0.5)
    await app.__aenter__()
    port = await app.serve_grpc([lambda srv: srv.add_generic_rpc_handlers((generic,))], [SERVICE],
                                host="127.0.0.1", port=0)
    await app.ready()
    return app, port


@pytest.fixture
async def call() -> AsyncIterator[Callable[[Behaviour, str], Awaitable[insights_pb2.Mention]]]:
    apps: list[ServiceApp] = []
    channels: list[aio.Channel] = []

    async def run(behaviour: Behaviour, tenant: str) -> insights_pb2.Mention:
        app, port = await _serve(behaviour)
        apps.append(app)
        channel = insecure_channel(f"127.0.0.1:{port}")
        channels.append(channel)
        stub = channel.unary_unary(f"/{SERVICE}/Get",
                                   request_serializer=insights_pb2.GetMentionRequest.SerializeToString,
                                   response_deserializer=insights_pb2.Mention.FromString)
        try:
            return await stub(insights_pb2.GetMentionRequest(tenant_id=tenant, id="m1"), timeout=5)
        except aio.AioRpcError as exc:
            raise RemoteError.from_rpc_error("probe", exc) from None

    yield run
    for channel in channels:
        await channel.close()
    for app in apps:
        await app.aclose()


async def _ok(request: insights_pb2.GetMentionRequest) -> insights_pb2.Mention:
    return insights_pb2.Mention(id=request.id, tenant_id=request.tenant_id)


async def test_success_passes_through(call: Any) -> None:
    mention = await call(_ok, "acme")
    assert mention.id == "m1"


@pytest.mark.parametrize("tenant", ["", "Bad Tenant", "x" * 64])
async def test_tenant_is_validated_before_the_servicer_runs(call: Any, tenant: str) -> None:
    ran: list[bool] = []

    async def behaviour(request: insights_pb2.GetMentionRequest) -> insights_pb2.Mention:
        ran.append(True)
        return insights_pb2.Mention()

    with pytest.raises(RemoteError) as info:
        await call(behaviour, tenant)
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.field == "tenant_id"
    assert ran == []


@pytest.mark.parametrize("error,code", [
    (errors.NotFound("mention m1 not found"), grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists("name taken", field="name", reason="name-taken"), grpc.StatusCode.ALREADY_EXISTS),
    (errors.FailedPrecondition("source is paused"), grpc.StatusCode.FAILED_PRECONDITION),
    (errors.ResourceExhausted("limit of 500 queries", retry_after_s=2.5), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unavailable("store unavailable"), grpc.StatusCode.UNAVAILABLE),
    (errors.Unauthenticated("bad signature"), grpc.StatusCode.UNAUTHENTICATED),
    (errors.InvalidArgument("unexpected ')'", field="expression", position=7, expected="a term"),
     grpc.StatusCode.INVALID_ARGUMENT),
])
async def test_domain_errors_map_to_status_and_metadata(call: Any, error: errors.DomainError,
                                                        code: grpc.StatusCode) -> None:
    async def behaviour(request: insights_pb2.GetMentionRequest) -> insights_pb2.Mention:
        raise error

    with pytest.raises(RemoteError) as info:
        await call(behaviour, "acme")
    remote = info.value
    assert remote.code == code
    assert remote.detail == error.message
    assert remote.field == error.field
    assert remote.position == error.position
    assert remote.expected == error.expected
    assert remote.reason == error.reason
    assert remote.retry_after_s == error.retry_after_s


async def test_unexpected_exception_is_internal_without_leaking_details(call: Any) -> None:
    async def behaviour(request: insights_pb2.GetMentionRequest) -> insights_pb2.Mention:
        raise KeyError("secret-internal-state")

    with pytest.raises(RemoteError) as info:
        await call(behaviour, "acme")
    assert info.value.code == grpc.StatusCode.INTERNAL
    assert "secret" not in info.value.detail


async def test_non_ascii_details_survive_as_metadata(call: Any) -> None:
    async def behaviour(request: insights_pb2.GetMentionRequest) -> insights_pb2.Mention:
        raise errors.InvalidArgument("bad", field="nama_kueri", expected="kata “benar” 😀")

    with pytest.raises(RemoteError) as info:
        await call(behaviour, "acme")
    assert info.value.expected is not None and "benar" in info.value.expected
