"""The two-phase rollup protocol against the real store, without the bus: races and crashes."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from insights_helpers import T0, enriched

from dengar.v1 import common_pb2
from dengar_common.errors import Unavailable
from dengar_insights.adapters.mentions import MentionRepository
from dengar_insights.adapters.rollups import RollupRepository
from dengar_insights.domain.rollups import Contribution
from dengar_insights.entrypoints.protos import prepare_enriched as prepare
from dengar_insights.service_layer.ingest import MentionIngestor, Result

SENTS = (common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_NEUTRAL, common_pb2.SENTIMENT_POSITIVE)


@pytest.fixture
async def store(mongo_client, unique):
    db = mongo_client[f"{unique}_insights"]
    mentions, rollups = MentionRepository(db), RollupRepository(db)
    await mentions.ensure_indexes()
    await rollups.ensure_indexes()
    return db, mentions, rollups


async def assert_rollups_match_mentions(db, tenant: str) -> None:
    """Rollups must equal the sum of the stored mentions' contributions, nothing pending."""
    expected: dict[str, dict[str, int]] = {}
    async for doc in db["mentions"].find({"tenant_id": tenant}):
        assert "pending" not in doc, doc["_id"]
        for bucket, counters in Contribution.from_doc(doc["contribution"]).expand().items():
            acc = expected.setdefault(bucket, {})
            for k, v in counters.items():
                acc[k] = acc.get(k, 0) + v
    actual: dict[str, dict[str, int]] = {}
    async for doc in db["rollups"].find({"tenant_id": tenant}):
        flat: dict[str, int] = {}
        for group in ("sentiment", "platform", "language"):
            for k, v in (doc.get(group) or {}).items():
                flat[f"{group}.{k}"] = v
        for name, pols in (doc.get("aspects") or {}).items():
            for pol, v in pols.items():
                flat[f"aspects.{name}.{pol}"] = v
        flat["volume"] = doc.get("volume", 0)
        nonzero = {k: v for k, v in flat.items() if v}
        # A bucket everything moved out of stays behind with zeros.
        if nonzero:
            actual[doc["_id"]] = nonzero
    assert actual == expected


async def test_concurrent_versions_of_one_post_settle_exactly(store) -> None:
    db, mentions, rollups = store
    replicas = [MentionIngestor(mentions, rollups) for _ in range(3)]
    rng = random.Random(7)
    # 40 versions of 4 posts: sentiments, aspects and even the hour change between versions.
    versions = [prepare(enriched("acme", f"p{v % 4}", sentiment=rng.choice(SENTS),
                                 created_at=T0 + timedelta(hours=rng.choice([0, 1, 30])),
                                 collected_at=T0 + timedelta(seconds=v),
                                 aspects=(("price", rng.choice(SENTS)),) if v % 2 else ()))
                for v in range(40)]
    results = await asyncio.gather(*(replicas[n % 3].ingest(m) for n, m in enumerate(versions * 2)))
    assert results.count(Result.INSERTED) == 4
    await assert_rollups_match_mentions(db, "acme")
    total = sum([d.get("volume", 0) async for d in db["rollups"].find({"tenant_id": "acme",
                                                                        "interval": "day"})])
    assert total == 4


class Crash(Exception):
    pass


# Every write of the ingest protocol: a crash test that misses one fails on the count below.
WRITES = [(MentionRepository, "insert_new"), (MentionRepository, "insert_many_new"),
          (MentionRepository, "compare_and_set"), (MentionRepository, "move_pending"),
          (MentionRepository, "complete"), (RollupRepository, "insert_batch"),
          (RollupRepository, "abort_batch"), (RollupRepository, "apply_batch"),
          (RollupRepository, "delete_batches")]


def crash_after(monkeypatch, n: int, counter: dict[str, int] | None = None) -> dict[str, int]:
    """Make the store write number ``n + 1`` from now on reach the store, then raise ``Crash``
    (the process died right after it); returns the write counter."""
    writes = counter if counter is not None else {"n": 0}

    def failing(real):
        async def wrapper(self, *args):
            out = await real(self, *args)
            writes["n"] += 1
            if writes["n"] == n + 1:
                raise Crash(f"after write {writes['n']}")
            return out
        return wrapper

    for cls, name in WRITES:
        monkeypatch.setattr(cls, name, failing(getattr(cls, name)))
    return writes


@pytest.mark.parametrize("crash_at", range(5))
async def test_a_crash_at_any_write_is_finished_by_the_next_delivery(store, monkeypatch, crash_at) -> None:
    """Writes of a re-enrichment that moves a post to another hour: CAS, record, apply, complete..."""
    db, mentions, rollups = store
    ingestor = MentionIngestor(mentions, rollups)
    first = prepare(enriched("acme", "c", sentiment=SENTS[0], aspects=(("price", SENTS[0]),)))
    moved = prepare(enriched("acme", "c", sentiment=SENTS[2], created_at=T0 + timedelta(days=1, hours=3),
                             collected_at=T0 + timedelta(days=2)))
    assert await ingestor.ingest(first) is Result.INSERTED

    crash_after(monkeypatch, crash_at)
    try:
        await ingestor.ingest(moved)
        crashed = False
    except Crash:
        crashed = True
    monkeypatch.undo()
    # The redelivery (maybe on another replica) finishes whatever was left.
    again = await MentionIngestor(mentions, rollups).ingest(moved)
    assert again in (Result.UPDATED, Result.DUPLICATE)
    await assert_rollups_match_mentions(db, "acme")
    # CAS, batch record and, in parallel with it, the deletion of the record of the batch before
    # (``first``'s), one rollup write for the four buckets it touches (two hours, two days),
    # completion: 5 writes, so every parametrisation crashes after one.
    assert crashed
    doc = await db["mentions"].find_one({"_id": moved.id, "tenant_id": "acme"})
    assert doc["sentiment"]["label"] == "positive"


async def test_concurrent_batches_settle_exactly(store) -> None:
    """Replicas writing overlapping batches from stale snapshots: CAS losers take the slow path."""
    db, mentions, rollups = store
    replicas = [MentionIngestor(mentions, rollups) for _ in range(3)]
    rng = random.Random(11)

    def version(n: int, v: int):
        return prepare(enriched("acme", f"b{n}", sentiment=rng.choice(SENTS),
                                created_at=T0 + timedelta(hours=rng.choice([0, 2, 26])),
                                collected_at=T0 + timedelta(seconds=v),
                                aspects=(("delivery", rng.choice(SENTS)),) if v % 3 else ()))

    async def batch(replica: MentionIngestor, round_no: int) -> list:
        posts = [version(n, round_no * 10 + rng.randrange(10)) for n in rng.sample(range(12), 8)]
        states = await replica.states("acme", [p.id for p in posts])
        await asyncio.sleep(rng.random() / 100)
        return await replica.ingest_many("acme", [(p, "") for p in posts], states)

    for round_no in range(6):
        out = await asyncio.gather(*(batch(r, round_no) for r in replicas))
        assert not [x for results in out for x in results if isinstance(x, BaseException)]
    await assert_rollups_match_mentions(db, "acme")
    days = [d async for d in db["rollups"].find({"tenant_id": "acme", "interval": "day"})]
    assert sum(d.get("volume", 0) for d in days) == await db["mentions"].count_documents(
        {"tenant_id": "acme"}) == 12


# 7 writes: bulk insert, 2 CAS, the batch record and in parallel the deletion of the record of
# ``old``'s batch, one rollup write for the 7 touched buckets, one bulk completion.
@pytest.mark.parametrize("crash_at", range(7))
async def test_a_crash_anywhere_in_a_batch_is_finished_by_redelivery(store, monkeypatch, crash_at) -> None:
    db, mentions, rollups = store
    ingestor = MentionIngestor(mentions, rollups)
    old = [prepare(enriched("acme", f"o{i}", sentiment=SENTS[0], created_at=T0 + timedelta(hours=i)))
           for i in range(2)]
    await ingestor.ingest_many("acme", [(p, "") for p in old], {})
    batch = [prepare(enriched("acme", f"n{i}", sentiment=SENTS[i % 3],
                              created_at=T0 + timedelta(hours=i, days=i % 2))) for i in range(3)]
    batch += [prepare(enriched("acme", f"o{i}", sentiment=SENTS[2], created_at=T0 + timedelta(hours=i),
                               collected_at=T0 + timedelta(days=1))) for i in range(2)]
    writes = crash_after(monkeypatch, crash_at)
    states = await ingestor.states("acme", [p.id for p in batch])
    try:
        first = await ingestor.ingest_many("acme", [(p, "") for p in batch], states)
    except Crash:
        first = None
    monkeypatch.undo()
    assert writes["n"] > crash_at
    # Every message not acked comes back; here the whole batch, on a fresh replica.
    redelivered = MentionIngestor(mentions, rollups)
    again = await redelivered.ingest_many(
        "acme", [(p, "") for p in batch], await redelivered.states("acme", [p.id for p in batch]))
    assert not [r for r in again if isinstance(r, BaseException)], again
    await assert_rollups_match_mentions(db, "acme")
    labels = [d["sentiment"]["label"] async for d in db["mentions"].find({"tenant_id": "acme"})]
    assert len(labels) == 5 and labels.count("positive") == 3
    # The crash either propagated or was reported as the failed messages' outcomes.
    assert first is None or any(isinstance(r, Crash) for r in first)


@pytest.mark.parametrize(("crash_at", "then_at"), [(a, b) for a in range(5) for b in range(6)])
async def test_a_crash_of_the_finisher_too_is_finished_by_the_next_delivery(store, monkeypatch, crash_at,
                                                                           then_at) -> None:
    """The writer dies after any write, and so does the replica that resumes its batch (aborting
    it, moving the op to a batch of its own, ...); a third delivery still settles exactly."""
    db, mentions, rollups = store
    first = prepare(enriched("acme", "c", sentiment=SENTS[0], aspects=(("price", SENTS[0]),)))
    moved = prepare(enriched("acme", "c", sentiment=SENTS[2], created_at=T0 + timedelta(days=1, hours=3),
                             collected_at=T0 + timedelta(days=2)))
    await MentionIngestor(mentions, rollups).ingest(first)
    for ingestor, at in ((MentionIngestor(mentions, rollups), crash_at),
                         (MentionIngestor(mentions, rollups), then_at)):
        crash_after(monkeypatch, at)
        try:
            await ingestor.ingest(moved)
        except Crash:
            pass
        monkeypatch.undo()
    assert await MentionIngestor(mentions, rollups).ingest(moved) in (Result.UPDATED, Result.DUPLICATE)
    await assert_rollups_match_mentions(db, "acme")
    doc = await db["mentions"].find_one({"_id": moved.id, "tenant_id": "acme"})
    assert doc["sentiment"]["label"] == "positive"


async def test_a_batch_resumed_long_after_a_crash_is_applied_once(store, monkeypatch) -> None:
    """The writer dies with its batch applied to some buckets only; the same buckets then take many
    batches from other lanes (a live replica, a restarted one) before the redelivery comes."""
    db, mentions, rollups = store
    ingestor = MentionIngestor(mentions, rollups)
    post = prepare(enriched("acme", "late", sentiment=SENTS[0]))
    real_apply = RollupRepository.apply_batch

    async def first_bucket_only(self, tenant_id, lane, seq, buckets):
        first = sorted(buckets)[0]
        await real_apply(self, tenant_id, lane, seq, {first: buckets[first]})
        raise Crash("died after the first bucket")

    monkeypatch.setattr(RollupRepository, "apply_batch", first_bucket_only)
    with pytest.raises(Crash):
        await ingestor.ingest(post)
    monkeypatch.undo()
    # The same ingestor (its crashed lane is dropped) and another replica keep writing.
    other = MentionIngestor(mentions, rollups)
    for i in range(30):
        await (ingestor if i % 2 else other).ingest(prepare(enriched("acme", f"busy{i}")))
    pending = (await db["mentions"].find_one({"_id": post.id, "tenant_id": "acme"}))["pending"]
    assert await db["rollup_batches"].count_documents({"_id": pending["batch"]}) == 1
    assert await MentionIngestor(mentions, rollups).ingest(post) is Result.DUPLICATE
    await assert_rollups_match_mentions(db, "acme")
    day = await db["rollups"].find_one({"tenant_id": "acme", "interval": "day"})
    assert day["volume"] == 31
    # Hot buckets hold one number per lane, not one id per post.
    assert len(day["lanes"]) <= 4 and "ops" not in day


async def test_an_op_left_pending_by_the_version_before_batches_is_finished(store) -> None:
    """A mention whose intent was written before batches (no ``pending.batch``): finished per
    bucket as before, guarded by the op ids in the buckets."""
    db, mentions, rollups = store
    post = prepare(enriched("acme", "old", sentiment=SENTS[0]))
    pending = {"op": "op-old", "from": Contribution.from_doc(None).to_doc(),
               "to": post.contribution.to_doc(), "at": T0, "done": []}
    assert await mentions.insert_new("acme", {"_id": post.id, **post.fields, "trace_id": "",
                                               "content_hash": post.content_hash, "first_seen_at": T0,
                                               "updated_at": T0, "rev": 1, "contribution": None,
                                               "pending": pending})
    # It had reached the day bucket before the upgrade.
    day = sorted(post.contribution.expand())[0]
    assert await rollups.apply("acme", day, "op-old", post.contribution.expand()[day])
    assert await MentionIngestor(mentions, rollups).ingest(post) is Result.DUPLICATE
    await assert_rollups_match_mentions(db, "acme")


async def test_a_batch_recorded_and_deleted_while_being_aborted_is_re_read(store, monkeypatch) -> None:
    """A finisher finds no record, cannot abort the id (the writer just recorded it), and finds no
    record again (the writer finished and deleted it): it re-reads instead of failing, and finishes
    whatever of the batch is still pending."""
    db, mentions, rollups = store
    ingestor = MentionIngestor(mentions, rollups)
    post = prepare(enriched("acme", "raced", sentiment=SENTS[0]))
    crash_after(monkeypatch, 0)  # the intent reaches the store, the writer dies before its record
    with pytest.raises(Crash):
        await ingestor.ingest(post)
    monkeypatch.undo()
    real_insert = RollupRepository.insert_batch
    raced: list[str] = []

    async def writer_was_faster(self, tenant_id, doc):
        if doc.get("aborted") and not raced:
            raced.append(doc["_id"])
            return False  # as if the id were taken by the writer's record, deleted right after
        return await real_insert(self, tenant_id, doc)

    monkeypatch.setattr(RollupRepository, "insert_batch", writer_was_faster)
    assert await MentionIngestor(mentions, rollups).ingest(post) is Result.DUPLICATE
    assert raced
    await assert_rollups_match_mentions(db, "acme")
    day = await db["rollups"].find_one({"tenant_id": "acme", "interval": "day"})
    assert day["volume"] == 1


async def test_a_finished_batch_record_is_deleted_off_its_path(store, monkeypatch) -> None:
    """The record of a batch goes with the writer's next record (or ``flush``), not on the batch's
    own path; a failed deletion is tried again with the next one and fails nothing."""
    db, mentions, rollups = store
    ingestor = MentionIngestor(mentions, rollups)
    posts = [prepare(enriched("acme", f"d{i}", sentiment=SENTS[i % 3])) for i in range(4)]

    async def records() -> list[str]:
        return [d["_id"] async for d in db["rollup_batches"].find({"tenant_id": "acme"})]

    assert await ingestor.ingest(posts[0]) is Result.INSERTED
    [first] = await records()
    await assert_rollups_match_mentions(db, "acme")  # counts in, the record not deleted yet
    assert await ingestor.ingest(posts[1]) is Result.INSERTED
    [second] = await records()
    assert second != first

    async def unavailable(self, tenant_id, batch_ids):
        raise Unavailable("store unavailable, retry later")

    monkeypatch.setattr(RollupRepository, "delete_batches", unavailable)
    assert await ingestor.ingest(posts[2]) is Result.INSERTED
    assert len(await records()) == 2
    monkeypatch.undo()
    assert await ingestor.ingest(posts[3]) is Result.INSERTED
    assert len(await records()) == 1
    await ingestor.flush()
    assert await records() == []
    await assert_rollups_match_mentions(db, "acme")


async def test_a_record_left_by_a_writer_that_died_after_completing_is_harmless(store) -> None:
    """The writer dies after its completion, before any deletion (its list of finished records is
    gone with it): the record stays, and nothing reads it again; later versions settle exactly."""
    db, mentions, rollups = store
    first = prepare(enriched("acme", "c", sentiment=SENTS[0], aspects=(("price", SENTS[0]),)))
    moved = prepare(enriched("acme", "c", sentiment=SENTS[2], created_at=T0 + timedelta(days=1, hours=3),
                             collected_at=T0 + timedelta(days=2)))
    assert await MentionIngestor(mentions, rollups).ingest(first) is Result.INSERTED
    [left] = [d async for d in db["rollup_batches"].find({"tenant_id": "acme"})]
    doc = await db["mentions"].find_one({"_id": first.id, "tenant_id": "acme"})
    assert "pending" not in doc
    other = MentionIngestor(mentions, rollups)
    assert await other.ingest(first) is Result.DUPLICATE
    assert await other.ingest(moved) is Result.UPDATED
    await other.flush()
    assert [d async for d in db["rollup_batches"].find({"tenant_id": "acme"})] == [left]
    await assert_rollups_match_mentions(db, "acme")
