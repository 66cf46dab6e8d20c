"""Emerging topics on real posts: the airline tweets (one listening query per airline) and the demo stream.

    .venv/bin/python bench/topics_airlines.py --data ../shared/data --cache /tmp/dengar-topics-cache
    .venv/bin/python bench/topics_airlines.py --data ../shared/data --cache DIR --calibrate

The tweets are embedded once with the committed NLP encoder (services/nlp/models/encoder) in-process
and cached under ``--cache`` (outside the repository; never commit it). Each tweet becomes a
mention with its int8 vector, tagged with its airline as the listening query; the tweets carry no
sentiment labels, so every sentiment is ``neutral`` here. The insights use case
(``TopicsEngine``) then runs on in-memory ports, for every airline and tenant-wide, on two
consecutive windows (``--window-days``, ending at ``--end``): first the earlier one, then the later
one, so the second answer shows which topic ids the registry carried over and each topic's growth.

The demo stream (``dengar_cli.demo``, the posts ``make run`` feeds) is embedded and reported the
same way, per demo brand.

``--calibrate`` measures the registry's matching threshold (``emerging.MATCH_THRESHOLD``): the
tweets of a window are split into random halves, and a window is also compared with the one
before it; each part is clustered, the posts of one part are assigned to the other part's nearest
centroid and back, and two topics with a mutual majority are "the same topic". It prints the
cosine of same-topic centroid pairs and, for every topic, its best cosine to a *different* topic.
Writes nothing into the repository unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from topics_data import embed_cached, load_airline

from dengar_common.embedding import quantize, stack
from dengar_insights.domain.insight.emerging import (
    RegistryEntry,
    TopicPost,
    background_of,
    center,
    centroids_of,
    k_candidates,
    match,
    sample_ids,
)
from dengar_insights.domain.insight.topics import discover_topics
from dengar_insights.service_layer.topics import TopicsEngine, TopicsRequest, TopicsResult

TENANT = "airlines"


class MemoryReads:
    """``TopicReads`` over a list of (post, query ids)."""

    def __init__(self, posts: Sequence[tuple[TopicPost, tuple[str, ...]]]) -> None:
        self._posts = list(posts)

    def _in(self, start: datetime, end: datetime, query_id: str | None) -> list[TopicPost]:
        return [p for p, q in self._posts if start <= p.created_at < end and p.embedding
                and (query_id is None or query_id in q)]

    async def window(self, tenant_id: str, start: datetime, end: datetime, query_id: str | None,
                     cap: int) -> tuple[list[TopicPost], int]:
        found = self._in(start, end, query_id)
        keep = set(sample_ids([p.id for p in found], cap))
        return [p for p in found if p.id in keep], len(found)


class MemoryRegistry:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], tuple[list[RegistryEntry], int]] = {}

    async def load(self, tenant_id: str, scope: str) -> tuple[list[RegistryEntry], int]:
        return self.data.get((tenant_id, scope), ([], 0))

    async def save(self, tenant_id: str, scope: str, entries: Sequence[RegistryEntry], rev: int) -> bool:
        if self.data.get((tenant_id, scope), ([], 0))[1] != rev:
            return False
        self.data[(tenant_id, scope)] = (list(entries), rev + 1)
        return True


def topic_lines(result: TopicsResult, known: set[str]) -> list[str]:
    out = []
    for t in result.topics:
        rel = f"{t.relative_change:+.0%}" if t.relative_change is not None else "n/a"
        carried = "same id" if t.id in known else "new id"
        out.append(f"  {t.status:8s} {t.volume:5d} (prev {t.previous_volume:5d}, {rel:>6s}) "
                   f"{', '.join(t.keywords[:5])}  [{t.id}, {carried}]")
    return out


def topic_json(result: TopicsResult) -> list[dict[str, Any]]:
    return [{"id": t.id, "keywords": list(t.keywords[:6]), "volume": t.volume,
             "previous_volume": t.previous_volume, "relative_change": t.relative_change,
             "status": t.status, "representative": t.representatives[0].snippet
             if t.representatives else ""} for t in result.topics]


async def report(posts: list[tuple[TopicPost, tuple[str, ...]]], scopes: list[str | None],
                 end: datetime, length: timedelta, limit: int, title: str) -> dict[str, Any]:
    engine = TopicsEngine(MemoryReads(posts), MemoryRegistry())
    out: dict[str, Any] = {}
    print(f"\n## {title}: window {end - length:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}, "
          f"previous {end - 2 * length:%Y-%m-%d %H:%M} to {end - length:%Y-%m-%d %H:%M}")
    for scope in scopes:
        earlier = await engine.topics(TopicsRequest(TENANT, end - 2 * length, end - length, scope, 50))
        t0 = time.perf_counter()
        later = await engine.topics(TopicsRequest(TENANT, end - length, end, scope, limit))
        seconds = time.perf_counter() - t0
        known = {t.id for t in earlier.topics}
        carried = sum(t.id in known for t in later.topics)
        print(f"\n### {scope or 'all'}: {later.volume} mentions (previous {later.previous_volume}), "
              f"{'estimated, ' if later.estimated else ''}{seconds:.2f} s; "
              f"{carried}/{len(later.topics)} ids carried over from the previous window's answer")
        print("\n".join(topic_lines(later, known)))
        out[scope or "all"] = {"volume": later.volume, "previous_volume": later.previous_volume,
                               "seconds": round(seconds, 3), "ids_carried": carried,
                               "topics": topic_json(later)}
    return out


# --- calibration -------------------------------------------------------------------------------


def _cluster(x: np.ndarray, texts: list[str], seed: int) -> np.ndarray:
    r = discover_topics(texts, x, seed=seed, k_candidates=k_candidates(len(texts)))
    return centroids_of(r.topics, r.labels, x)


def _same_pairs(xa: np.ndarray, ca: np.ndarray, xb: np.ndarray, cb: np.ndarray) -> set[tuple[int, int]]:
    """(i, j) with a mutual majority: most of B's topic j goes to A's i and vice versa."""
    b_to_a = np.argmax(xb @ ca.T, axis=1)
    b_lab = np.argmax(xb @ cb.T, axis=1)
    a_to_b = np.argmax(xa @ cb.T, axis=1)
    a_lab = np.argmax(xa @ ca.T, axis=1)
    out = set()
    for i in range(ca.shape[0]):
        for j in range(cb.shape[0]):
            in_j = b_lab == j
            in_i = a_lab == i
            if in_j.sum() and in_i.sum() and np.mean(b_to_a[in_j] == i) > 0.5 \
                    and np.mean(a_to_b[in_i] == j) > 0.5:
                out.add((i, j))
    return out


THRESHOLDS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def calibrate(x: np.ndarray, texts: list[str], times: list[datetime], airlines: list[str],
              end: datetime, length: timedelta) -> dict[str, Any]:
    """Same-topic and different-topic centroid cosines (raw and centred), and how well the greedy
    one-to-one matching at each threshold recovers the same-topic pairs."""
    rng = np.random.default_rng(0)
    cur = [i for i, t in enumerate(times) if end - length <= t < end]
    prev = [i for i, t in enumerate(times) if end - 2 * length <= t < end - length]
    perm = [int(i) for i in rng.permutation(cur)]
    parts = [("halves", perm[: len(perm) // 2], perm[len(perm) // 2:]), ("consecutive", prev, cur)]
    for name in sorted(set(airlines)):
        parts.append((f"consecutive {name}", [i for i in prev if airlines[i] == name],
                      [i for i in cur if airlines[i] == name]))
    dist: dict[str, dict[str, list[float]]] = {"raw": {"same": [], "different": []},
                                               "centred": {"same": [], "different": []}}
    sweep = {t: {"true": 0, "false": 0, "pairs": 0} for t in THRESHOLDS}
    for seed in (0, 1):
        for _, a, b in parts:
            if min(len(a), len(b)) < 20:
                continue
            xa, xb = x[a], x[b]
            ca = _cluster(xa, [texts[i] for i in a], seed)
            cb = _cluster(xb, [texts[i] for i in b], seed + 10)
            pairs = _same_pairs(xa, ca, xb, cb)
            mu = background_of(xa, xb)
            for kind, bg in (("raw", None), ("centred", mu)):
                sims = center(ca, bg) @ center(cb, bg).T
                dist[kind]["same"] += [float(sims[i, j]) for i, j in pairs]
                for i in range(ca.shape[0]):
                    diff = [float(sims[i, j]) for j in range(cb.shape[0]) if (i, j) not in pairs]
                    if diff:
                        dist[kind]["different"].append(max(diff))
            for t in THRESHOLDS:
                found = set(match(ca, cb, t, mu).items())
                sweep[t]["true"] += len(found & pairs)
                sweep[t]["false"] += len(found - pairs)
                sweep[t]["pairs"] += len(pairs)
    pct = (5, 50, 95)
    out: dict[str, Any] = {}
    for kind, d in dist.items():
        out[kind] = {k: {"n": len(v), **{f"p{p}": round(float(np.percentile(v, p)), 3) for p in pct},
                         "min": round(min(v), 3), "max": round(max(v), 3)} for k, v in d.items()}
    out["greedy_centred"] = {
        str(t): {"recall": round(v["true"] / max(v["pairs"], 1), 3),
                 "precision": round(v["true"] / max(v["true"] + v["false"], 1), 3),
                 "wrong_matches": v["false"]} for t, v in sweep.items()}
    return out


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True, help="embedding cache, outside the repo")
    ap.add_argument("--end", default="2015-02-24T12:00:00+00:00")
    ap.add_argument("--window-days", type=float, default=3.0)
    ap.add_argument("--limit", type=int, default=6)
    ap.add_argument("--demo-posts", type=int, default=3000)
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    end = datetime.fromisoformat(args.end)
    length = timedelta(days=args.window_days)

    tweets = load_airline(args.data)
    emb = embed_cached([t.text for t in tweets], args.cache, "airline")
    posts = [(TopicPost(t.tweet_id, t.created_at.astimezone(UTC), t.text, "neutral", (),
                        quantize(v), t.user, t.retweets), (t.airline,))
             for t, v in zip(tweets, emb, strict=True)]
    results: dict[str, Any] = {"cpu": _cpu()}
    airlines = sorted({t.airline for t in tweets})
    results["airlines"] = asyncio.run(report(posts, [None, *airlines], end, length, args.limit,
                                             "Airline tweets"))
    if args.calibrate:
        x, _ = stack([p.embedding for p, _ in posts])
        cal = calibrate(x, [p.text for p, _ in posts], [p.created_at for p, _ in posts],
                        [t.airline for t in tweets], end, length)
        print("\n## Threshold calibration\n" + json.dumps(cal, indent=2))
        results["calibration"] = cal
    if args.demo_posts:
        results["demo"] = asyncio.run(demo(args.cache, args.demo_posts, args.limit))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


async def demo(cache: Path, n: int, limit: int) -> dict[str, Any]:
    from dengar_cli.demo import demo_queries, generate_demo_posts
    from dengar_cli.run_local import demo_period
    from dengar_common.query import MatchDoc, compile_query

    start, end = demo_period()
    raw = [p for p in generate_demo_posts(n, seed=7)
           if start <= datetime.fromisoformat(p["created_at"]) < end]
    queries = [(q["name"], compile_query(q["expression"])) for q in demo_queries()]
    emb = embed_cached([p["text"] for p in raw], cache, "demo")
    posts = []
    for i, (p, v) in enumerate(zip(raw, emb, strict=True)):
        doc = MatchDoc.build(p["text"], platform=p.get("platform", ""), lang=p.get("lang", ""),
                             author=(p.get("author") or {}).get("handle", ""))
        tags = tuple(name for name, q in queries if q.matches(doc))
        posts.append((TopicPost(f"d{i}", datetime.fromisoformat(p["created_at"]).astimezone(UTC),
                                p["text"], "neutral", (), quantize(v)), tags))
    half = (end - start) / 2
    return await report(posts, [None, *(name for name, _ in queries)], end, half, limit,
                        "Demo stream")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f", {os.cpu_count()} logical cores"
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
