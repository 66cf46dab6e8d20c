"""The two-phase rollup protocol against the real store, without the bus: races and crashes."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from insights_helpers import T0, enriched

from dengar.v1 import common_pb2
from dengar_insights.adapters.ingest import MentionIngestor, Result
from dengar_insights.adapters.mentions import MentionRepository
from dengar_insights.adapters.rollups import RollupRepository
from dengar_insights.domain.mention import prepare
from dengar_insights.domain.rollups import Contribution

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


@pytest.mark.parametrize("crash_at", range(9))
async def test_a_crash_at_any_write_is_finished_by_the_next_delivery(store, monkeypatch, crash_at) -> None:
    """Writes of a re-enrichment that moves a post to another hour: apply, mark, apply, complete..."""
    db, mentions, rollups = store
    ingestor = MentionIngestor(mentions, rollups)
    first = prepare(enriched("acme", "c", sentiment=SENTS[0], aspects=(("price", SENTS[0]),)))
    moved = prepare(enriched("acme", "c", sentiment=SENTS[2], created_at=T0 + timedelta(days=1, hours=3),
                             collected_at=T0 + timedelta(days=2)))
    assert await ingestor.ingest(first) is Result.INSERTED

    writes = {"n": 0}

    def failing(real):
        async def wrapper(self, *args):
            out = await real(self, *args)
            writes["n"] += 1
            # The write reached the store, then the process died before going on.
            if writes["n"] == crash_at + 1:
                raise Crash(f"after write {writes['n']}")
            return out
        return wrapper

    for cls, name in [(RollupRepository, "apply"), (MentionRepository, "mark_applied"),
                      (MentionRepository, "complete"), (MentionRepository, "compare_and_set")]:
        monkeypatch.setattr(cls, name, failing(getattr(cls, name)))
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
    # The move touches four buckets (two hours, two days): CAS + 4 applies + 3 marks + complete = 9
    # writes, so every parametrisation crashes after one of them.
    assert crashed
    doc = await db["mentions"].find_one({"_id": moved.id, "tenant_id": "acme"})
    assert doc["sentiment"]["label"] == "positive"
