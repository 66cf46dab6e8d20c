"""The outbox of listening-query changes: every version published once on JetStream, even when the
publish fails after the store write (real SecantusDB and nats-server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import nats.errors
import pytest
from collector_harness import RunningCollector
from test_query_service import BRAND, settings_for

from dengar.v1 import collector_pb2, collector_pb2_grpc, events_pb2
from dengar_collector.adapters.query_events import JetStreamQueryChangePublisher
from dengar_collector.adapters.query_store import MongoQueryStore
from dengar_collector.domain.listening_query import QueryChanges
from dengar_collector.service_layer.query_outbox import OutboxConfig, OutboxRelay, QueryChange
from dengar_collector.service_layer.query_service import QueryManager
from dengar_common.bus import Subjects, ensure_streams
from dengar_common.grpcutil import insecure_channel
from dengar_common.localinfra import LocalInfra


async def read_changes(js: Any, subjects: Subjects, durable: str,
                       expected: int) -> list[events_pb2.QueryChanged]:
    sub = await js.pull_subscribe(subjects.queries_changed_all, durable=durable,
                                  stream=subjects.stream("queries"))
    out: list[events_pb2.QueryChanged] = []
    # The outbox relay publishes in the background: on a loaded machine a change may take longer
    # than one fetch's wait, so only a minute without the expected count fails.
    deadline = time.monotonic() + 60
    while len(out) < expected:
        try:
            msgs = await sub.fetch(expected - len(out), timeout=5)
        except nats.errors.TimeoutError:
            assert time.monotonic() < deadline, f"{len(out)} of {expected} changes published"
            continue
        for msg in msgs:
            out.append(events_pb2.QueryChanged.FromString(msg.data))
            await msg.ack()
    await sub.unsubscribe()
    return out


@pytest.fixture
async def collector(infra: LocalInfra, unique: str) -> AsyncIterator[tuple[RunningCollector, Any]]:
    app = RunningCollector(settings_for(infra, unique))
    await app.start()
    channel = insecure_channel(app.target)
    try:
        yield app, collector_pb2_grpc.QueryServiceStub(channel)
    finally:
        await channel.close()
        await app.stop()


async def test_every_change_of_what_a_query_matches_is_published_once(collector, nats_client, unique,
                                                                      mongo_client) -> None:
    app, stub = collector
    q = await stub.CreateQuery(collector_pb2.CreateQueryRequest(
        tenant_id="acme", name="Acme", role=BRAND, expression="acme"))
    assert q.version == 1
    renamed = await stub.UpdateQuery(collector_pb2.UpdateQueryRequest(
        tenant_id="acme", id=q.id, name="Acme Co"))
    assert renamed.version == 1  # a name changes no tag
    edited = await stub.UpdateQuery(collector_pb2.UpdateQueryRequest(
        tenant_id="acme", id=q.id, expression="acme OR @acme"))
    off = await stub.UpdateQuery(collector_pb2.UpdateQueryRequest(tenant_id="acme", id=q.id, enabled=False))
    assert (edited.version, off.version) == (2, 3)
    await stub.DeleteQuery(collector_pb2.DeleteQueryRequest(tenant_id="acme", id=q.id))
    # The name is free at once, while the deletion may still be on its way.
    again = await stub.CreateQuery(collector_pb2.CreateQueryRequest(
        tenant_id="acme", name="Acme Co", role=BRAND, expression="acme"))

    changes = await read_changes(nats_client.jetstream(), Subjects(unique), "t1", 5)
    got = sorted((c.query_id, c.version, c.expression, c.enabled, c.deleted) for c in changes)
    assert got == sorted([(q.id, 1, "acme", True, False), (q.id, 2, "acme OR @acme", True, False),
                          (q.id, 3, "acme OR @acme", False, False), (q.id, 4, "acme OR @acme", False, True),
                          (again.id, 1, "acme", True, False)])
    assert {c.tenant_id for c in changes} == {"acme"}
    # Each version says when it was stored: the edit's own time, the deletion's too.
    stamps = {(c.query_id, c.version): c.changed_at.ToDatetime(tzinfo=UTC) for c in changes}
    assert stamps[(q.id, 2)] == edited.updated_at.ToDatetime(tzinfo=UTC)
    assert stamps[(q.id, 4)] >= stamps[(q.id, 3)] == off.updated_at.ToDatetime(tzinfo=UTC)
    # Published: marks cleared, the tombstone gone (the relay clears a mark after its publish, so
    # the last one may still be on its way when the reader has every event).
    col = mongo_client[app.settings.collector.db]["queries"]
    for _ in range(100):
        if await col.count_documents({"outbox": True}) == 0:
            break
        await asyncio.sleep(0.05)
    assert await col.count_documents({"outbox": True}) == 0
    assert [d["_id"] async for d in col.find({})] == [again.id]
    listed = await stub.ListQueries(collector_pb2.ListQueriesRequest(tenant_id="acme"))
    assert [x.id for x in listed.queries] == [again.id]


class FlakyPublisher:
    """Fails its first ``failures`` publishes, like a bus that went away after the store write."""

    def __init__(self, inner: JetStreamQueryChangePublisher, failures: int) -> None:
        self.inner, self.failures = inner, failures

    async def publish(self, change: QueryChange) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("bus away")
        await self.inner.publish(change)


async def test_a_failed_publish_is_retried_and_a_repeated_one_is_dropped(infra, nats_client, mongo_client,
                                                                         unique) -> None:
    subjects = Subjects(unique)
    js = nats_client.jetstream()
    await ensure_streams(js, subjects)
    store = MongoQueryStore(mongo_client[f"col_{unique}"], max_per_tenant=10)
    await store.ensure_indexes()
    flaky = FlakyPublisher(JetStreamQueryChangePublisher(js, subjects), failures=1)
    relay = OutboxRelay(store, flaky, OutboxConfig(sweep_s=60))
    # No relay listening: the write is stored, its event is not published yet.
    manager = QueryManager(store)
    q = await manager.create("acme", name="Acme", role="brand", expression="acme")
    await manager.update("acme", q.id, QueryChanges(expression="acme OR rival"))
    with pytest.raises(ConnectionError):
        await relay.relay("acme")
    assert [c.version for c in await store.unpublished("acme", 10)] == [2]
    # The next pass (here the sweep over every tenant) publishes the current version.
    assert await relay.relay(None) == 1
    assert await store.unpublished(None, 10) == []
    # A crash after the publish, before the mark was cleared: published again, dropped by the bus.
    await mongo_client[f"col_{unique}"]["queries"].update_one({"_id": q.id}, {"$set": {"outbox": True}})
    assert await relay.relay("acme") == 1
    changes = await read_changes(js, subjects, "t2", 1)
    assert [(c.version, c.expression) for c in changes] == [(2, "acme OR rival")]
    info = await js.stream_info(subjects.stream("queries"))
    assert info.state.messages == 1
