"""Regression test of the shipped analyser on the self-written code-mixed English/Indonesian fixture.

``tests/fixtures/codemixed.jsonl`` (issue 13): 160 posts written for this project, mostly
English/Indonesian code-mixed, with slang, sarcasm markers, comparisons, questions and emoji. Each row
has a gold ``sentiment`` and ``lang`` (``en``/``id`` for monolingual posts, ``mixed`` otherwise) and
descriptive ``tags``.  Both committed model sets are checked, each against minimums that sit a little
under what it scores (see "Code-mixed posts" in services/nlp/models/README.md), so that a regression
fails.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from dengar_nlp.adapters.onnx_models import load_analyzer
from dengar_nlp.domain.results import SENTIMENT_LABELS, Analysis

ROOT = Path(__file__).resolve().parents[3]
MODELS = ROOT / "services" / "nlp" / "models"
SETS = {"fast": MODELS, "quality": MODELS / "quality"}
FIXTURE = ROOT / "tests" / "fixtures" / "codemixed.jsonl"

# Measured on the committed sets.  quality, the fine-tuned 12-layer teacher of issue 13 (2026-12-04):
# sentiment accuracy 0.838 (134/160), macro-F1 0.840; language 0.972 (35/36) on the monolingual rows;
# 121/124 (0.976) code-mixed rows come out as en or id.  fast, the anchored 6-layer student: accuracy
# 0.819 (131/160), macro-F1 0.822, language the same 35/36 and 121/124.  Minimums are a few posts below
# that (the frozen-encoder set before them: 0.750 / 0.754).
MIN_SENTIMENT_ACCURACY = {"fast": 0.79, "quality": 0.81}
MIN_SENTIMENT_MACRO_F1 = {"fast": 0.79, "quality": 0.81}
MIN_MONOLINGUAL_LANGUAGE_ACCURACY = 0.94
# A code-mixed EN/ID post must come out as one of its two languages (not jv/su/ms/other).
MIN_MIXED_EN_OR_ID = 0.95

ISSUE_EXAMPLES = {
    "wow Antar Yuk support refunded my missing item in like five minutes. impressed": "positive",
    "guys AntarYuk vs kirimin, which one lebih murah buat daily commute": "neutral",
}


def _rows() -> list[dict[str, object]]:
    with FIXTURE.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def rows() -> list[dict[str, object]]:
    return _rows()


@pytest.fixture(scope="module", params=sorted(SETS))
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def analyses(profile: str, rows: list[dict[str, object]]) -> list[Analysis]:
    analyzer = load_analyzer(SETS[profile], threads=2)
    return analyzer.analyze([str(r["text"]) for r in rows])


def test_fixture_is_well_formed(rows: list[dict[str, object]]) -> None:
    assert len(rows) >= 150
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["text"] for r in rows}) == len(rows)
    for r in rows:
        assert r["sentiment"] in SENTIMENT_LABELS, r
        assert r["lang"] in ("en", "id", "mixed"), r
        assert isinstance(r["tags"], list), r
    got = {str(r["text"]): r["sentiment"] for r in rows}
    for text, label in ISSUE_EXAMPLES.items():
        assert got.get(text) == label
    counts = Counter(str(r["sentiment"]) for r in rows)
    # Every class is well represented, so accuracy is not one class's share.
    assert min(counts.values()) >= 40, counts
    assert sum(r["lang"] == "mixed" for r in rows) >= 100
    tags = Counter(t for r in rows for t in _tags(r))
    for tag in ("codemixed", "slang", "sarcasm", "comparison", "question", "emoji"):
        assert tags[tag] >= 8, (tag, tags)


def _tags(row: dict[str, object]) -> list[str]:
    tags = row["tags"]
    assert isinstance(tags, list)
    return [str(t) for t in tags]


def _macro_f1(gold: list[str], pred: list[str]) -> float:
    f1s = []
    for label in SENTIMENT_LABELS:
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s)


def test_sentiment_minimum(profile: str, rows: list[dict[str, object]], analyses: list[Analysis]) -> None:
    gold = [str(r["sentiment"]) for r in rows]
    pred = [a.sentiment.label for a in analyses]
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)
    macro_f1 = _macro_f1(gold, pred)
    wrong = [(r["id"], r["sentiment"], p) for r, p in zip(rows, pred, strict=True) if r["sentiment"] != p]
    assert accuracy >= MIN_SENTIMENT_ACCURACY[profile], (accuracy, wrong)
    assert macro_f1 >= MIN_SENTIMENT_MACRO_F1[profile], (macro_f1, wrong)


def test_language(rows: list[dict[str, object]], analyses: list[Analysis]) -> None:
    mono = [(r, a) for r, a in zip(rows, analyses, strict=True) if r["lang"] != "mixed"]
    mixed = [a for r, a in zip(rows, analyses, strict=True) if r["lang"] == "mixed"]
    mono_acc = sum(a.language == r["lang"] for r, a in mono) / len(mono)
    mixed_ok = sum(a.language in ("en", "id") for a in mixed) / len(mixed)
    assert mono_acc >= MIN_MONOLINGUAL_LANGUAGE_ACCURACY, [
        (r["id"], r["lang"], a.language) for r, a in mono if a.language != r["lang"]]
    assert mixed_ok >= MIN_MIXED_EN_OR_ID, Counter(a.language for a in mixed)


# The issue's examples a committed set still misreads: a strict expected failure each, so a model that
# reads one right fails the test until it is taken off this list.  The frozen-encoder set misread both;
# both committed sets read the comparison question as neutral, but "missing" still outweighs
# "refunded ... impressed".
MISREAD = {
    "fast": {"wow Antar Yuk support refunded my missing item in like five minutes. impressed"},
    "quality": {"wow Antar Yuk support refunded my missing item in like five minutes. impressed"},
}


@pytest.mark.parametrize("text", sorted(ISSUE_EXAMPLES))
def test_issue_examples(text: str, profile: str, rows: list[dict[str, object]], analyses: list[Analysis],
                        request: pytest.FixtureRequest) -> None:
    if text in MISREAD[profile]:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"the {profile} set misreads it"))
    got = {str(r["text"]): a.sentiment.label for r, a in zip(rows, analyses, strict=True)}
    assert got[text] == ISSUE_EXAMPLES[text]
