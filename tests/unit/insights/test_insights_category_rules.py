"""Tenant categories: validation, threshold calibration, matching (expression OR similarity),
assignment at ingest, per-category rollups, the category driver, the tagger's cache and the CRUD
use case on fakes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from dengar_common.embedding import quantize
from dengar_common.errors import InvalidArgument, Unavailable
from dengar_common.query import QuerySyntaxError
from dengar_insights.domain import categories as cat
from dengar_insights.domain.insight.drivers import CATEGORY, MentionFeatures, explain, features_from_doc
from dengar_insights.domain.rollups import Scope, contribution_of, sum_docs
from dengar_insights.entrypoints.protos import prepare_enriched
from dengar_insights.service_layer.categories import (
    CategoriesUnavailableError,
    CategoryManager,
    CategoryTagger,
)

DIM = 64


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def _cluster(rng: np.random.Generator, direction: np.ndarray, n: int, noise: float) -> np.ndarray:
    """n unit vectors around ``direction``: the farther apart, the larger ``noise``."""
    return _unit(direction + noise * rng.standard_normal((n, DIM)))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(5)


# -- calibration ---------------------------------------------------------------------------------------


def test_threshold_separates_members_from_the_background(rng: np.random.Generator) -> None:
    topic = _unit(rng.standard_normal(DIM))
    examples = _cluster(rng, topic, 8, 0.08)
    # The background: mostly other things, 5% of it the category itself.
    background = np.vstack([_unit(rng.standard_normal((190, DIM)) + 0.5 * topic),
                            _cluster(rng, topic, 10, 0.08)])
    c = cat.calibrate(examples, background)
    assert c.background_size == 200
    assert c.member_min <= c.member_median
    assert c.background_p90 <= c.threshold <= c.member_median
    new_members = cat.scores(_cluster(rng, topic, 200, 0.08), examples)
    others = cat.scores(_unit(rng.standard_normal((2000, DIM)) + 0.5 * topic), examples)
    assert (new_members >= c.threshold).mean() > 0.9
    assert (others >= c.threshold).mean() < 0.02


def test_threshold_never_below_the_background_top_tenth(rng: np.random.Generator) -> None:
    """Loose examples and a background full of near-members: the p90 floor holds."""
    topic = _unit(rng.standard_normal(DIM))
    examples = _cluster(rng, topic, 3, 0.6)
    background = _cluster(rng, topic, 100, 0.2)
    c = cat.calibrate(examples, background)
    midpoint = (c.member_median + c.background_p95) / 2
    assert midpoint < c.background_p90
    assert c.threshold == pytest.approx(c.background_p90, abs=1e-6)


def test_without_enough_background_the_fallback_threshold_is_used(rng: np.random.Generator) -> None:
    topic = _unit(rng.standard_normal(DIM))
    examples = _cluster(rng, topic, 5, 0.1)
    few = _cluster(rng, topic, cat.MIN_BACKGROUND - 1, 0.5)
    for background in (None, few):
        c = cat.calibrate(examples, background)
        assert c.threshold == cat.FALLBACK_THRESHOLD and c.background_size == 0


def test_member_scores_are_leave_one_out(rng: np.random.Generator) -> None:
    examples = _cluster(rng, _unit(rng.standard_normal(DIM)), 4, 0.3)
    loo = cat.member_scores(examples)
    with_self = cat.scores(examples, examples)
    # An example is always closer to a centroid it is part of.
    assert np.all(loo < with_self)
    assert loo[0] == pytest.approx(float(examples[0] @ cat.centroid(examples[1:])), abs=1e-6)


# -- validation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("examples, field", [
    (["a", "b"], "examples"),
    ([f"example {i}" for i in range(21)], "examples"),
    (["a", " ", "c"], "examples[1]"),
    (["a", "b", "A "], "examples[2]"),
    (["a", "b", "x" * (cat.MAX_EXAMPLE_CHARS + 1)], "examples[2]"),
])
def test_bad_examples_name_the_field(examples: list[str], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        cat.clean_examples(examples)
    assert err.value.field == field


def test_good_examples_are_stripped() -> None:
    assert cat.clean_examples([]) == ()
    assert cat.clean_examples([" a ", "b", "c"]) == ("a", "b", "c")
    assert len(cat.clean_examples([f"e{i}" for i in range(cat.MAX_EXAMPLES)])) == cat.MAX_EXAMPLES


def test_a_category_needs_an_expression_or_examples() -> None:
    with pytest.raises(InvalidArgument):
        cat.check_definition("  ", ())
    cat.check_definition("refund", ())
    cat.check_definition("", ("a", "b", "c"))


def test_a_bad_expression_is_located() -> None:
    with pytest.raises(QuerySyntaxError) as err:
        cat.check_expression("refund AND")
    assert err.value.field == "expression" and err.value.position == 10
    assert cat.check_expression("") is None


def test_names_are_cleaned() -> None:
    assert cat.clean_name("  Flight   delays ") == "Flight delays"
    with pytest.raises(InvalidArgument):
        cat.clean_name(" ")
    with pytest.raises(InvalidArgument):
        cat.clean_name("x" * (cat.MAX_NAME_CHARS + 1))
    assert cat.is_category_id(cat.new_category_id())


# -- matching ------------------------------------------------------------------------------------------


def _category(cid: str, *, expression: str = "", vectors: Sequence[np.ndarray] = (),
              threshold: float = 0.9) -> cat.Category:
    calibration = cat.Calibration(threshold, 0.95, 0.93) if len(vectors) else None
    return cat.Category(id=cid, tenant_id="acme", name=cid, expression=expression,
                        examples=tuple(f"ex {i}" for i in range(len(vectors))),
                        example_vectors=tuple(quantize(v) for v in vectors), calibration=calibration)


def test_a_mention_matches_by_expression_or_by_similarity(rng: np.random.Generator) -> None:
    topic = _unit(rng.standard_normal(DIM))
    examples = _cluster(rng, topic, 3, 0.05)
    refunds = _category("c_0000000000000001", expression='refund OR "money back"')
    similar = _category("c_0000000000000002", vectors=list(examples), threshold=0.9)
    both = _category("c_0000000000000003", expression="delay", vectors=list(examples))
    cats = cat.build_set([refunds, similar, both])
    near = quantize(_cluster(rng, topic, 1, 0.05)[0])
    far = quantize(_unit(rng.standard_normal(DIM)))
    doc = cat.MatchDoc.build("I want my money back")
    assert cats.match(doc, far) == (refunds.id,)
    assert cats.match(doc, near) == (refunds.id, similar.id, both.id)
    assert cats.match(cat.MatchDoc.build("another delay"), b"") == (both.id,)
    assert cats.match(cat.MatchDoc.build("nothing"), far) == ()
    # A vector of another model (another size) is not compared.
    assert cats.match(cat.MatchDoc.build("nothing"), quantize(np.ones(DIM + 1))) == ()


def test_belongs_reads_a_stored_mention(rng: np.random.Generator) -> None:
    topic = _unit(rng.standard_normal(DIM))
    similar = _category("c_0000000000000002", vectors=list(_cluster(rng, topic, 4, 0.05)))
    by_words = _category("c_0000000000000001", expression="refund platform:x")
    doc = {"text": "where is my Refund", "platform": "x", "author": {"handle": "a"},
           "embedding": quantize(_unit(rng.standard_normal(DIM)))}
    assert cat.belongs(doc, by_words) and not cat.belongs(doc, similar)
    assert not cat.belongs({**doc, "platform": "reddit"}, by_words)
    close = {**doc, "text": "", "embedding": quantize(_cluster(rng, topic, 1, 0.05)[0])}
    assert cat.belongs(close, similar) and not cat.belongs(close, by_words)


def test_a_stored_expression_that_no_longer_compiles_disables_only_itself() -> None:
    broken = _category("c_0000000000000001", expression="refund AND")
    fine = _category("c_0000000000000002", expression="refund")
    cats = cat.build_set([broken, fine])
    assert cats.match(cat.MatchDoc.build("refund please")) == (fine.id,)


# -- ingest and rollups --------------------------------------------------------------------------------


def test_prepare_assigns_categories_and_counts_them(make_enriched, rng: np.random.Generator) -> None:
    topic = _unit(rng.standard_normal(DIM))
    refunds = _category("c_0000000000000001", expression="refund")
    similar = _category("c_0000000000000002", vectors=list(_cluster(rng, topic, 3, 0.05)))
    e = make_enriched(text="Refund belum masuk")
    e.enrichment.embedding_i8 = quantize(_cluster(rng, topic, 1, 0.05)[0])
    m = prepare_enriched(e, subject_tenant="acme", categories=cat.build_set([refunds, similar]))
    assert m.fields["category_ids"] == [refunds.id, similar.id]
    assert "categories.c_0000000000000001.volume" in m.contribution.counters
    assert "categories.c_0000000000000002.sentiment.positive" in m.contribution.counters
    plain = prepare_enriched(make_enriched(text="halo"), subject_tenant="acme")
    assert plain.fields["category_ids"] == []
    assert not any(c.startswith("categories.") for c in plain.contribution.counters)


def test_category_scope_reads_its_own_counters() -> None:
    t = datetime(2026, 11, 22, 5, tzinfo=UTC)
    c = contribution_of("acme", t, sentiment="negative", aspects={}, platform="x", language="en",
                        query_ids=["q1"], category_ids=["c_0000000000000001", "c_0000000000000001"])
    counters = set(c.counters)
    assert {"volume", "queries.q1.volume", "categories.c_0000000000000001.volume",
            "categories.c_0000000000000001.sentiment.negative"} <= counters
    assert sum(x.startswith("categories.") and x.endswith(".volume") for x in counters) == 1
    doc = {"volume": 5, "sentiment": {"negative": 5},
           "categories": {"c_0000000000000001": {"volume": 2, "sentiment": {"negative": 1}}}}
    scope = Scope(category_id="c_0000000000000001")
    assert scope.fields() == ["categories.c_0000000000000001"]
    totals = sum_docs([doc, doc], scope=scope)
    assert totals.volume == 4 and totals.sentiment["negative"] == 2
    assert sum_docs([doc]).volume == 5
    assert sum_docs([doc], scope=Scope(category_id="c_0000000000000009")).volume == 0


def test_a_growing_category_explains_a_spike() -> None:
    t = datetime(2026, 11, 22, tzinfo=UTC)
    refunds = "c_0000000000000001"

    def m(i: int, cats: tuple[str, ...]) -> MentionFeatures:
        return MentionFeatures(id=f"{i:024x}", created_at=t, text=f"post number {i}", category_ids=cats)

    baseline = [m(i, (refunds,) if i % 20 == 0 else ()) for i in range(100)]
    window = [m(1000 + i, (refunds,) if i % 2 == 0 else ()) for i in range(60)]
    drivers = explain(window, baseline)
    found = [d for d in drivers if d.kind == CATEGORY]
    assert found and found[0].value == refunds and found[0].count == 30
    assert features_from_doc({"_id": "x", "category_ids": [refunds]}).values(CATEGORY) == (refunds,)


# -- the tagger's cache ------------------------------------------------------------------------------


class FakeRepo:
    def __init__(self) -> None:
        self.categories: dict[str, cat.Category] = {}
        self.ver = 0
        self.lists = 0
        self.down = False
        self.max = 2

    async def insert(self, tenant_id: str, category: cat.Category) -> None:
        if len(self.categories) >= self.max:
            raise cat.CategoryLimit(self.max)
        if any(cat.name_key(c.name) == cat.name_key(category.name) for c in self.categories.values()):
            raise cat.CategoryNameTaken(category.name)
        self.categories[category.id] = category
        self.ver += 1

    async def get(self, tenant_id: str, category_id: str) -> cat.Category | None:
        c = self.categories.get(category_id)
        return c if c is not None and c.tenant_id == tenant_id else None

    async def list(self, tenant_id: str) -> list[cat.Category]:
        if self.down:
            raise Unavailable("down")
        self.lists += 1
        return [c for c in self.categories.values() if c.tenant_id == tenant_id]

    async def replace(self, tenant_id: str, category: cat.Category) -> cat.Category | None:
        if category.id not in self.categories:
            return None
        self.categories[category.id] = category
        self.ver += 1
        return category

    async def delete(self, tenant_id: str, category_id: str) -> bool:
        self.ver += 1
        return self.categories.pop(category_id, None) is not None

    async def version(self, tenant_id: str) -> int:
        if self.down:
            raise Unavailable("down")
        return self.ver


async def test_the_tagger_reloads_on_invalidate_version_and_ttl() -> None:
    repo, now = FakeRepo(), [0.0]
    tagger = CategoryTagger(repo, ttl_s=5, max_age_s=300, clock=lambda: now[0])
    assert len(await tagger.category_set("acme")) == 0
    await repo.insert("acme", _category("c_0000000000000001", expression="refund"))
    # Within the TTL the cached set is used...
    assert len(await tagger.category_set("acme")) == 0
    # ...unless this process changed it.
    tagger.invalidate("acme")
    assert len(await tagger.category_set("acme")) == 1
    loads = repo.lists
    now[0] = 10.0  # past the TTL, same version: no reload
    assert len(await tagger.category_set("acme")) == 1 and repo.lists == loads
    repo.ver += 1  # another replica changed something
    now[0] = 20.0
    await tagger.category_set("acme")
    assert repo.lists == loads + 1


async def test_the_tagger_keeps_the_last_set_while_the_store_is_away() -> None:
    repo, now = FakeRepo(), [0.0]
    tagger = CategoryTagger(repo, ttl_s=1, clock=lambda: now[0])
    repo.down = True
    with pytest.raises(CategoriesUnavailableError):
        await tagger.category_set("acme")
    repo.down = False
    await repo.insert("acme", _category("c_0000000000000001", expression="refund"))
    assert len(await tagger.category_set("acme")) == 1
    repo.down, now[0] = True, 5.0
    assert len(await tagger.category_set("acme")) == 1


# -- the CRUD use case on fakes ---------------------------------------------------------------------


class FakeEmbedder:
    def __init__(self, vectors: dict[str, np.ndarray] | None = None) -> None:
        self.vectors = vectors or {}
        self.calls = 0
        self.down = False

    async def embed(self, tenant_id: str, texts: Sequence[str]) -> list[bytes]:
        if self.down:
            raise Unavailable("NLP down")
        self.calls += 1
        return [quantize(self.vectors.get(t, np.ones(DIM))) for t in texts]


class FakeSample:
    def __init__(self, blobs: list[bytes]) -> None:
        self.blobs = blobs

    async def recent_embeddings(self, tenant_id: str, limit: int) -> list[bytes]:
        return self.blobs[:limit]


async def test_create_embeds_and_calibrates(rng: np.random.Generator) -> None:
    topic = _unit(rng.standard_normal(DIM))
    texts = [f"late again {i}" for i in range(5)]
    vectors = dict(zip(texts, _cluster(rng, topic, 5, 0.1), strict=True))
    background = [quantize(v) for v in _unit(rng.standard_normal((120, DIM)))]
    repo, embedder = FakeRepo(), FakeEmbedder(vectors)
    changed: list[str] = []
    manager = CategoryManager(repo, embedder, FakeSample(background), on_change=changed.append)
    c = await manager.create("acme", name=" Delays ", examples=texts)
    assert c.name == "Delays" and c.examples == tuple(texts) and len(c.example_vectors) == 5
    assert c.calibration is not None and c.calibration.background_size == 120
    assert changed == ["acme"]
    # Only an expression: nothing to embed.
    e = await manager.create("acme", name="Refunds", expression="refund")
    assert e.calibration is None and embedder.calls == 1
    with pytest.raises(cat.CategoryLimit):
        await manager.create("acme", name="Third", expression="x")
    with pytest.raises(cat.CategoryNotFound):
        await manager.get("other", c.id)


async def test_update_recalibrates_only_when_examples_are_given(rng: np.random.Generator) -> None:
    repo, embedder, sample = FakeRepo(), FakeEmbedder(), FakeSample([])
    manager = CategoryManager(repo, embedder, sample)
    c = await manager.create("acme", name="Delays", examples=["a", "b", "c"])
    renamed = await manager.update("acme", c.id, cat.CategoryChanges(name="Late", expression="late"))
    assert renamed.name == "Late" and renamed.expression == "late" and embedder.calls == 1
    assert renamed.example_vectors == c.example_vectors
    await manager.update("acme", c.id, cat.CategoryChanges(examples=("d", "e", "f")))
    assert embedder.calls == 2
    # The same examples again: recalibrated, now with the mentions stored since.
    sample.blobs = [quantize(v) for v in _unit(rng.standard_normal((60, DIM)))]
    again = await manager.update("acme", c.id, cat.CategoryChanges(examples=("d", "e", "f")))
    assert embedder.calls == 3 and again.calibration is not None
    assert again.calibration.background_size == 60
    # Clearing the examples is fine while the expression remains; clearing both is not.
    cleared = await manager.update("acme", c.id, cat.CategoryChanges(examples=()))
    assert cleared.examples == () and cleared.calibration is None
    with pytest.raises(InvalidArgument):
        await manager.update("acme", c.id, cat.CategoryChanges(expression=""))
    with pytest.raises(QuerySyntaxError):
        await manager.update("acme", c.id, cat.CategoryChanges(expression="(late"))
    with pytest.raises(cat.CategoryNotFound):
        await manager.update("acme", "c_ffffffffffffffff", cat.CategoryChanges(name="x"))


async def test_examples_that_cannot_be_embedded_store_nothing() -> None:
    repo, embedder = FakeRepo(), FakeEmbedder()
    embedder.down = True
    manager = CategoryManager(repo, embedder, FakeSample([]))
    with pytest.raises(Unavailable):
        await manager.create("acme", name="Delays", examples=["a", "b", "c"])
    assert repo.categories == {}
    with pytest.raises(InvalidArgument):
        await manager.create("bad tenant!", name="x", expression="y")


class FakeScheduler:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, str, int, bool]] = []

    async def schedule(self, *, tenant_id: str, kind: str, target_id: str, version: int,
                       spec: Mapping[str, Any], changed_at: datetime) -> None:
        assert kind == "category" and version == int(changed_at.timestamp() * 1000)
        self.jobs.append((tenant_id, target_id, version, bool(spec.get("deleted"))))


async def test_a_change_of_definition_schedules_a_backfill_and_a_rename_does_not() -> None:
    times = iter(datetime(2026, 12, 1, 10, tzinfo=UTC) + timedelta(seconds=s) for s in range(10))
    jobs = FakeScheduler()
    manager = CategoryManager(FakeRepo(), FakeEmbedder(), FakeSample([]), backfills=jobs,
                              clock=lambda: next(times))
    c = await manager.create("acme", name="Delays", expression="late")
    await manager.update("acme", c.id, cat.CategoryChanges(name="Late"))
    await manager.update("acme", c.id, cat.CategoryChanges(expression="late OR delay"))
    await manager.update("acme", c.id, cat.CategoryChanges(examples=("a", "b", "c")))
    await manager.delete("acme", c.id)
    versions = [v for _, _, v, _ in jobs.jobs]
    assert [(t, i, d) for t, i, _, d in jobs.jobs] == [("acme", c.id, False)] * 3 + [("acme", c.id, True)]
    # Each later change is a newer version, so it supersedes the job of the one before.
    assert versions == sorted(set(versions)) and len(versions) == 4
    # A failed write schedules nothing.
    with pytest.raises(cat.CategoryNotFound):
        await manager.update("acme", c.id, cat.CategoryChanges(expression="x"))
    assert len(jobs.jobs) == 4
