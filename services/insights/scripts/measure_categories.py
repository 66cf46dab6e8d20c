"""Measure example-based categories on the airline tweets: the numbers in domain/categories.py.

    python services/insights/scripts/measure_categories.py --data ../shared/data/airline_tweets/tweets.csv

Embeds every tweet with the committed NLP encoder (as NLP does, then int8 as insights stores it;
several minutes on two cores, cached next to ``--cache``), labels five complaint classes by
keywords (the dataset has no reason labels), and for each class defines categories from N random
example tweets, calibrates them (``calibrate``) against a background of 500 random tweets and
reports precision/recall against the keyword labels over the tweets that were not examples. Prints
a table; writes nothing else. Used during development only: not imported by the service.
"""

from __future__ import annotations

import argparse
import csv
import logging
import re
from pathlib import Path

import numpy as np

from dengar_common.embedding import quantize, stack
from dengar_insights.domain.categories import calibrate, scores

logger = logging.getLogger(__name__)

CLASSES = {
    "flight delays": r"late flight|delay",
    "cancellations": r"cancelled flight",
    "lost luggage": (r"(lost|missing|lose|where).{0,40}\b(bag|bags|luggage|baggage)\b"
                     r"|\b(bag|bags|luggage|baggage)\b.{0,40}(lost|missing)"),
    "refunds": r"refund",
    "customer service": r"customer service|on hold|hold time|call back|hung up",
}


def embed(texts: list[str], models: Path, cache: Path) -> np.ndarray:
    if cache.exists():
        return np.load(cache)
    from dengar_nlp.adapters.encoder import OnnxEncoder  # development-only dependency

    encoder = OnnxEncoder(models / "encoder", threads=2)
    blobs: list[bytes] = []
    for start in range(0, len(texts), 256):
        blobs += [quantize(v) for v in encoder.encode(texts[start:start + 256])]
        logger.info("embedded %d/%d", len(blobs), len(texts))
    matrix, kept = stack(blobs)
    if len(kept) != len(texts):
        raise SystemExit("some tweets have no embedding")
    np.save(cache, matrix)
    return matrix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="airline_tweets/tweets.csv")
    parser.add_argument("--models", type=Path, default=Path("services/nlp/models"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/dengar_airline_e5.npy"))
    parser.add_argument("--examples", type=int, nargs="+", default=[3, 8, 15])
    parser.add_argument("--draws", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    with args.data.open(encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    x = embed(texts, args.models, args.cache)
    lowered = [t.lower() for t in texts]
    rng = np.random.default_rng(args.seed)
    print(f"{'N':>3} {'category':18} {'share':>6} {'threshold':>9} {'precision':>9} {'recall':>6} "
          f"{'matched':>7}")
    for n in args.examples:
        for name, pattern in CLASSES.items():
            labels = np.array([bool(re.search(pattern, t)) for t in lowered])
            members = np.flatnonzero(labels)
            rows = []
            for _ in range(args.draws):
                chosen = rng.choice(members, n, replace=False)
                background = x[rng.choice(len(x), 500, replace=False)]
                threshold = calibrate(x[chosen], background).threshold
                rest = np.ones(len(x), dtype=bool)
                rest[chosen] = False
                predicted = scores(x[rest], x[chosen]) >= threshold
                truth = labels[rest]
                hits = int((predicted & truth).sum())
                rows.append((threshold, hits / max(int(predicted.sum()), 1), hits / int(truth.sum()),
                             float(predicted.mean())))
            t, p, r, m = (float(np.mean(col)) for col in zip(*rows, strict=True))
            print(f"{n:>3} {name:18} {labels.mean():6.1%} {t:9.3f} {p:9.2f} {r:6.2f} {m:7.1%}")


if __name__ == "__main__":
    main()
