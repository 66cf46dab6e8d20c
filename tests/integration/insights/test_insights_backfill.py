"""Backfills against the real bus and store: query changes re-tag stored mentions, the per-query
rollups stay equal to a from-scratch recount, through restarts, takeovers, re-runs and edits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from insights_helpers import Env, enriched, make_settings, running, wait_until

from dengar.v1 import common_pb2, events_pb2, insights_pb2, insights_pb2_grpc
from dengar_common import grpcutil
from dengar_common.bus import Subjects, publish
from dengar_insights.domain.mention import stored_contribution
from dengar_insights.service_layer.ingest import MentionIngestor

# Relative to the wall clock: the backfill window is the last N days before the change.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
BASE = NOW - timedelta(days=3)
OLD = NOW - timedelta(days=40)
Q = "q_acme0000000001"
_META = {"_id", "tenant_id", "interval", "bucket_start", "ops", "lanes"}

TEXTS = ["acme telat lagi", "acme cepat", "rival murah", "acme dan rival", "paket telat", "acme telat parah",
         "biasa saja", "rival telat", "ACME mantap", "promo acme"]


async def send_corpus(env: Env, tenant: str = "acme", n: int = len(TEXTS)) -> None:
    for i in range(n):
        text = TEXTS[i % len(TEXTS)]
        sentiment = common_pb2.SENTIMENT_NEGATIVE if "telat" in text else common_pb2.SENTIMENT_POSITIVE
        await env.send(enriched(tenant, f"p{i}", text=text, created_at=BASE + timedelta(hours=i),
                                sentiment=sentiment))


async def change(env: Env, version: int, expression: str = "acme", *, enabled: bool = True,
                 deleted: bool = False, tenant: str = "acme", query_id: str = Q, again: bool = False) -> None:
    event = events_pb2.QueryChanged(tenant_id=tenant, query_id=query_id, version=version,
                                    expression=expression, enabled=enabled, deleted=deleted)
    event.changed_at.FromDatetime(datetime.now(UTC))
    await publish(env.js, env.subjects.queries_changed(tenant), event.SerializeToString(),
                  # ``again``: a copy the bus does not drop (published after its duplicate window).
                  msg_id=f"{query_id}:{version}" + (":again" if again else ""))


async def backfill(stub: Any, tenant: str = "acme", query_id: str = Q) -> insights_pb2.Backfill | None:
    try:
        return await stub.GetBackfill(insights_pb2.GetBackfillRequest(tenant_id=tenant, kind="query",
                                                                      target_id=query_id))
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == grpc.StatusCode.NOT_FOUND
        return None


async def wait_done(stub: Any, version: int, tenant: str = "acme",
                    timeout: float = 30.0) -> insights_pb2.Backfill:
    seen: list[insights_pb2.Backfill | None] = [None]

    async def poll() -> bool:
        seen[0] = await backfill(stub, tenant)
        return seen[0] is not None and seen[0].target_version == version and seen[0].state == "done"

    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while not await poll():
        assert datetime.now(UTC) < deadline, f"backfill v{version} not done: {seen[0]}"
        await asyncio.sleep(0.05)
    assert seen[0] is not None
    return seen[0]


def _flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, int]:
    out: dict[str, int] = {}
    for k, v in doc.items():
        if not prefix and k in _META:
            continue
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        elif v:
            out[f"{prefix}{k}"] = v
    return out


async def assert_exact(db: Any, tenant: str = "acme") -> dict[str, dict[str, int]]:
    """Rollups (per-query counters included) equal the contributions recomputed from scratch from the
    stored mentions, and each mention's applied contribution is the one its fields give."""
    expected: dict[str, dict[str, int]] = {}
    async for doc in db["mentions"].find({"tenant_id": tenant}):
        assert "pending" not in doc, doc["_id"]
        mine = stored_contribution(doc)
        assert sorted(doc["contribution"]["counters"]) == list(mine.counters), doc["_id"]
        for bucket, counters in mine.expand().items():
            acc = expected.setdefault(bucket, {})
            for k, v in counters.items():
                acc[k] = acc.get(k, 0) + v
    actual = {}
    async for doc in db["rollups"].find({"tenant_id": tenant}):
        if flat := _flatten(doc):
            actual[doc["_id"]] = flat
    assert actual == expected
    return actual


async def tagged(db: Any, tenant: str = "acme", query_id: str = Q) -> set[str]:
    return {d["external_id"] async for d in db["mentions"].find({"tenant_id": tenant, "query_ids": query_id})}


def matching(predicate: Any, n: int = len(TEXTS)) -> set[str]:
    return {f"p{i}" for i in range(n) if predicate(TEXTS[i % len(TEXTS)].lower())}


@pytest.fixture
async def env(infra, unique: str, nats_client: Any) -> AsyncIterator[Env]:
    """The package's ``env`` with jobs starting at once (not after the default 2 s)."""
    async with running(make_settings(infra, unique, backfill={"start_delay_s": 0.0})) as app:
        channel = grpcutil.insecure_channel(f"127.0.0.1:{app.port}")
        try:
            yield Env(app, nats_client.jetstream(), Subjects(unique),
                      insights_pb2_grpc.InsightsServiceStub(channel))
        finally:
            await channel.close()


@pytest.fixture
def db(env: Env, mongo_client: Any) -> Any:
    return mongo_client[env.app.settings.insights.db]


async def test_a_query_created_after_an_import_tags_the_stored_mentions(env: Env, db: Any) -> None:
    await send_corpus(env)
    # Older than the window: stays untagged. Another tenant's post: never touched.
    await env.send(enriched("acme", "old", text="acme lama", created_at=OLD))
    await env.send(enriched("beta", "b1", text="acme juga", created_at=BASE))
    await env.settle()
    assert await tagged(db) == set()
    assert await backfill(env.stub) is None  # NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await env.stub.GetBackfill(insights_pb2.GetBackfillRequest(tenant_id="acme", kind="nope",
                                                                   target_id=Q))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    await change(env, 1, "acme")
    job = await wait_done(env.stub, 1)
    want = matching(lambda t: "acme" in t)
    assert await tagged(db) == want
    assert (job.scanned, job.total) == (len(TEXTS), len(TEXTS))
    assert (job.matched, job.changed) == (len(want), len(want))
    assert job.HasField("since") and job.HasField("started_at") and job.HasField("finished_at")
    assert job.since.ToDatetime(tzinfo=UTC) < BASE
    before = await assert_exact(db)
    assert await tagged(db, "beta") == set()
    assert await backfill(env.stub, "beta") is None
    listed = await env.stub.ListBackfills(insights_pb2.ListBackfillsRequest(
        tenant_id="acme", kind="query", target_ids=[Q, "q_unknown"]))
    assert [(b.target_id, b.state) for b in listed.backfills] == [(Q, "done")]

    # Share of voice reads the per-query rollups.
    sov = await env.stub.GetShareOfVoice(insights_pb2.GetShareOfVoiceRequest(
        tenant_id="acme", start_time=_ts(BASE - timedelta(days=1)), end_time=_ts(NOW + timedelta(days=1)),
        query_ids=[Q]))
    assert [(i.query_id, i.volume) for i in sov.items] == [(Q, len(want))]

    # The same version again (a redelivery) is stale; a re-run (a new version of the same
    # expression) scans everything and changes nothing.
    await change(env, 1, "acme", again=True)
    await wait_until(lambda: env.app.query_events.stale >= 1, what="the repeated event")
    await change(env, 2, "acme")
    rerun = await wait_done(env.stub, 2)
    assert (rerun.scanned, rerun.matched, rerun.changed) == (len(TEXTS), len(want), 0)
    assert await assert_exact(db) == before


async def test_an_edit_narrowing_the_query_removes_exactly_the_tags_it_no_longer_gives(env: Env, db: Any
                                                                                     ) -> None:
    await send_corpus(env)
    await env.settle()
    await change(env, 1, "acme OR rival")
    await wait_done(env.stub, 1)
    broad = matching(lambda t: "acme" in t or "rival" in t)
    assert await tagged(db) == broad
    await assert_exact(db)

    await change(env, 2, "acme AND telat")
    job = await wait_done(env.stub, 2)
    narrow = matching(lambda t: "acme" in t and "telat" in t)
    assert await tagged(db) == narrow and narrow < broad
    assert (job.matched, job.changed) == (len(narrow), len(broad - narrow))
    await assert_exact(db)

    # A late event of an older version changes nothing.
    await change(env, 1, "acme OR rival", again=True)
    await wait_until(lambda: env.app.query_events.stale >= 1, what="the late event")
    assert (await backfill(env.stub)).target_version == 2
    assert await tagged(db) == narrow


async def test_disabling_and_deleting_remove_the_tag_everywhere(env: Env, db: Any) -> None:
    await send_corpus(env)
    # Tagged by the collector at ingest, long ago: outside the window, but the tag goes too.
    await env.send(enriched("acme", "old", text="acme lama", created_at=OLD, query_ids=(Q, "q_other")))
    await env.settle()
    await change(env, 1, "acme")
    await wait_done(env.stub, 1)
    assert await tagged(db) == matching(lambda t: "acme" in t) | {"old"}

    await change(env, 2, "acme", enabled=False)
    job = await wait_done(env.stub, 2)
    assert await tagged(db) == set() and not job.HasField("since")
    assert await tagged(db, query_id="q_other") == {"old"}
    await assert_exact(db)

    await change(env, 3, "acme", enabled=True)
    await wait_done(env.stub, 3)
    assert await tagged(db) == matching(lambda t: "acme" in t)
    await change(env, 4, "acme", deleted=True)
    await wait_done(env.stub, 4)
    assert await tagged(db) == set()
    await assert_exact(db)


async def test_a_backfill_stopped_half_way_resumes_from_its_checkpoint(
        infra, unique: str, nats_client: Any, mongo_client: Any, monkeypatch) -> None:
    settings = make_settings(infra, unique, backfill={"batch_size": 3, "lease_s": 2.0, "poll_s": 0.1,
                                                      "concurrency": 1, "start_delay_s": 0.0})
    db = mongo_client[settings.insights.db]
    n = 30
    real_retag = MentionIngestor.retag

    async def slow_retag(self, *args, **kwargs):
        # Slow enough to stop the service between batches.
        await asyncio.sleep(0.02)
        return await real_retag(self, *args, **kwargs)

    monkeypatch.setattr(MentionIngestor, "retag", slow_retag)
    js = nats_client.jetstream()
    async with running(settings) as app:
        env = Env(app, js, Subjects(unique), None)
        await send_corpus(env, n=n)
        await env.settle()
        await change(env, 1, "acme OR telat")
        await wait_until(lambda: app.backfill_runner.batches >= 2, what="two batches")
    # Stopped: the batch in flight finished, its checkpoint was saved and the job let go.
    doc = await db["backfills"].find_one({"target_id": Q})
    assert doc["state"] == "running" and 0 < doc["scanned"] < n and doc["owner"] is None
    assert doc["scanned"] % 3 == 0
    halfway = doc["scanned"]
    await assert_exact(db)

    # A replica that died holding it: nobody takes it over until its lease expires.
    await db["backfills"].update_one({"_id": doc["_id"]}, {"$set": {
        "owner": "dead-replica", "lease_until": datetime.now(UTC) + timedelta(seconds=1.5)}})
    async with running(settings) as app:
        channel = grpcutil.insecure_channel(f"127.0.0.1:{app.port}")
        stub = insights_pb2_grpc.InsightsServiceStub(channel)
        try:
            await asyncio.sleep(0.8)
            assert (await backfill(stub)).scanned == halfway
            job = await wait_done(stub, 1)
        finally:
            await channel.close()
    want = matching(lambda t: "acme" in t or "telat" in t, n)
    assert await tagged(db) == want
    # Each mention scanned once in all, each tag changed once.
    assert (job.scanned, job.matched, job.changed) == (n, len(want), len(want))
    await assert_exact(db)


async def test_a_newer_version_during_a_run_restarts_the_job(infra, unique: str, nats_client: Any,
                                                            mongo_client: Any, monkeypatch) -> None:
    settings = make_settings(infra, unique, backfill={"batch_size": 3, "poll_s": 0.1, "concurrency": 1,
                                                      "start_delay_s": 0.0})
    db = mongo_client[settings.insights.db]
    n = 24
    real_retag = MentionIngestor.retag

    async def slow_retag(self, *args, **kwargs):
        await asyncio.sleep(0.02)
        return await real_retag(self, *args, **kwargs)

    monkeypatch.setattr(MentionIngestor, "retag", slow_retag)
    async with running(settings) as app:
        channel = grpcutil.insecure_channel(f"127.0.0.1:{app.port}")
        stub = insights_pb2_grpc.InsightsServiceStub(channel)
        try:
            env = Env(app, nats_client.jetstream(), Subjects(unique), stub)
            await send_corpus(env, n=n)
            await env.settle()
            await change(env, 1, "acme OR rival")
            await wait_until(lambda: app.backfill_runner.batches >= 2, what="two batches of v1")
            await change(env, 2, "telat")
            job = await wait_done(stub, 2)
        finally:
            await channel.close()
    want = matching(lambda t: "telat" in t, n)
    assert await tagged(db) == want
    # v2 started over: it scanned everything, and the tags are all its own.
    assert (job.scanned, job.matched) == (n, len(want))
    await assert_exact(db)


async def test_posts_tagged_before_the_change_that_arrive_after_its_backfill_are_fixed(env: Env, db: Any
                                                                                      ) -> None:
    await send_corpus(env, n=4)
    await env.settle()
    collected_before = datetime.now(UTC) - timedelta(minutes=5)
    await change(env, 1, "acme")
    await wait_done(env.stub, 1)
    # Collected (and tagged by the collector) before the change, stored only now: one the query
    # matches and one tagged by the older version that it no longer matches.
    before = {"created_at": BASE, "collected_at": collected_before}
    await env.send(enriched("acme", "late1", text="acme telat", **before))
    await env.send(enriched("acme", "late2", text="rival saja", query_ids=(Q,), **before))
    # Collected well after the change: the collector's tags are the current version's, kept as sent.
    after = datetime.now(UTC) + timedelta(minutes=5)
    await env.send(enriched("acme", "new1", text="acme baru", created_at=BASE, collected_at=after))
    await env.settle()
    assert await tagged(db) == matching(lambda t: "acme" in t, 4) | {"late1"}
    await assert_exact(db)


def _ts(dt: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(dt)
    return t
