"""Shared by the topic scripts: the airline tweets and their e5 embeddings, cached outside the repo.

Embedding 14,485 tweets with the committed NLP encoder takes a few minutes on 2 cores, so the
vectors are cached as ``<cache>/<name>.npy`` next to a hash of the texts; a different text list
re-embeds. The cache must live outside the repository (it is derived from ../shared/data).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for _sub in ("libs", "services/insights", "services/nlp"):
    if str(ROOT / _sub) not in sys.path:
        sys.path.insert(0, str(ROOT / _sub))

ENCODER_DIR = ROOT / "services/nlp/models/encoder"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tweet:
    tweet_id: str
    airline: str
    created_at: datetime
    user: str
    retweets: int
    text: str


def load_airline(data: Path) -> list[Tweet]:
    """The airline tweets (``<data>/airline_tweets/tweets.csv``), in file order."""
    out = []
    with (data / "airline_tweets" / "tweets.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            out.append(Tweet(row["tweet_id"], row["airline"],
                             datetime.strptime(row["created_at"], "%Y-%m-%d %H:%M:%S %z"),
                             row["user"], int(row["retweet_count"] or 0), row["text"]))
    return out


def embed_cached(texts: list[str], cache: Path, name: str, threads: int = 2) -> np.ndarray:
    """float32 [N, 384] e5 embeddings of ``texts`` (unit rows), from ``cache`` when the texts match."""
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    path = cache / f"{name}-{digest}.npy"
    if path.exists():
        return np.load(path)
    from dengar_nlp.adapters.encoder import OnnxEncoder

    enc = OnnxEncoder(ENCODER_DIR, threads=threads)
    t0 = time.perf_counter()
    emb = enc.encode(texts)
    logger.info("embedded %d texts in %.1f s", len(texts), time.perf_counter() - t0)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, emb)
    return emb
