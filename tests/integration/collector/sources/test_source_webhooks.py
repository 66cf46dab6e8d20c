"""Signed webhook pushes over gRPC against a real collector, NATS and SecantusDB."""

from __future__ import annotations

import json
import time

import grpc
import pytest
from source_helpers import TENANT, stream_posts

from dengar.v1 import collector_pb2, collector_pb2_grpc
from dengar_collector.domain.webhook import sign
from dengar_common.bus import Subjects
from dengar_common.grpcutil import insecure_channel


def post(i: int, **kw: object) -> dict[str, object]:
    return {"platform": "x", "external_id": f"wh-{i}", "text": f"GoFood telat lagi #{i}",
            "created_at": "2026-11-30T10:00:00Z", **kw}


def push(source_id: str, secret: str, body: bytes, *, ts: int | None = None, signature: str | None = None,
         content_type: str = "application/json") -> collector_pb2.PushWebhookRequest:
    stamp = str(int(time.time()) if ts is None else ts)
    return collector_pb2.PushWebhookRequest(source_id=source_id, timestamp=stamp, body=body,
                                            signature=signature or sign(secret, stamp, body),
                                            content_type=content_type)


@pytest.fixture
async def hook(sources) -> collector_pb2.CreateSourceResponse:
    return await sources.CreateSource(collector_pb2.CreateSourceRequest(tenant_id=TENANT, name="crm",
                                                                        kind="webhook"))


async def rpc_error(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


async def test_a_signed_push_is_ingested_with_per_item_errors(sources, hook, nats_client, unique) -> None:
    src, secret = hook.source, hook.webhook_secret
    body = json.dumps({"posts": [post(1), post(2, engagement={"likes": -1}), post(3)]}).encode()
    resp = await sources.PushWebhook(push(src.id, secret, body))
    assert (resp.tenant_id, resp.accepted, resp.rejected) == (TENANT, 2, 1)
    assert [(e.index, e.field) for e in resp.errors] == [(1, "engagement.likes")]
    assert len(resp.post_ids) == 2
    posts = await stream_posts(nats_client, Subjects(unique))
    assert [(p.external_id, p.tenant_id, p.source_id) for p in posts] == [
        ("wh-1", TENANT, src.id), ("wh-3", TENANT, src.id)]
    after = await sources.GetSource(collector_pb2.GetSourceRequest(tenant_id=TENANT, id=src.id))
    assert (after.items_collected, after.last_run_items) == (2, 2)


async def test_one_post_and_ndjson_bodies(sources, hook) -> None:
    src, secret = hook.source, hook.webhook_secret
    one = await sources.PushWebhook(push(src.id, secret, json.dumps(post(1)).encode()))
    assert (one.accepted, one.rejected) == (1, 0)
    lines = f"{json.dumps(post(2))}\n{{broken\n{json.dumps(post(3))}\n".encode()
    nd = await sources.PushWebhook(push(src.id, secret, lines, content_type="application/x-ndjson"))
    assert (nd.accepted, nd.rejected) == (2, 1)
    assert [e.index for e in nd.errors] == [1] and "JSON" in nd.errors[0].message
    after = await sources.GetSource(collector_pb2.GetSourceRequest(tenant_id=TENANT, id=src.id))
    assert (after.items_collected, after.last_run_items, after.runs) == (3, 2, 2)


async def test_unauthentic_pushes_are_refused_alike(sources, hook, nats_client, unique) -> None:
    src, secret = hook.source, hook.webhook_secret
    body = json.dumps({"posts": [post(1)]}).encode()
    now = int(time.time())
    pull = await sources.CreateSource(collector_pb2.CreateSourceRequest(
        tenant_id=TENANT, name="hn", kind="hackernews", paused=True))
    attempts = {
        "bad signature": push(src.id, secret, body, signature="sha256=" + "0" * 64),
        "other secret": push(src.id, "whsec_guess", body),
        "body changed after signing": push(src.id, secret, body, signature=sign(secret, str(now), b"{}")),
        # A request captured 10 minutes ago and sent again, signature and all.
        "replayed old request": push(src.id, secret, body, ts=now - 600),
        "from the future": push(src.id, secret, body, ts=now + 600),
        "unknown source": push("src_0000000000000000", secret, body),
        "not a source id": push("../etc", secret, body),
        "a pull source": push(pull.source.id, secret, body),
    }
    messages = set()
    for name, request in attempts.items():
        err = await rpc_error(sources.PushWebhook(request))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED, name
        messages.add(err.details())
    assert len(messages) == 1
    assert await stream_posts(nats_client, Subjects(unique)) == []
    untouched = await sources.GetSource(collector_pb2.GetSourceRequest(tenant_id=TENANT, id=src.id))
    assert untouched.runs == 0


async def test_rotation_retires_the_old_secret_at_once(sources, hook) -> None:
    src, old = hook.source, hook.webhook_secret
    rotated = await sources.RotateWebhookSecret(collector_pb2.GetSourceRequest(tenant_id=TENANT, id=src.id))
    body = json.dumps(post(1)).encode()
    err = await rpc_error(sources.PushWebhook(push(src.id, old, body)))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    ok = await sources.PushWebhook(push(src.id, rotated.webhook_secret, body))
    assert ok.accepted == 1


async def test_paused_and_malformed_pushes(sources, hook) -> None:
    src, secret = hook.source, hook.webhook_secret
    for body in (b"[1, 2]", b"{not json", json.dumps({"posts": []}).encode(),
                 json.dumps({"posts": [post(i) for i in range(1001)]}).encode()):
        err = await rpc_error(sources.PushWebhook(push(src.id, secret, body)))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, body[:20]
    await sources.PauseSource(collector_pb2.GetSourceRequest(tenant_id=TENANT, id=src.id))
    err = await rpc_error(sources.PushWebhook(push(src.id, secret, json.dumps(post(1)).encode())))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    # Only an authentic request learns that the source is paused.
    err = await rpc_error(sources.PushWebhook(push(src.id, "whsec_guess", json.dumps(post(1)).encode())))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_the_body_size_limit(start_collector) -> None:
    app = await start_collector(sources__webhook_max_bytes=2048)
    async with insecure_channel(app.target) as ch:
        stub = collector_pb2_grpc.SourceServiceStub(ch)
        hook = await stub.CreateSource(collector_pb2.CreateSourceRequest(tenant_id=TENANT, name="crm",
                                                                         kind="webhook"))
        body = json.dumps({"posts": [post(i) for i in range(40)]}).encode()
        assert len(body) > 2048
        err = await rpc_error(stub.PushWebhook(push(hook.source.id, hook.webhook_secret, body)))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "larger" in (err.details() or "")
