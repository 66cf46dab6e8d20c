"""The collector in-process (port 0) against a real nats-server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from collector_harness import RunningCollector, collector_settings
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from dengar.v1 import collector_pb2, collector_pb2_grpc, common_pb2
from dengar_common.bus import Subjects
from dengar_common.grpcutil import insecure_channel
from dengar_common.ids import mention_id
from dengar_common.localinfra import LocalInfra
from dengar_common.secrets import generate_key

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


def post(external_id: str, text: str = "Kirimin telat 2 jam, pesanan gak nyampe 😤", **kw: object
         ) -> common_pb2.Post:
    p = common_pb2.Post(platform=kw.pop("platform", common_pb2.PLATFORM_X),  # type: ignore[arg-type]  # loose kwargs
                        external_id=external_id, text=text, **kw)  # type: ignore[arg-type]  # loose kwargs
    p.created_at.FromDatetime(datetime.now(UTC) - timedelta(minutes=5))
    return p


@pytest.fixture
async def collector(infra: LocalInfra, unique: str) -> AsyncIterator[RunningCollector]:
    settings = collector_settings(dict(nats_url=infra.nats_url, mongo_uri=infra.mongo_uri,
                                       subject_root=unique, shutdown_grace_s=2.0), grpc_port=0)
    app = RunningCollector(settings)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
async def channel(collector: RunningCollector) -> AsyncIterator[grpc.aio.Channel]:
    ch = insecure_channel(collector.target)
    try:
        yield ch
    finally:
        await ch.close()


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> collector_pb2_grpc.CollectorServiceStub:
    return collector_pb2_grpc.CollectorServiceStub(channel)


async def stored(nats_client, subjects: Subjects) -> list:
    js = nats_client.jetstream()
    stream = subjects.stream("collected")
    info = await js.stream_info(stream)
    return [await js.get_msg(stream, seq)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)] if info.state.messages else []


async def test_valid_posts_are_published_with_ids_and_trace_context(stub, nats_client, unique) -> None:
    req = collector_pb2.IngestPostsRequest(tenant_id="acme", posts=[
        post("1", lang_hint="id"), post("2", text="", title="GoCepat naikkan tarif",
                                        platform=common_pb2.PLATFORM_NEWS, source_id="rss:kabar"),
    ])
    resp = await stub.IngestPosts(req, metadata=[("traceparent", TRACEPARENT)], timeout=10)
    ids = [mention_id("acme", "x", "1"), mention_id("acme", "news", "2")]
    assert (resp.accepted, resp.rejected, list(resp.post_ids)) == (2, 0, ids)

    msgs = await stored(nats_client, Subjects(unique))
    assert [m.subject for m in msgs] == [Subjects(unique).collected("acme")] * 2
    assert [m.headers["Nats-Msg-Id"] for m in msgs] == ["acme:x:1", "acme:news:2"]
    assert all(TRACE_ID in m.headers["traceparent"] for m in msgs)
    first, second = (common_pb2.Post.FromString(m.data) for m in msgs)
    assert (first.id, first.tenant_id, first.source_id, first.lang_hint) == (ids[0], "acme", "api", "id")
    assert abs(first.collected_at.ToDatetime(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=1)
    assert (second.title, second.source_id) == ("GoCepat naikkan tarif", "rss:kabar")


async def test_duplicates_are_stored_once_within_and_across_requests(stub, nats_client, unique) -> None:
    a, b = post("dup-1"), post("dup-2", text="AntarYuk mahal bgt sekarang")
    first = await stub.IngestPosts(collector_pb2.IngestPostsRequest(tenant_id="acme", posts=[a, b, a]))
    assert first.accepted == 3
    assert first.post_ids[0] == first.post_ids[2] != first.post_ids[1]
    # A retried batch (say, after a timeout) is accepted again but stores nothing new.
    again = await stub.IngestPosts(collector_pb2.IngestPostsRequest(tenant_id="acme", posts=[b, a]))
    assert list(again.post_ids) == [first.post_ids[1], first.post_ids[0]]
    # The same external id in another tenant is another post.
    other = await stub.IngestPosts(collector_pb2.IngestPostsRequest(tenant_id="globex", posts=[a]))
    assert other.post_ids[0] != first.post_ids[0]
    msgs = await stored(nats_client, Subjects(unique))
    assert [m.headers["Nats-Msg-Id"] for m in msgs] == ["acme:x:dup-1", "acme:x:dup-2", "globex:x:dup-1"]


async def test_invalid_items_are_reported_by_index_and_not_published(stub, nats_client, unique) -> None:
    bad_engagement = post("e1")
    bad_engagement.engagement.likes = -3
    posts = [post("ok-1"), post("", text="no id"), post("t1", text="   "), bad_engagement,
             post("p1", platform=common_pb2.PLATFORM_UNSPECIFIED), post("ok-2")]
    resp = await stub.IngestPosts(collector_pb2.IngestPostsRequest(tenant_id="acme", posts=posts))
    assert (resp.accepted, resp.rejected) == (2, 4)
    assert [(e.index, e.field) for e in resp.errors] == [
        (1, "external_id"), (2, "text"), (3, "engagement.likes"), (4, "platform")]
    assert all(e.message for e in resp.errors)
    msgs = await stored(nats_client, Subjects(unique))
    assert [m.headers["Nats-Msg-Id"] for m in msgs] == ["acme:x:ok-1", "acme:x:ok-2"]


@pytest.mark.parametrize("tenant,count", [("", 1), ("Acme Corp", 1), ("a.b", 1), ("acme", 1001)])
async def test_malformed_requests_are_invalid_argument(stub, tenant: str, count: int) -> None:
    req = collector_pb2.IngestPostsRequest(tenant_id=tenant, posts=[post(str(i)) for i in range(count)])
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.IngestPosts(req, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_publish_failure_is_unavailable(stub, nats_client, unique) -> None:
    # Without the stream nobody acks the publish: the bus is effectively down for this subject.
    await nats_client.jetstream().delete_stream(Subjects(unique).stream("collected"))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.IngestPosts(collector_pb2.IngestPostsRequest(tenant_id="acme", posts=[post("1")]),
                               timeout=20)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_health_is_serving_and_reflection_lists_the_service(channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "dengar.v1.CollectorService"):
        resp = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING

    refl = reflection_pb2_grpc.ServerReflectionStub(channel)
    call = refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = [s.name async for r in call for s in r.list_services_response.service]
    assert "dengar.v1.CollectorService" in names
    assert "grpc.health.v1.Health" in names


async def test_stop_lets_in_flight_calls_finish(infra, unique) -> None:
    # One publish at a time makes a 1,000-post batch take long enough to be caught mid-flight.
    settings = collector_settings(dict(nats_url=infra.nats_url, mongo_uri=infra.mongo_uri,
                                       subject_root=unique, shutdown_grace_s=10.0),
                                  grpc_port=0, publish__concurrency=1)
    app = RunningCollector(settings)
    await app.start()
    async with insecure_channel(app.target) as ch:
        stub = collector_pb2_grpc.CollectorServiceStub(ch)
        batch = collector_pb2.IngestPostsRequest(tenant_id="acme", posts=[post(str(i)) for i in range(1000)])
        call = asyncio.ensure_future(stub.IngestPosts(batch, timeout=30))
        await asyncio.sleep(0.1)
        assert not call.done()
        await app.stop()
        resp = await call
        assert resp.accepted == 1000


async def test_sigterm_stops_the_process_cleanly(infra, unique, tmp_path: Path) -> None:
    port_file = tmp_path / "collector.port"
    env = {**os.environ, "DENGAR_NATS_URL": infra.nats_url, "DENGAR_MONGO_URI": infra.mongo_uri,
           "DENGAR_SUBJECT_ROOT": unique,
           "DENGAR_COLLECTOR__GRPC_PORT": "0", "DENGAR_COLLECTOR__PORT_FILE": str(port_file),
           "DENGAR_COLLECTOR__SECRETS_KEYS": generate_key()}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dengar_collector", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        for _ in range(300):
            if port_file.exists() or proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        assert port_file.exists(), "collector did not write its port file"
        async with insecure_channel(f"127.0.0.1:{port_file.read_text()}") as ch:
            resp = await collector_pb2_grpc.CollectorServiceStub(ch).IngestPosts(
                collector_pb2.IngestPostsRequest(tenant_id="acme", posts=[post("sig-1")]), timeout=10)
            assert resp.accepted == 1
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=20)
        assert proc.returncode == 0, out.decode()
        assert b"collector stopped" in out
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_health_reports_every_collector_service(collector: RunningCollector) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from dengar.v1 import collector_pb2

    async with grpc.aio.insecure_channel(collector.target) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        for name in collector_pb2.DESCRIPTOR.services_by_name:
            resp = await stub.Check(health_pb2.HealthCheckRequest(service=f"dengar.v1.{name}"))
            assert resp.status == health_pb2.HealthCheckResponse.SERVING, name
