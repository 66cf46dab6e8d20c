"""The fine-tune's data side (issue 13), without torch: code-mixed augmentation, epoch plan, metrics."""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
# finetuning/ lives with the other build scripts, which are not an installed package.
sys.path.insert(0, str(ROOT / "services" / "nlp" / "scripts"))

from finetuning.mixing import BRANDS, clauses, mix_nusax, mix_pair, template_posts  # noqa: E402
from finetuning.tasks import (  # noqa: E402
    DEFAULT_WEIGHTS,
    HEAD_OF_STREAM,
    TaskData,
    epoch_plan,
    macro_f1,
    macro_recall,
    micro_f1,
    score_validation,
    stream_indices,
)

FIXTURE = ROOT / "tests" / "fixtures" / "codemixed.jsonl"
EN = "The food was great, the staff were friendly. But the parking is terrible!"
ID = "Makanannya enak, stafnya ramah. Tapi parkirnya parah!"


def test_clauses_split_after_punctuation() -> None:
    assert clauses(EN) == ["The food was great,", "the staff were friendly.", "But the parking is terrible!"]
    assert clauses("  one clause only  ") == ["one clause only"]
    assert clauses("") == []


def test_mix_pair_takes_clauses_from_both_sides() -> None:
    en, idn = set(clauses(EN)), set(clauses(ID))
    seen = set()
    for seed in range(30):
        text = mix_pair(EN, ID, random.Random(seed))
        assert text is not None
        parts = clauses(text)
        assert len(parts) == 3
        assert any(p in en for p in parts) and any(p in idn for p in parts), text
        seen.add(text)
    assert len(seen) > 2  # the seed chooses which clauses


def test_mix_pair_unequal_and_single_clause() -> None:
    rng = random.Random(1)
    text = mix_pair("Great place, cheap too.", "Tempatnya bagus.", rng)
    assert text is not None and text.startswith("Great place,") and "Tempatnya bagus." in text
    # a's only clause is the whole text: no mix that way round.
    assert mix_pair("Tempatnya bagus.", "Great place, cheap too.", rng) is None
    words = mix_pair("one two three four five six seven", "satu dua tiga empat lima enam tujuh", rng)
    assert words is not None
    first, last = words.split()[0], words.split()[-1]
    assert first == "one" and last == "tujuh"
    assert mix_pair("too short", "terlalu pendek", rng) is None


def test_mix_nusax_is_deterministic_and_keeps_labels() -> None:
    en = [("1", EN, "negative"), ("2", "Nice hotel, clean rooms.", "positive"), ("3", "short", "neutral"),
          ("4", "Only in English, no pair.", "neutral")]
    idn = [("1", ID, "negative"), ("2", "Hotelnya bagus, kamarnya bersih.", "positive"),
           ("3", "pendek", "neutral"), ("9", "Tanpa pasangan, sama sekali.", "neutral")]
    a = mix_nusax(en, idn, per_pair=2, seed=5)
    assert a == mix_nusax(en, idn, per_pair=2, seed=5)
    assert a != mix_nusax(en, idn, per_pair=2, seed=6)
    assert {m.label for m in a if "parking" in m.text or "parkir" in m.text} == {"negative"}
    assert {m.label for m in a if "otel" in m.text} == {"positive"}
    assert all(m.source == "nusax-mix" for m in a)
    texts = [m.text for m in a]
    assert len(texts) == len(set(texts))
    assert not any("short" in t or "pasangan" in t or "Only" in t for t in texts)
    # A pair whose labels disagree is not mixed.
    assert mix_nusax([("1", EN, "negative")], [("1", ID, "positive")], per_pair=2, seed=5) == []


def test_templates_are_balanced_deterministic_and_not_the_fixture() -> None:
    posts = template_posts(600, seed=13)
    assert posts == template_posts(600, seed=13)
    assert len(posts) == 600 and len({p.text for p in posts}) == 600
    labels = [p.label for p in posts]
    for label in ("positive", "negative", "neutral"):
        assert labels.count(label) >= 150
    assert all(p.text == " ".join(p.text.split()) for p in posts)
    # The fixture is held out: no template post, and no template brand, appears in it.
    fixture = [json.loads(line)["text"] for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    assert not {p.text for p in posts} & set(fixture)
    lowered = " ".join(fixture).lower()
    assert not [b for b in BRANDS if b.lower() in lowered]
    # Code-mixed: most posts hold both an English and an Indonesian marker word.
    en = re.compile(r"\b(the|and|but|my|is|was|which|or|so|love|never|does|anyone|any|have|it|again)\b")
    idn = re.compile(r"(\w+nya\b|\b(banget|sih|buat|kalau|ada|yang|ga|di|mau|atau|sama|loh|lagi|nyesel|kapok|"
                     r"pake|telat|enak|mulu|terus|pol|lancar|ramah|dan|ya|bisa|puas|parah|mantap|makasih|"
                     r"hebat|keren)\b)")
    mixed = sum(bool(en.search(p.text.lower()) and idn.search(p.text.lower())) for p in posts)
    assert mixed >= 0.8 * len(posts)


def test_stream_indices_walk_every_row_before_repeating() -> None:
    a = stream_indices(10, 0, 25, seed=1, stream=0)
    assert sorted(a[:10]) == list(range(10)) and sorted(a[10:20]) == list(range(10))
    # Any window is the same slice of the same endless sequence.
    assert np.array_equal(stream_indices(10, 7, 11, seed=1, stream=0), a[7:18])
    assert not np.array_equal(stream_indices(10, 0, 10, seed=1, stream=1), a[:10])


def test_epoch_plan_is_deterministic_and_weighted() -> None:
    sizes = {"tweeteval": 100, "smsa": 50, "emotion": 7, "aspects": 0}
    weights = {"tweeteval": 0.5, "smsa": 0.3, "emotion": 0.2, "aspects": 0.5}
    lengths = {s: np.random.default_rng(3).integers(3, 60, n) for s, n in sizes.items()}
    kw = {"epoch_size": 200, "batch_size": 8, "seed": 4, "length_of": lambda s, i: int(lengths[s][i])}
    p0 = epoch_plan(sizes, weights, epoch=0, **kw)
    assert p0 == epoch_plan(sizes, weights, epoch=0, **kw)
    p1 = epoch_plan(sizes, weights, epoch=1, **kw)
    assert p0 != p1
    count = {s: sum(len(b.indices) for b in p0 if b.stream == s) for s in sizes}
    # aspects has no rows; the others share the epoch by weight (renormalised over 0.5+0.3+0.2).
    assert count == {"tweeteval": 100, "smsa": 60, "emotion": 40, "aspects": 0}
    assert all(len(b.indices) <= 8 for b in p0)
    # tweeteval: epoch 0 and 1 together are exactly two passes (100 each) over its 100 rows.
    rows = [i for p in (p0, p1) for b in p if b.stream == "tweeteval" for i in b.indices]
    assert sorted(rows) == sorted(list(range(100)) * 2)
    # Length bucketing: batches pad far less than random ones would.
    spread = np.mean([np.ptp([lengths[b.stream][i] for i in b.indices]) for b in p0 if len(b.indices) > 1])
    assert spread < 15
    # Batches of different streams are interleaved, not one stream after the other.
    streams = [b.stream for b in p0]
    assert sum(a != b for a, b in itertools.pairwise(streams)) > 5


def test_default_weights_cover_every_stream() -> None:
    assert set(DEFAULT_WEIGHTS) == set(HEAD_OF_STREAM)
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)


def test_metrics() -> None:
    gold = np.array([0, 0, 1, 2, 2, 2])
    pred = np.array([0, 1, 1, 2, 2, 0])
    assert macro_recall(gold, pred, 3) == pytest.approx((0.5 + 1 + 2 / 3) / 3)
    f1 = [2 * 1 / (2 + 2), 2 * 1 / (2 + 1), 2 * 2 / (2 + 3)]  # 2tp / (predicted + gold) per class
    assert macro_f1(gold, pred, 3) == pytest.approx(np.mean(f1))
    y = np.array([[1, 0], [0, 1]], dtype=np.float32)
    p = np.array([[True, True], [False, False]])
    assert micro_f1(y, p, np.ones_like(p)) == pytest.approx(2 * 1 / (2 + 2))
    # Masked-out labels do not count.
    assert micro_f1(y, p, np.array([[True, False], [True, False]])) == pytest.approx(1.0)


def test_score_validation_averages_the_five_tasks() -> None:
    def cls(head: str, gold: list[int]) -> TaskData:
        return TaskData(head, ["x"] * len(gold), np.array(gold))

    val = {
        "tweeteval": cls("sentiment", [0, 1, 2]),
        "smsa": cls("sentiment", [0, 1, 2]),
        "nusax-english": cls("sentiment", [0, 1]),
        "nusax-javanese": cls("sentiment", [0, 1]),
        "emotion": cls("emotion", [0, 1, 2, 3]),
        "aspects": TaskData("aspects", ["x"], np.array([[1.0, 0.0]]), np.array([[True, True]])),
    }
    preds = {
        "tweeteval": np.array([0, 1, 2]), "smsa": np.array([0, 1, 2]),
        "nusax-english": np.array([0, 1]), "nusax-javanese": np.array([1, 0]),
        "emotion": np.array([0, 1, 2, 3]), "aspects": np.array([[0.9, 0.1]]),
    }
    m = score_validation(preds, val)
    assert m["nusax_mean"] == pytest.approx(0.5 * (1.0 + 0.0))
    assert m["score"] == pytest.approx((1 + 1 + 0.5 + 1 + 1) / 5)


def test_nothing_that_runs_in_production_imports_torch() -> None:
    """torch is the optional ``finetune`` extra: the services and libs must never need it."""
    offenders = []
    for base in ("libs", "services"):
        for path in (ROOT / base).rglob("*.py"):
            if "scripts" in path.relative_to(ROOT).parts:
                continue  # build scripts (make models / make finetune) are not run by the services
            if re.search(r"^\s*(import torch|from torch[ .])", path.read_text(encoding="utf-8"), re.M):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders
