"""QueryTagger: per-tenant compiled sets, the TTL and version check, invalidation, client ids replaced."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest

from dengar.v1 import common_pb2
from dengar_collector.domain.listening_query import QueryRecord
from dengar_collector.service_layer.query_tagger import QueryConfig, QueryTagger, TaggingUnavailableError

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def record(qid: str, expression: str, *, tenant: str = "acme", role: str = "brand",
           enabled: bool = True) -> QueryRecord:
    return QueryRecord(id=qid, tenant_id=tenant, name=qid, role=role, expression=expression,  # type: ignore[arg-type]  # loose kwargs
                       enabled=enabled, created_at=T0, updated_at=T0)


@dataclass
class MemorySource:
    """An in-memory QuerySource that counts its reads, as the store would see them."""

    records: dict[str, dict[str, QueryRecord]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    version_reads: int = 0
    loads: int = 0
    down: bool = False

    def put(self, rec: QueryRecord, *, bump: bool = True) -> None:
        self.records.setdefault(rec.tenant_id, {})[rec.id] = rec
        if bump:
            self.versions[rec.tenant_id] = self.versions.get(rec.tenant_id, 0) + 1

    def remove(self, tenant: str, qid: str) -> None:
        del self.records[tenant][qid]
        self.versions[tenant] = self.versions.get(tenant, 0) + 1

    async def version(self, tenant_id: str) -> int:
        if self.down:
            raise ConnectionError("store down")
        self.version_reads += 1
        return self.versions.get(tenant_id, 0)

    async def load_enabled(self, tenant_id: str) -> Sequence[QueryRecord]:
        if self.down:
            raise ConnectionError("store down")
        self.loads += 1
        return [r for r in self.records.get(tenant_id, {}).values() if r.enabled]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def post(text: str, *, query_ids: Sequence[str] = (), **kw: object) -> common_pb2.Post:
    return common_pb2.Post(platform=kw.pop("platform", common_pb2.PLATFORM_X), external_id="1",  # type: ignore[arg-type]  # loose kwargs
                           text=text, query_ids=list(query_ids), **kw)  # type: ignore[arg-type]  # loose kwargs


@pytest.fixture
def source() -> MemorySource:
    src = MemorySource()
    src.put(record("q_brand", "gocepat OR @gocepat_id"))
    src.put(record("q_rival", "antaryuk", role="competitor"))
    src.put(record("q_late", "(telat OR late) AND lang:id", role="topic"))
    return src


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tagger(source: MemorySource, clock: Clock) -> QueryTagger:
    return QueryTagger(source, config=QueryConfig(cache_ttl_s=5.0, max_age_s=300.0), clock=clock)


async def tag_one(tagger: QueryTagger, p: common_pb2.Post, tenant: str = "acme") -> list[str]:
    await tagger.tag(tenant, [p])
    return list(p.query_ids)


async def test_posts_get_the_ids_of_the_queries_they_match(tagger: QueryTagger) -> None:
    posts = [post("GoCepat telat lagi", lang_hint="id"), post("AntarYuk vs @GoCepat_ID"),
             post("nothing to see"), post("telat", lang_hint="en")]
    await tagger.tag("acme", posts)
    assert [list(p.query_ids) for p in posts] == [["q_brand", "q_late"], ["q_brand", "q_rival"], [], []]


async def test_client_supplied_query_ids_are_replaced(tagger: QueryTagger, source: MemorySource) -> None:
    assert await tag_one(tagger, post("gocepat", query_ids=["q_forged", "q_rival"])) == ["q_brand"]
    assert await tag_one(tagger, post("unrelated", query_ids=["q_forged"])) == []
    # Also when the tenant has no queries at all.
    assert await tag_one(tagger, post("gocepat", query_ids=["q_forged"]), tenant="nobody") == []


async def test_the_set_is_compiled_once_and_reused_within_the_ttl(tagger, source, clock) -> None:
    for i in range(5):
        await tagger.tag("acme", [post(f"gocepat {i}")])
        clock.now += 0.9
    first = await tagger.query_set("acme")
    assert (source.loads, source.version_reads) == (1, 1)
    # After the TTL only the version is read; unchanged, the very same set is kept.
    clock.now += 5
    assert await tagger.query_set("acme") is first
    assert (source.loads, source.version_reads) == (1, 2)


async def test_a_change_elsewhere_is_seen_after_the_ttl(tagger, source, clock) -> None:
    assert await tag_one(tagger, post("antaryuk")) == ["q_rival"]
    # Another replica disables the competitor query and adds one.
    source.put(replace(source.records["acme"]["q_rival"], enabled=False))
    source.put(record("q_new", "antaryuk NEAR/2 mahal", role="topic"))
    clock.now += 4.9
    assert await tag_one(tagger, post("antaryuk mahal")) == ["q_rival"]
    clock.now += 0.2
    assert await tag_one(tagger, post("antaryuk mahal")) == ["q_new"]
    assert source.loads == 2


async def test_invalidate_applies_at_once_and_reuses_compiled_expressions(tagger, source) -> None:
    assert await tag_one(tagger, post("late", lang_hint="id")) == ["q_late"]
    before = {q.id: q.query for q in await tagger.query_set("acme")}
    source.remove("acme", "q_late")
    source.put(record("q_brand2", "gocepat"))
    tagger.invalidate("acme")
    assert await tag_one(tagger, post("late gocepat", lang_hint="id")) == ["q_brand", "q_brand2"]
    after = {q.id: q.query for q in await tagger.query_set("acme")}
    assert after["q_brand"] is before["q_brand"]  # not compiled again


async def test_invalidate_reloads_even_when_the_version_did_not_move(tagger, source) -> None:
    # A writer that failed before bumping the version: the local invalidation still reloads.
    await tag_one(tagger, post("x"))
    source.put(record("q_quiet", "pesanan"), bump=False)
    tagger.invalidate("acme")
    assert await tag_one(tagger, post("pesanan")) == ["q_quiet"]


async def test_max_age_reloads_even_when_the_version_did_not_move(source, clock) -> None:
    tagger = QueryTagger(source, config=QueryConfig(cache_ttl_s=5.0, max_age_s=60.0), clock=clock)
    await tag_one(tagger, post("x"))
    source.put(record("q_quiet", "pesanan"), bump=False)
    clock.now += 30
    assert await tag_one(tagger, post("pesanan")) == []
    clock.now += 31
    assert await tag_one(tagger, post("pesanan")) == ["q_quiet"]


async def test_disabled_queries_tag_nothing(source: MemorySource, clock: Clock) -> None:
    source.put(record("q_off", "gocepat", enabled=False))
    tagger = QueryTagger(source, clock=clock)
    assert await tag_one(tagger, post("gocepat")) == ["q_brand"]


async def test_tenants_are_separate(tagger: QueryTagger, source: MemorySource) -> None:
    source.put(record("q_g1", "gocepat", tenant="globex"))
    assert await tag_one(tagger, post("gocepat antaryuk"), tenant="globex") == ["q_g1"]
    assert await tag_one(tagger, post("gocepat antaryuk")) == ["q_brand", "q_rival"]
    tagger.invalidate("globex")
    source.remove("globex", "q_g1")
    assert await tag_one(tagger, post("gocepat"), tenant="globex") == []
    # acme's set was not touched by globex's invalidation.
    assert source.loads == 3


async def test_a_query_that_no_longer_compiles_is_skipped(source: MemorySource, clock: Clock) -> None:
    source.put(record("q_broken", "gocepat AND"))
    tagger = QueryTagger(source, clock=clock)
    assert await tag_one(tagger, post("gocepat")) == ["q_brand"]


async def test_store_failures(tagger: QueryTagger, source: MemorySource, clock: Clock) -> None:
    source.down = True
    # Nothing loaded yet: the batch must fail (and be retried) rather than go out untagged.
    with pytest.raises(TaggingUnavailableError):
        await tagger.tag("acme", [post("gocepat")])
    source.down = False
    assert await tag_one(tagger, post("gocepat")) == ["q_brand"]
    # Once loaded, an unreachable store means tagging with the previous set...
    source.down = True
    clock.now += 10
    assert await tag_one(tagger, post("gocepat")) == ["q_brand"]
    # ...and a reload at the next check once it is back.
    source.down = False
    source.put(record("q_more", "gocepat"), bump=False)
    clock.now += 10
    assert await tag_one(tagger, post("gocepat")) == ["q_brand", "q_more"]


ATTACK = "(" + " OR ".join(["aa"] * 8) + ") NEAR/0 (" + " OR ".join(["bb"] * 8) + ")"


async def test_a_post_over_its_matching_budget_keeps_its_other_tags(
        source: MemorySource, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    source.put(record("q_near", '"aa cc" NEAR/1 bb', role="topic"))
    tagger = QueryTagger(source, config=QueryConfig(match_budget=1_000), clock=clock)
    long_post = post("gocepat " + "aa cc dd bb " * 2_000)
    assert await tag_one(tagger, long_post) == ["q_brand"]
    assert tagger.over_budget["acme"] == 1
    assert "queries q_near not matched, the post ran out of its matching budget of 1000" in caplog.text
    # The default budget answers it.
    assert await tag_one(QueryTagger(source, clock=clock), post("gocepat " + "aa cc dd bb " * 2_000)) \
        == ["q_brand", "q_near"]


async def test_matching_runs_off_the_event_loop(source: MemorySource, clock: Clock) -> None:
    source.put(record("q_attack", ATTACK, role="topic"))
    tagger = QueryTagger(source, clock=clock)
    await tag_one(tagger, post("warm the cache"))
    posts = [post(" ".join(["aa"] * 6_000 + ["bb"] * 6_000)) for _ in range(6)]
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    tick_task = asyncio.create_task(ticker())
    await tagger.tag("acme", posts)
    done.set()
    await tick_task
    # Inline matching would never yield between the cached set and the last post: the ticker would
    # not have run at all while the batch was being matched.
    assert ticks > 1
    assert all(list(p.query_ids) == ["q_attack"] for p in posts)
    assert tagger.over_budget["acme"] == 0
