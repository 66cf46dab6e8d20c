"""``bench/bench_nlp.py --candidate``: current files and candidate model sets side by side (issue 13).

The tables and the ratio are built from a synthetic report (no model runs); the candidates' levers are
read from tiny fake model folders holding only ``encoder/encoder.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
BUNDLED_META = ROOT / "services" / "nlp" / "models" / "encoder" / "encoder.json"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_nlp_under_test", ROOT / "bench" / "bench_nlp.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_set(root: Path, levers: dict[str, Any] | None = None) -> Path:
    """A model folder with the bundled encoder.json as ``export_encoder.py`` writes it (the frozen e5: no
    fine-tune, no recorded levers), plus, like export_finetuned.py, ``levers``."""
    (root / "encoder").mkdir(parents=True)
    meta = json.loads(BUNDLED_META.read_text(encoding="utf-8"))
    for key in ("finetune", "levers"):  # the committed encoder is a fine-tuned export since issue 13
        meta.pop(key, None)
    if levers is not None:
        meta["finetune"] = {"layers": levers["layers"], "meta": {}}
        meta["levers"] = levers
    (root / "encoder" / "encoder.json").write_text(json.dumps(meta), encoding="utf-8")
    return root


def acc(te: float, smsa: float, nusax: float, emotion: float, casa: float = 0.7, hoasa: float = 0.8) -> dict:
    return {
        "models_dir": "/m",
        "sentiment": {"tweeteval_sentiment_val_macro_recall": te, "smsa_valid_macro_f1": smsa,
                      "nusax_valid_macro_f1_mean12": nusax},
        "emotion": {"tweeteval_emotion_val_macro_f1": emotion},
        "aspects": {"casa": {"detection_micro_f1": casa}, "hoasa": {"detection_micro_f1": hoasa}},
        "langid": {"accuracy": 0.99},
    }


def rows(analyzer: dict[int, float], encoder: dict[int, float],
         analyzer_ops: dict[int, float] | None = None) -> list[dict[str, Any]]:
    out = []
    for model, by_t in (("encoder", encoder), ("analyzer", analyzer), ("analyzer_ops", analyzer_ops or {})):
        for t, pps in by_t.items():
            out.append({"model": model, "threads": t, "posts_per_s": pps, "p50_ms": 64_000 / pps,
                        "p99_ms": 70_000 / pps, "peak_rss_mb": 180.0, "others_cpu_pct": 3.0})
    return out


@pytest.fixture()
def report(bench: ModuleType, tmp_path: Path) -> dict[str, Any]:
    teacher = fake_set(tmp_path / "teacher", {"weights": "fine-tuned", "layers": 12, "max_length": 128,
                                              "quantization": "dynamic int8", "fusions": "none"})
    student = fake_set(tmp_path / "s6", {"weights": "distilled", "layers": 6, "max_length": 64,
                                         "quantization": "dynamic int8", "fusions": "none"})
    current = fake_set(tmp_path / "current")
    rep: dict[str, Any] = {
        "accuracy": {"analyzer": acc(0.701, 0.852, 0.793, 0.634)},
        "speed": rows({1: 60.0, 2: 80.0}, {1: 55.0, 2: 84.0}, {2: 64.0}),
        "current_levers": bench.levers_of(current),
        "val_limit": 0,
        "candidates": {
            "teacher": {"models_dir": str(teacher), "levers": bench.levers_of(teacher),
                        "accuracy": acc(0.725, 0.885, 0.825, 0.650),
                        "speed": rows({1: 59.0, 2: 81.0}, {1: 54.0, 2: 85.0}, {2: 65.0})},
            "s6": {"models_dir": str(student), "levers": bench.levers_of(student),
                   "accuracy": acc(0.721, 0.880, 0.821, 0.640),
                   "speed": rows({1: 180.0, 2: 252.0}, {1: 200.0, 2: 300.0}, {2: 190.0})},
        },
    }
    rep["side_by_side"] = bench.side_by_side(rep)
    return rep


def test_parse_candidate(bench: ModuleType) -> None:
    assert bench.parse_candidate("s6=/runs/s6") == ("s6", Path("/runs/s6"))
    for bad in ("/runs/s6", "=/x", "s6=", "current=/x"):
        with pytest.raises(argparse.ArgumentTypeError):
            bench.parse_candidate(bad)


def test_levers_of_a_frozen_encoder_are_derived(bench: ModuleType, tmp_path: Path) -> None:
    assert bench.levers_of(fake_set(tmp_path / "m")) == {
        "weights": "frozen e5", "layers": 12, "max_length": 128, "quantization": "dynamic int8",
        "fusions": "none"}


def test_ratio_is_new_over_old_at_the_same_thread_count(report: dict[str, Any]) -> None:
    by_name = {e["name"]: e for e in report["side_by_side"]}
    assert list(by_name) == ["current", "teacher", "s6"]
    assert by_name["current"]["ratio"]["analyzer"] == {"1": 1.0, "2": 1.0}
    assert by_name["s6"]["ratio"]["analyzer"] == {"1": 3.0, "2": 3.15}
    assert by_name["s6"]["ratio"]["encoder"]["2"] == pytest.approx(300 / 84, abs=1e-3)
    assert by_name["teacher"]["scores"]["nusax"] == 0.825
    assert by_name["s6"]["ratio"]["analyzer_ops"] == {"2": pytest.approx(190 / 64, abs=1e-3)}


def test_vs_today_compares_with_the_current_files_run_as_before(report: dict[str, Any]) -> None:
    # Today's analyser: current's analyzer_ops on 2 threads (64/s); on 1 thread its analyzer (60/s).
    by_name = {e["name"]: e for e in report["side_by_side"]}
    assert by_name["current"]["vs_today"] == {"1": 1.0, "2": 1.25}
    assert by_name["s6"]["vs_today"] == {"1": 3.0, "2": pytest.approx(252 / 64, abs=1e-3)}


def test_ratio_lines_print_the_headline(bench: ModuleType, report: dict[str, Any]) -> None:
    lines = bench.ratio_lines(report)
    assert len(lines) == 2
    assert ("s6 vs today's analyser: 1 thread 3.00x, 2 threads 3.94x; vs current (analyzer, same "
            "configuration): 1 thread 3.00x, 2 threads 3.15x") in lines[1]
    assert "TE 0.721" in lines[1]


def test_markdown_has_the_side_by_side_and_ablation_tables(bench: ModuleType, report: dict[str, Any]) -> None:
    text = "\n".join(bench.comparison_markdown(report))
    assert "## Side by side" in text and "Full validation splits" in text
    assert ("| **s6** | distilled, 6 layers, cap 64, dynamic int8, fusions none "
            "| 0.721 | 0.880 | 0.821 |") in text
    assert "| s6 | analyzer | 2 | 252.0 | **3.15×** | 3.94× |" in text
    assert "| current | analyzer | 2 | 80.0 | 1.00× | 1.25× |" in text
    assert "| current | analyzer_ops | 2 | 64.0 | 1.00× | — |" in text
    ablation = text[text.index("### Ablation"):]
    # Against today's analyser: the parallelism lever alone (same scores), then the teacher: only
    # the weights changed; the student against the teacher.
    assert "speed vs today's analyser" in ablation
    table = [line for line in ablation.splitlines() if line.startswith("| ") and "---" not in line]
    assert [line.split(" | ")[0] for line in table[1:]] == [
        "| current", "| teacher", "| s6"]
    assert ("| current | parallelism: operators → posts | 1.25× | 1.25× "
            "| +0.0 | +0.0 | +0.0 | +0.0 |") in ablation
    assert ("| teacher | weights: frozen e5 → fine-tuned | 1.01× | 1.27× "
            "| +2.4 | +3.3 | +3.2 | +1.6 |") in ablation
    assert ("| s6 | weights: fine-tuned → distilled; layers: 12 → 6; max_length: 128 → 64 | 3.11× | 3.94× "
            "| -0.4 | -0.5 | -0.4 | -1.0 |") in ablation


def test_ablation_without_the_old_path_starts_at_current(bench: ModuleType, report: dict[str, Any]) -> None:
    for e in report["side_by_side"]:
        e["speed"].pop("analyzer_ops")
    ablation = "\n".join(bench.comparison_markdown(report))
    ablation = ablation[ablation.index("### Ablation"):]
    assert "as before issue 13" not in ablation and "speed vs `current`" in ablation
    assert "| teacher | weights: frozen e5 → fine-tuned | 1.01× | 1.01× |" in ablation


def test_smoke_runs_are_flagged(bench: ModuleType, report: dict[str, Any]) -> None:
    report["val_limit"] = 50
    assert "Smoke run: only the first 50 rows" in "\n".join(bench.comparison_markdown(report))


def test_no_candidates_no_comparison(bench: ModuleType, report: dict[str, Any]) -> None:
    report["side_by_side"] = report["side_by_side"][:1]
    assert bench.comparison_markdown(report) == []


def test_first_rows_only_with_a_limit(bench: ModuleType) -> None:
    xs, ys = ["a", "b", "c"], [1, 2, 3]
    assert bench.first((xs, ys), 2) == (["a", "b"], [1, 2])
    assert bench.first((xs, ys), 0) == (xs, ys)


def test_incomplete_candidate_is_refused_up_front(bench: ModuleType, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    (data / "tweeteval_sentiment").mkdir(parents=True)
    cand = fake_set(tmp_path / "teacher")
    shutil.copytree(ROOT / "services" / "nlp" / "models" / "langid", cand / "langid")
    code = bench.main(["--data", str(data), "--out", str(tmp_path / "out"), "--candidate", f"teacher={cand}"])
    assert code == 2
    err = capsys.readouterr().err
    assert "candidate teacher" in err and "encoder/model.onnx" in err and "heads/sentiment.onnx" in err
    assert not (tmp_path / "out").exists()
