"""The scheduler running Mastodon sources against the local fixture server, with real NATS and
SecantusDB: posts arrive with their source id, cursors are stored only after publishing, a restart
resumes without re-fetching, replicas never run one source at once, pause stops runs, and errors are
recorded without leaking credentials."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from connector_server import Reply, Seen
from google.protobuf import struct_pb2
from source_helpers import OTHER, TENANT, mastodon_config, stream_posts, wait_for

from dengar.v1 import collector_pb2, collector_pb2_grpc
from dengar_common.bus import Subjects
from dengar_common.grpcutil import insecure_channel


def struct(data: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(data)
    return s


async def create(stub, harness, tenant: str = TENANT, **config: object) -> collector_pb2.Source:
    resp = await stub.CreateSource(collector_pb2.CreateSourceRequest(
        tenant_id=tenant, name="gojek", kind="mastodon", config=struct(mastodon_config(harness, **config)),
        credentials={"access_token": harness.secret}))
    return resp.source


def get(tenant: str, source_id: str) -> collector_pb2.GetSourceRequest:
    return collector_pb2.GetSourceRequest(tenant_id=tenant, id=source_id)


class Concurrency:
    """Wraps a fixture-server handler: slow replies, and the most requests in flight per path and in all."""

    def __init__(self, handler, delay_s: float) -> None:
        self._handler = handler
        self._delay = delay_s
        self._lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.total_now = 0
        self.total_peak = 0
        # Set once a request is being served (the server runs in a thread).
        self.started = threading.Event()

    def __call__(self, req: Seen) -> Reply:
        with self._lock:
            self.now[req.path] = self.now.get(req.path, 0) + 1
            self.peak[req.path] = max(self.peak.get(req.path, 0), self.now[req.path])
            self.total_now += 1
            self.total_peak = max(self.total_peak, self.total_now)
        self.started.set()
        try:
            time.sleep(self._delay)
            return self._handler(req)
        finally:
            with self._lock:
                self.now[req.path] -= 1
                self.total_now -= 1


async def test_a_source_runs_publishes_and_stores_its_cursor(sources, mastodon, server, nats_client,
                                                             mongo_client, unique) -> None:
    src = await create(sources, mastodon)
    done = await wait_for(sources, TENANT, src.id, lambda s: s.runs >= 1)
    assert (done.runs, done.last_run_items, done.items_collected) == (1, 5, 5)
    assert done.status == collector_pb2.SOURCE_STATUS_ACTIVE and not done.last_error
    assert done.HasField("last_success_at")
    # Not run again before its interval (an hour by default in these tests).
    assert done.next_run_at.ToDatetime(tzinfo=UTC) > datetime.now(UTC) + timedelta(minutes=50)

    posts = await stream_posts(nats_client, Subjects(unique))
    assert sorted(p.external_id for p in posts) == sorted(mastodon.initial_ids())
    assert {(p.tenant_id, p.source_id) for p in posts} == {(TENANT, src.id)}
    # The token went to the platform, as a bearer token.
    assert server.seen(mastodon.main_path)[0].headers["authorization"] == f"Bearer {mastodon.secret}"

    doc = await mongo_client[f"col_{unique}"]["sources"].find_one({"_id": src.id})
    assert doc["cursor"] and doc["lease_owner"] is None


async def test_a_restarted_collector_resumes_from_the_cursor(start_collector, mastodon, server,
                                                             nats_client, unique) -> None:
    first = await start_collector()
    async with insecure_channel(first.target) as ch:
        stub = collector_pb2_grpc.SourceServiceStub(ch)
        src = await create(stub, mastodon)
        await wait_for(stub, TENANT, src.id, lambda s: s.runs >= 1)
    await first.stop()

    new_ids = mastodon.publish(2)
    second = await start_collector()
    async with insecure_channel(second.target) as ch:
        stub = collector_pb2_grpc.SourceServiceStub(ch)
        await stub.RunSourceNow(get(TENANT, src.id))
        done = await wait_for(stub, TENANT, src.id, lambda s: s.runs >= 2)
    # Only what is new was fetched: the second request was bounded by the stored cursor.
    assert (done.last_run_items, done.items_collected) == (2, 7)
    requests = server.seen(mastodon.main_path)
    assert len(requests) == 2 and "since_id" in requests[1].query and "since_id" not in requests[0].query
    posts = await stream_posts(nats_client, Subjects(unique))
    assert sorted(p.external_id for p in posts) == sorted(mastodon.initial_ids())
    assert set(new_ids) <= {p.external_id for p in posts}


async def test_two_collectors_never_run_one_source_at_once(start_collector, mastodon, server) -> None:
    tags = ["gojek", "grab", "shopee", "tokopedia"]
    slow = Concurrency(mastodon.timeline, delay_s=0.2)
    for tag in tags:
        server.route("GET", f"/api/v1/timelines/tag/{tag}", slow)
    apps = [await start_collector(scheduler__max_per_tenant=4) for _ in range(2)]
    async with insecure_channel(apps[0].target) as ch0, insecure_channel(apps[1].target) as ch1:
        stubs = [collector_pb2_grpc.SourceServiceStub(ch0), collector_pb2_grpc.SourceServiceStub(ch1)]
        created = [await create(stubs[i % 2], mastodon, TENANT if i < 2 else OTHER, hashtag=tag)
                   for i, tag in enumerate(tags)]
        for src in created:
            await wait_for(stubs[0], src.tenant_id, src.id, lambda s: s.runs >= 1)
        # Both replicas are told to run every source again.
        for src in created:
            for stub in stubs:
                await stub.RunSourceNow(get(src.tenant_id, src.id))
        finished = [await wait_for(stubs[1], s.tenant_id, s.id, lambda s: s.runs >= 2) for s in created]
    assert all(s.runs == 2 for s in finished)
    for tag in tags:
        path = f"/api/v1/timelines/tag/{tag}"
        # One fetch per run, never two at once, although two schedulers saw every source due.
        assert len(server.seen(path)) == 2, tag
        assert slow.peak[path] == 1, tag


async def test_runs_are_limited_per_tenant(start_collector, mastodon, server) -> None:
    tags = ["gojek", "grab", "shopee"]
    slow = Concurrency(mastodon.timeline, delay_s=0.15)
    for tag in tags:
        server.route("GET", f"/api/v1/timelines/tag/{tag}", slow)
    app = await start_collector(scheduler__max_per_tenant=1)
    async with insecure_channel(app.target) as ch:
        stub = collector_pb2_grpc.SourceServiceStub(ch)
        created = [await create(stub, mastodon, hashtag=tag) for tag in tags]
        for src in created:
            await wait_for(stub, TENANT, src.id, lambda s: s.runs >= 1)
    assert slow.total_peak == 1


async def test_pause_stops_runs(start_collector, mastodon, server, mongo_client, unique) -> None:
    server.route("GET", "/api/v1/timelines/tag/grab", mastodon.timeline)
    app = await start_collector(scheduler__max_per_tenant=1)
    async with insecure_channel(app.target) as ch:
        stub = collector_pb2_grpc.SourceServiceStub(ch)
        paused = await create(stub, mastodon)
        await wait_for(stub, TENANT, paused.id, lambda s: s.runs >= 1)
        assert (await stub.PauseSource(get(TENANT, paused.id))).status == collector_pb2.SOURCE_STATUS_PAUSED
        # Long overdue: only being paused keeps it from running first (the most overdue source of a
        # tenant is claimed first, one at a time).
        await mongo_client[f"col_{unique}"]["sources"].update_one(
            {"_id": paused.id}, {"$set": {"next_run_at": datetime.now(UTC) - timedelta(days=1)}})
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.RunSourceNow(get(TENANT, paused.id))
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        witness = await create(stub, mastodon, hashtag="grab")
        await wait_for(stub, TENANT, witness.id, lambda s: s.runs >= 1)
        assert (await stub.GetSource(get(TENANT, paused.id))).runs == 1
        assert len(server.seen(mastodon.main_path)) == 1

        resumed = await stub.ResumeSource(get(TENANT, paused.id))
        assert resumed.status == collector_pb2.SOURCE_STATUS_ACTIVE
        await wait_for(stub, TENANT, paused.id, lambda s: s.runs >= 2)


async def test_auth_errors_are_recorded_without_the_token(sources, mastodon, server, caplog) -> None:
    # Everything this service and its HTTP stack log. (pymongo's own DEBUG command log prints stored
    # documents, credentials included: it must stay off in production, as it is by default.)
    for name in ("dengar_collector", "dengar_common", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    # A platform that echoes the token it refuses: it must not reach the source's error or the log.
    server.route("GET", mastodon.main_path, lambda req: Reply.json(
        {"error": f"The access token {req.headers.get('authorization', '')} was revoked"}, 401))
    src = await create(sources, mastodon)
    failed = await wait_for(sources, TENANT, src.id, lambda s: s.runs >= 1)
    assert failed.status == collector_pb2.SOURCE_STATUS_ERROR
    assert failed.consecutive_failures == 1 and failed.HasField("last_error_at")
    assert "401" in failed.last_error and "revoked" in failed.last_error
    assert mastodon.secret not in failed.last_error
    # The warning follows the stored outcome, so it may land a moment after the run is visible.
    for _ in range(200):
        if "needs attention" in caplog.text:
            break
        await asyncio.sleep(0.05)
    assert "needs attention" in caplog.text and mastodon.secret not in caplog.text
    # Bad credentials need a person: no retry within the hour.
    assert failed.next_run_at.ToDatetime(tzinfo=UTC) > datetime.now(UTC) + timedelta(hours=5)
    # Fixing the credentials retries at once and clears the error state.
    server.route("GET", mastodon.main_path, mastodon.timeline)
    await sources.UpdateSource(collector_pb2.UpdateSourceRequest(
        tenant_id=TENANT, id=src.id, credentials={"access_token": mastodon.secret}))
    fixed = await wait_for(sources, TENANT, src.id, lambda s: s.runs >= 2)
    assert fixed.status == collector_pb2.SOURCE_STATUS_ACTIVE and fixed.consecutive_failures == 0


async def test_rate_limits_back_off_as_the_platform_asks(sources, mastodon, server) -> None:
    server.queue("GET", mastodon.main_path, Reply.json({"error": "Too many requests"}, 429,
                                                       headers={"Retry-After": "7200"}))
    src = await create(sources, mastodon)
    failed = await wait_for(sources, TENANT, src.id, lambda s: s.runs >= 1)
    assert failed.status == collector_pb2.SOURCE_STATUS_ERROR and "429" in failed.last_error
    wait = failed.next_run_at.ToDatetime(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(hours=1, minutes=55) < wait <= timedelta(hours=2)


async def test_a_publish_failure_leaves_the_cursor(start_collector, mastodon, nats_client, mongo_client,
                                                   unique) -> None:
    app = await start_collector(publish__timeout_s=0.3)
    # Without the stream nobody acknowledges a publish: the bus is down for these posts.
    await nats_client.jetstream().delete_stream(Subjects(unique).stream("collected"))
    async with insecure_channel(app.target) as ch:
        stub = collector_pb2_grpc.SourceServiceStub(ch)
        src = await create(stub, mastodon)
        failed = await wait_for(stub, TENANT, src.id, lambda s: s.runs >= 1)
    assert failed.status == collector_pb2.SOURCE_STATUS_ERROR and "publish" in failed.last_error
    assert failed.items_collected == 0
    doc = await mongo_client[f"col_{unique}"]["sources"].find_one({"_id": src.id})
    assert doc["cursor"] is None
    # Retryable: soon, not in hours.
    assert failed.next_run_at.ToDatetime(tzinfo=UTC) < datetime.now(UTC) + timedelta(minutes=2)


async def test_stop_lets_a_run_in_flight_finish(start_collector, mastodon, server, mongo_client,
                                                unique) -> None:
    slow = Concurrency(mastodon.timeline, delay_s=0.5)
    server.route("GET", mastodon.main_path, slow)
    app = await start_collector(shutdown_grace_s=10.0)
    async with insecure_channel(app.target) as ch:
        src = await create(collector_pb2_grpc.SourceServiceStub(ch), mastodon)
    assert await asyncio.to_thread(slow.started.wait, 10)
    await app.stop()
    doc = await mongo_client[f"col_{unique}"]["sources"].find_one({"_id": src.id})
    assert (doc["runs"], doc["items_collected"]) == (1, 5)
    assert doc["cursor"] and doc["lease_owner"] is None


async def test_stop_after_the_grace_period_releases_the_lease(start_collector, mastodon, server, mongo_client,
                                                              unique) -> None:
    slow = Concurrency(mastodon.timeline, delay_s=3.0)
    server.route("GET", mastodon.main_path, slow)
    app = await start_collector(shutdown_grace_s=0.2)
    async with insecure_channel(app.target) as ch:
        src = await create(collector_pb2_grpc.SourceServiceStub(ch), mastodon)
    assert await asyncio.to_thread(slow.started.wait, 10)
    await app.stop()
    doc = await mongo_client[f"col_{unique}"]["sources"].find_one({"_id": src.id})
    # Nothing was published, so nothing moved; another replica may take the source at once.
    assert (doc["runs"], doc["cursor"], doc["lease_owner"], doc["lease_until"]) == (0, None, None, None)
