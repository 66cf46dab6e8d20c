"""Sentiment of ``make run``'s demo posts against the sentiment each was written with, per model set.

    .venv/bin/python bench/demo_sentiment.py services/nlp/models services/nlp/models/quality [--posts 3000]

The demo (``dengar_cli.demo``, seed 7) is the project's own text: templates in English, Indonesian and
code-mixed, each with an intended sentiment. It is not a benchmark (templates repeat, and they were
written for the demo's stories), but it is the kind of text the product reads, and it shows which kinds of
post a model set misreads: accuracy, the confusions, and accuracy per demo scenario.  Prints Markdown.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class DemoScore:
    models_dir: Path
    accuracy: float
    # (intended, read) -> posts, for the posts read wrong
    confusions: dict[tuple[str, str], int]
    # (scenario, intended) -> (posts, right)
    by_scenario: dict[tuple[str, str], tuple[int, int]]


def score(models_dirs: Sequence[Path], posts: int = 3000, seed: int = 7) -> list[DemoScore]:
    sys.path.insert(0, str(ROOT / "services" / "nlp"))
    from dengar_cli.demo import generate_demo
    from dengar_nlp.adapters.onnx_models import load_analyzer

    demo = generate_demo(posts, seed=seed)
    texts = [str(p.get("text") or "") for p in demo.posts]
    scores = []
    for models_dir in models_dirs:
        results = load_analyzer(models_dir, threads=2).analyze(texts)
        confusions: Counter[tuple[str, str]] = Counter()
        totals: Counter[tuple[str, str]] = Counter()
        right: Counter[tuple[str, str]] = Counter()
        for truth, result in zip(demo.truth, results, strict=True):
            intended, read = str(truth["sentiment"]), result.sentiment.label
            key = (str(truth["scenario"]), intended)
            totals[key] += 1
            if read == intended:
                right[key] += 1
            else:
                confusions[(intended, read)] += 1
        scores.append(DemoScore(models_dir, sum(right.values()) / max(1, len(texts)), dict(confusions),
                                {k: (n, right[k]) for k, n in sorted(totals.items())}))
    return scores


def markdown(scores: Sequence[DemoScore], min_posts: int = 20) -> str:
    names = [str(s.models_dir) for s in scores]
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(scores) + 1) + "|",
             "| accuracy | " + " | ".join(f"{s.accuracy:.3f}" for s in scores) + " |"]
    pairs = sorted({p for s in scores for p in s.confusions})
    lines += [f"| {a} read as {b} | " + " | ".join(str(s.confusions.get((a, b), 0)) for s in scores) + " |"
              for a, b in pairs]
    keys = [k for k, (n, _) in scores[0].by_scenario.items() if n >= min_posts] if scores else []
    for key in keys:
        cells = [f"{s.by_scenario[key][1] / s.by_scenario[key][0]:.2f}" for s in scores]
        label = f"{key[0]}, {key[1]} ({scores[0].by_scenario[key][0]} posts)"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models_dirs", nargs="+", type=Path, help="model sets (load_analyzer folders)")
    parser.add_argument("--posts", type=int, default=3000, help="demo posts (make run feeds 3000)")
    parser.add_argument("--seed", type=int, default=7, help="demo seed (make run's default: 7)")
    args = parser.parse_args(argv)
    if args.posts < 1:
        parser.error("--posts must be at least 1")
    missing = [d for d in args.models_dirs if not (d / "encoder" / "model.onnx").is_file()]
    if missing:
        parser.error(f"not a model set: {', '.join(map(str, missing))}")
    sys.stdout.write(markdown(score(args.models_dirs, args.posts, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
