"""Two replicas on one durable consumer, with every post published several times: exact counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from insights_helpers import T0, Env, enriched, make_settings, running, ts

from dengar.v1 import common_pb2, insights_pb2, insights_pb2_grpc
from dengar_common import grpcutil
from dengar_common.bus import Subjects, ensure_streams
from dengar_common.mongo import make_client
from dengar_insights.adapters.mentions import MentionRepository

NEG, POS = common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_POSITIVE


async def test_two_replicas_count_each_post_once(infra, unique, nats_client, monkeypatch) -> None:
    lost = {"insert": 0, "cas": 0}
    real_insert, real_cas = MentionRepository.insert_many_new, MentionRepository.compare_and_set

    async def counting_insert(self, *args):
        oks = await real_insert(self, *args)
        lost["insert"] += oks.count(False)
        return oks

    async def counting_cas(self, *args):
        ok = await real_cas(self, *args)
        lost["cas"] += not ok
        return ok

    # Only observes: shows that the replicas really raced on the same posts.
    monkeypatch.setattr(MentionRepository, "insert_many_new", counting_insert)
    monkeypatch.setattr(MentionRepository, "compare_and_set", counting_cas)

    js, subjects = nats_client.jetstream(), Subjects(unique)
    await ensure_streams(js, subjects)
    n = 60
    posts = [enriched("acme", f"r{i}", sentiment=NEG if i % 2 else POS,
                      created_at=T0 + timedelta(minutes=i), aspects=(("delivery", NEG),))
             for i in range(n)]
    flipped = [enriched("acme", f"r{i}", sentiment=POS, aspects=(("delivery", POS),),
                        created_at=T0 + timedelta(minutes=i),
                        collected_at=T0 + timedelta(minutes=i, seconds=30))
               for i in range(1, n, 2)[:10]]
    flipped_ids = {p.post.id for p in flipped}
    # The stream is filled before the replicas start, so both pull full batches at once. Copies of
    # a post are adjacent and batches hold two messages: the copies land in both replicas together.
    publisher = Env(None, js, subjects, None)  # type: ignore[arg-type]  # bad on purpose
    for p in posts:
        for c in range(3):
            await publisher.send(p, msg_id=f"{p.post.id}:{c}")
        if p.post.id in flipped_ids:
            await publisher.send(next(f for f in flipped if f.post.id == p.post.id),
                                 msg_id=f"{p.post.id}:flip")

    settings = make_settings(infra, unique, batch_size=2)
    async with running(settings) as a, running(settings) as b:
        channel = grpcutil.insecure_channel(f"127.0.0.1:{a.port}")
        try:
            env = Env(a, js, subjects, insights_pb2_grpc.InsightsServiceStub(channel))
            env.sent = publisher.sent
            await env.settle(apps=[a, b], timeout=90)
            assert a.processed > 0 and b.processed > 0, (a.processed, b.processed)
            assert a.processed + b.processed == 3 * n + len(flipped)
            assert a.results["inserted"] + b.results["inserted"] == n

            day = datetime(2026, 11, 22, tzinfo=UTC)
            s = await env.stub.GetSummary(insights_pb2.GetSummaryRequest(
                tenant_id="acme", start_time=ts(day), end_time=ts(day + timedelta(days=1))))
            negatives = n // 2 - len(flipped)
            assert (s.volume, s.negative, s.positive) == (n, negatives, n - negatives)
            # Every original says "delivery" is negative; the re-enrichments turn it positive.
            assert [(x.name, x.negative, x.positive) for x in s.aspects] == [
                ("delivery", n - len(flipped), len(flipped))]
            series = await env.stub.GetTimeSeries(insights_pb2.GetTimeSeriesRequest(
                tenant_id="acme", metric=insights_pb2.METRIC_SENTIMENT,
                interval=insights_pb2.INTERVAL_HOUR, start_time=ts(day),
                end_time=ts(day + timedelta(days=1))))
            assert series.total == n
            assert sum(p.negative for p in series.points) == negatives
        finally:
            await channel.close()

    client = make_client(infra.mongo_uri, app_name="tests")
    try:
        col = client[settings.insights.db]["mentions"]
        # Every mention finished its two-phase update: nothing is left pending.
        assert await col.count_documents({"tenant_id": "acme", "pending": {"$exists": True}}) == 0
        assert await col.count_documents({"tenant_id": "acme"}) == n
    finally:
        await client.close()
    assert lost["insert"] + lost["cas"] > 0, "the replicas never raced; the test proves nothing"
