"""Emerging topics: sampling, matching across windows, stable ids, growth, the use case on fake ports.

Embeddings are synthetic but shaped like e5's: every vector shares a large common direction (so
raw cosines between different topics are high, as with the real encoder) plus a topic direction
and noise. Texts are English and Indonesian with stop words and slang fillers mixed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from dengar_common.embedding import quantize
from dengar_common.errors import InvalidArgument
from dengar_insights.domain.insight import emerging
from dengar_insights.domain.insight.emerging import (
    FADING,
    GROWING,
    NEW,
    STABLE,
    RegistryEntry,
    TopicPost,
    k_candidates,
    match,
    sample_ids,
    scale,
    status,
)
from dengar_insights.domain.insight.stopwords import is_label_stopword
from dengar_insights.service_layer.topics import (
    ALL_SCOPE,
    TopicLimits,
    TopicsEngine,
    TopicsRequest,
)

D = 64
T0 = datetime(2026, 11, 1, tzinfo=UTC)
DAY = timedelta(days=1)
THEMES = {
    "banjir": ["banjir", "hujan", "genangan", "evakuasi"],
    "macet": ["macet", "tol", "kemacetan", "jalan"],
    "promo": ["promo", "diskon", "voucher", "cashback"],
    "flight": ["flight", "delayed", "gate", "boarding"],
}
FILLERS = "yg gak aja nya sih banget the and is to di dan ini itu wkwk".split()
# One common direction and one orthogonal direction per theme.
_BASIS, _ = np.linalg.qr(np.random.default_rng(42).normal(size=(D, len(THEMES) + 1)))
COMMON = _BASIS[:, 0]
CENTERS = {name: _BASIS[:, i + 1] for i, name in enumerate(THEMES)}


def vector(theme: str, rng: np.random.Generator, shift: np.ndarray | None = None) -> bytes:
    topic = CENTERS[theme] / np.linalg.norm(CENTERS[theme])
    if shift is not None:
        topic = topic + shift
    v = 3.0 * COMMON + topic + rng.normal(scale=0.08, size=D)
    return quantize(v / np.linalg.norm(v))


def posts(theme: str, n: int, start: datetime, rng: np.random.Generator, *, prefix: str,
          query: str = "q_a", shift: np.ndarray | None = None,
          sentiment: str = "negative") -> list[tuple[TopicPost, tuple[str, ...]]]:
    out = []
    for i in range(n):
        words = list(rng.choice(THEMES[theme], size=3)) + list(rng.choice(FILLERS, size=4))
        at = start + timedelta(seconds=int(rng.integers(0, 86_400 - 1)))
        out.append((TopicPost(f"{prefix}-{theme}-{i}", at, " ".join(words), sentiment,
                              ("delivery",) if theme == "banjir" else (), vector(theme, rng, shift)),
                    (query,)))
    return out


class Reads:
    """``TopicReads`` over a list, sampling by the domain's rule as the Mongo adapter does."""

    def __init__(self, items: Sequence[tuple[TopicPost, tuple[str, ...]]]) -> None:
        self.items = list(items)

    def _in(self, start: datetime, end: datetime, query_id: str | None) -> list[TopicPost]:
        return [p for p, q in self.items
                if start <= p.created_at < end and p.embedding and (query_id is None or query_id in q)]

    async def window(self, tenant_id: str, start: datetime, end: datetime, query_id: str | None,
                     cap: int) -> tuple[list[TopicPost], int]:
        found = self._in(start, end, query_id)
        keep = set(sample_ids([p.id for p in found], cap))
        return [p for p in found if p.id in keep], len(found)


class Registry:
    def __init__(self, conflicts: int = 0) -> None:
        self.data: dict[tuple[str, str], tuple[list[RegistryEntry], int]] = {}
        self.conflicts = conflicts
        self.saves = 0

    async def load(self, tenant_id: str, scope: str) -> tuple[list[RegistryEntry], int]:
        return self.data.get((tenant_id, scope), ([], 0))

    async def save(self, tenant_id: str, scope: str, entries: Sequence[RegistryEntry], rev: int) -> bool:
        self.saves += 1
        if self.conflicts:
            # Someone else saved meanwhile: the revision moved on.
            self.conflicts -= 1
            old, r = self.data.get((tenant_id, scope), ([], 0))
            self.data[(tenant_id, scope)] = (old, r + 1)
            return False
        if self.data.get((tenant_id, scope), ([], 0))[1] != rev:
            return False
        self.data[(tenant_id, scope)] = (list(entries), rev + 1)
        return True


def two_windows() -> list[tuple[TopicPost, tuple[str, ...]]]:
    """Day 0: banjir 60, promo 60, flight 40. Day 1: banjir 120 (drifted a little), macet 60 (new),
    flight 40; promo is gone."""
    rng = np.random.default_rng(7)
    drift = rng.normal(scale=0.05, size=D)
    return [*posts("banjir", 60, T0, rng, prefix="a"), *posts("promo", 60, T0, rng, prefix="a"),
            *posts("flight", 40, T0, rng, prefix="a", sentiment="positive"),
            *posts("banjir", 120, T0 + DAY, rng, prefix="b", shift=drift),
            *posts("macet", 60, T0 + DAY, rng, prefix="b"),
            *posts("flight", 40, T0 + DAY, rng, prefix="b", sentiment="positive")]


def theme_of(keywords: Sequence[str]) -> str:
    (name,) = [n for n, words in THEMES.items() if keywords[0] in words]
    return name


# -- pure pieces ------------------------------------------------------------------------------------


def test_sample_is_deterministic_bounded_and_hash_ordered() -> None:
    ids = [f"m{i}" for i in range(1000)]
    a = sample_ids(ids, 100)
    assert len(a) == 100 == len(set(a))
    assert a == sample_ids(list(reversed(ids)), 100)  # the order the store answers in does not matter
    # Bottom-k by hash: a mention sampled from a bigger window is sampled from any part holding it.
    part = ids[:500]
    assert set(a) & set(part) <= set(sample_ids(part, 100))
    assert sample_ids(ids[:50], 100) == ids[:50]
    assert scale(10, 1000, 100) == 100 and scale(10, 80, 100) == 10


def test_status_rules() -> None:
    assert status(10, 0) == NEW
    assert status(0, 40) == FADING
    assert status(90, 40) == GROWING
    assert status(15, 40) == FADING
    assert status(44, 40) == STABLE
    # A small topic jitters by a few posts without changing its status.
    assert status(6, 2) == STABLE


def test_match_is_greedy_one_to_one_and_thresholded() -> None:
    e = np.eye(4, dtype=np.float32)
    a = np.stack([e[0], e[1], 0.6 * e[0] + 0.8 * e[2]]).astype(np.float32)
    b = np.stack([0.8 * e[0] + 0.6 * e[2], e[0], e[3]]).astype(np.float32)
    found = match(a, b, threshold=0.5)
    # a0 takes b1 (cosine 1.0), so a2 takes b0 (0.96) even though b0 is also close to a0.
    assert found == {0: 1, 2: 0}
    assert match(a, b, threshold=0.99) == {0: 1}
    assert match(a, np.zeros((0, 4), dtype=np.float32)) == {}


def test_centring_separates_what_the_common_direction_hides() -> None:
    rng = np.random.default_rng(0)
    x = np.stack([np.frombuffer(vector(t, rng), dtype=np.int8).astype(np.float32)
                  for t in ("banjir", "macet")])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert float(x[0] @ x[1]) > 0.8  # raw: looks alike
    assert match(x[:1], x[1:], threshold=0.65) == {0: 0}
    assert match(x[:1], x[1:], threshold=0.65, background=COMMON.astype(np.float32)) == {}


def test_k_candidates_have_a_floor_for_big_windows() -> None:
    assert min(k_candidates(300)) == 2
    assert min(k_candidates(10_000)) == 20
    assert min(k_candidates(1_000_000)) == 20


# -- the use case -----------------------------------------------------------------------------------


async def test_planted_topics_labels_growth_and_fading() -> None:
    engine = TopicsEngine(Reads(two_windows()), Registry())
    first = await engine.topics(TopicsRequest("acme", T0, T0 + DAY, limit=50))
    assert {theme_of(t.keywords) for t in first.topics} == {"banjir", "promo", "flight"}
    for t in first.topics:
        assert t.status == NEW and t.previous_volume == 0 and t.relative_change is None
        assert not any(is_label_stopword(k) for k in t.keywords)
        assert set(t.keywords[:2]) <= set(THEMES[theme_of(t.keywords)])
    ids_before = {theme_of(t.keywords): t.id for t in first.topics}

    second = await engine.topics(TopicsRequest("acme", T0 + DAY, T0 + 2 * DAY, limit=50))
    assert (second.volume, second.previous_volume, second.estimated) == (220, 160, False)
    by_theme = {theme_of(t.keywords): t for t in second.topics}
    assert set(by_theme) == {"banjir", "macet", "flight", "promo"}
    banjir, macet, flight, promo = (by_theme[k] for k in ("banjir", "macet", "flight", "promo"))
    # The drifted cluster keeps its id and grows; flight is stable; macet is new; promo faded.
    assert banjir.id == ids_before["banjir"] and banjir.status == GROWING
    assert (banjir.volume, banjir.previous_volume, banjir.change) == (120, 60, 60)
    assert banjir.relative_change == 1.0
    assert banjir.sentiment == {"negative": 120, "neutral": 0, "positive": 0}
    assert banjir.aspects == (("delivery", 120),)
    assert flight.id == ids_before["flight"] and flight.status == STABLE
    assert macet.status == NEW and macet.id not in ids_before.values()
    assert promo.id == ids_before["promo"] and promo.status == FADING
    assert (promo.volume, promo.previous_volume) == (0, 60)
    # Ranked by the larger of volume and previous volume.
    assert second.topics[0].id == banjir.id
    assert len(banjir.representatives) == 3
    assert all(r.id.startswith("b-banjir-") and r.snippet for r in banjir.representatives)
    # The same window again: the same answer, ids included.
    again = await engine.topics(TopicsRequest("acme", T0 + DAY, T0 + 2 * DAY, limit=50))
    assert [(t.id, t.volume, t.status) for t in again.topics] == \
        [(t.id, t.volume, t.status) for t in second.topics]


async def test_deterministic_across_processes() -> None:
    results = []
    for _ in range(2):
        engine = TopicsEngine(Reads(two_windows()), Registry(), limits=TopicLimits(seed=3))
        await engine.topics(TopicsRequest("acme", T0, T0 + DAY))
        r = await engine.topics(TopicsRequest("acme", T0 + DAY, T0 + 2 * DAY))
        results.append([(t.id, t.keywords, t.volume, t.previous_volume, t.status,
                          tuple(x.id for x in t.representatives)) for t in r.topics])
    assert results[0] == results[1]


async def test_ids_are_per_tenant_and_scope() -> None:
    registry = Registry()
    engine = TopicsEngine(Reads(two_windows()), registry)
    a = await engine.topics(TopicsRequest("acme", T0, T0 + DAY))
    b = await engine.topics(TopicsRequest("globex", T0, T0 + DAY))
    q = await engine.topics(TopicsRequest("acme", T0, T0 + DAY, query_id="q_a"))
    assert {t.id for t in a.topics}.isdisjoint({t.id for t in b.topics})
    assert {t.id for t in a.topics}.isdisjoint({t.id for t in q.topics})
    assert set(registry.data) == {("acme", ALL_SCOPE), ("globex", ALL_SCOPE), ("acme", "q_a")}


async def test_a_big_window_is_sampled_and_scaled() -> None:
    rng = np.random.default_rng(1)
    items = [*posts("banjir", 300, T0, rng, prefix="a"), *posts("promo", 100, T0, rng, prefix="a")]
    reads = Reads(items)
    engine = TopicsEngine(reads, Registry(), limits=TopicLimits(sample_cap=200))
    r = await engine.topics(TopicsRequest("acme", T0, T0 + DAY))
    assert (r.volume, r.sampled, r.estimated) == (400, 200, True)
    all_ids = [p.id for p, _ in items]
    clustered = {r.id for t in r.topics for r in t.representatives}
    assert clustered <= set(sample_ids(all_ids, 200))
    volumes = {theme_of(t.keywords): t.volume for t in r.topics}
    assert abs(volumes["banjir"] - 300) <= 40 and abs(volumes["promo"] - 100) <= 40
    assert sum(volumes.values()) == pytest.approx(400, abs=2)
    again = await TopicsEngine(Reads(items), Registry(), limits=TopicLimits(sample_cap=200)).topics(
        TopicsRequest("acme", T0, T0 + DAY))
    assert [(t.id, t.volume) for t in again.topics] == [(t.id, t.volume) for t in r.topics]


async def test_empty_windows_and_missing_vectors() -> None:
    rng = np.random.default_rng(2)
    items = [*posts("banjir", 30, T0, rng, prefix="a"), *posts("macet", 30, T0, rng, prefix="a")]
    items.append((TopicPost("novec", T0, "no vector here", "neutral", (), b""), ("q_a",)))
    engine = TopicsEngine(Reads(items), Registry())
    empty = await engine.topics(TopicsRequest("acme", T0 + 5 * DAY, T0 + 6 * DAY))
    assert empty.topics == () and empty.volume == 0
    gone = await engine.topics(TopicsRequest("acme", T0 + DAY, T0 + 2 * DAY))
    assert [(t.status, t.volume, t.previous_volume) for t in gone.topics] == [(FADING, 0, 30)] * 2
    assert gone.previous_volume == 60  # the post without a vector is not counted


async def test_a_lost_registry_race_is_retried() -> None:
    registry = Registry(conflicts=1)
    engine = TopicsEngine(Reads(two_windows()), registry)
    r = await engine.topics(TopicsRequest("acme", T0, T0 + DAY))
    assert registry.saves == 2
    entries, _ = registry.data[("acme", ALL_SCOPE)]
    assert {e.id for e in entries} == {t.id for t in r.topics}


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"start": T0 + DAY, "end": T0}, "end_time"),
    ({"start": T0, "end": T0 + 400 * DAY}, "start_time"),
    ({"start": datetime(2026, 11, 1), "end": datetime(2026, 11, 2)}, "start_time"),
    ({"limit": 0}, "limit"),
    ({"limit": 51}, "limit"),
])
async def test_bad_requests_name_the_field(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {"tenant_id": "acme", "start": T0, "end": T0 + DAY}
    with pytest.raises(InvalidArgument) as err:
        await TopicsEngine(Reads([]), Registry()).topics(TopicsRequest(**{**base, **kwargs}))  # type: ignore[arg-type]  # values of mixed types by design
    assert err.value.field == field


def test_registry_keeps_at_most_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emerging, "REGISTRY_MAX", 2)
    c = np.eye(3, dtype=np.float32)
    old = [RegistryEntry(f"tp_{i}", c[i], ("w",), T0 + i * DAY, T0 + i * DAY) for i in range(3)]
    empty = emerging.Clustered([], (), np.zeros(0, dtype=np.int64), np.zeros((0, 3), dtype=np.float32), 0)
    ids, entries = emerging.identify("acme", ALL_SCOPE, empty, empty, {}, old, T0 + 9 * DAY)
    assert ids == [] and [e.id for e in entries] == ["tp_2", "tp_1"]
