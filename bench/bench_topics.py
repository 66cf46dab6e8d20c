"""Emerging-topics benchmark: 10,000 real posts with real embeddings, from the real store.

    .venv/bin/python bench/bench_topics.py --data ../shared/data --cache /tmp/dengar-topics-cache \
        --out bench/results                                   # make bench-topics

Writes ``<out>/topics.json`` and ``<out>/topics.md``.

Posts: the 14,485 airline tweets (``<data>/airline_tweets/tweets.csv``), embedded once with the
committed NLP encoder and cached under ``--cache`` (outside the repository). Each becomes an
enriched post with its int8 vector (``Enrichment.embedding_i8``) and is stored by the insights
service's own code (``prepare_enriched``) in bulk (``bench_insights.bulk_load``: the settled
documents the ingest protocol leaves, without its per-post writes) into one real SecantusDB.

Measured, with the topics use case (``TopicsEngine``) on the service's MongoDB adapters
(``MongoTopicReads``, ``MongoTopicRegistry``), in-process, BLAS pinned to one thread as the
service's entrypoint does:

* ``window_10k``: a window holding exactly ``--posts`` (10,000) of the tweets, the newest, and the
  previous window of the same length (the older tweets): two reads, two clusterings, growth,
  registry match and save. Also timed: the read of the 10,000 mentions alone, and the clustering
  alone on the same vectors.
* ``sampled_all``: all tweets in one window, beyond the 10,000 cap, so the hash sample path
  (list ids, pick, read by id) runs.

And the storage cost: the mean BSON size of a stored mention document with and without its
``embedding`` field. The load average before and after is recorded; absolute times depend on the
machine and its load.
"""

from __future__ import annotations

import os

# As the insights entrypoint does (dengar_insights/__main__.py): before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import bson  # noqa: E402
import numpy as np  # noqa: E402
from bench_insights import TENANT, bulk_load, machine_info  # noqa: E402
from topics_data import embed_cached, load_airline  # noqa: E402

from dengar.v1 import common_pb2  # noqa: E402
from dengar_common.embedding import quantize, stack  # noqa: E402
from dengar_common.ids import mention_id  # noqa: E402
from dengar_common.localinfra import start_secantus  # noqa: E402
from dengar_common.mongo import make_client  # noqa: E402
from dengar_insights.adapters.mentions import MentionRepository  # noqa: E402
from dengar_insights.adapters.rollups import RollupRepository  # noqa: E402
from dengar_insights.adapters.topic_store import MongoTopicReads, MongoTopicRegistry  # noqa: E402
from dengar_insights.domain.insight.emerging import k_candidates  # noqa: E402
from dengar_insights.domain.insight.topics import discover_topics  # noqa: E402
from dengar_insights.service_layer.topics import TopicsEngine, TopicsRequest  # noqa: E402

SENTIMENTS = (common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_NEUTRAL, common_pb2.SENTIMENT_POSITIVE)


def enriched_posts(tweets: list[Any], emb: np.ndarray, seed: int) -> list[common_pb2.EnrichedPost]:
    rng = np.random.default_rng(seed)
    out = []
    for t, v in zip(tweets, emb, strict=True):
        post = common_pb2.Post(
            id=mention_id(TENANT, "x", t.tweet_id), tenant_id=TENANT, platform=common_pb2.PLATFORM_X,
            external_id=t.tweet_id, text=t.text, query_ids=[f"q_{t.airline.lower().replace(' ', '')}"],
            author=common_pb2.Author(id=t.user, handle=t.user),
            engagement=common_pb2.Engagement(reposts=t.retweets))
        post.created_at.FromDatetime(t.created_at)
        post.collected_at.FromDatetime(t.created_at + timedelta(minutes=1))
        label = SENTIMENTS[int(rng.integers(3))]
        enr = common_pb2.Enrichment(
            language="en", language_confidence=0.99,
            sentiment=common_pb2.SentimentResult(label=label, negative=0.4, neutral=0.3, positive=0.3),
            embedding_i8=quantize(v), model_version="bench")
        out.append(common_pb2.EnrichedPost(post=post, enrichment=enr))
    return out


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    raw = load_airline(args.data)
    vectors = embed_cached([t.text for t in raw], args.cache, "airline")
    order = sorted(range(len(raw)), key=lambda i: (raw[i].created_at, raw[i].tweet_id))
    tweets, emb = [raw[i] for i in order], vectors[order]
    tmp = Path(tempfile.mkdtemp(prefix="bench-topics-"))
    server = start_secantus(tmp / "mongo", log_dir=tmp)
    client = make_client(f"mongodb://127.0.0.1:{server.port}/?directConnection=true", app_name="bench")
    try:
        db = client["bench_topics"]
        await MentionRepository(db).ensure_indexes()
        await RollupRepository(db).ensure_indexes()
        registry = MongoTopicRegistry(db)
        await registry.ensure_indexes()
        load_s = await bulk_load(db, enriched_posts(tweets, emb, args.seed))

        docs = await db["mentions"].find({"tenant_id": TENANT}).to_list()
        with_emb = [len(bson.encode(d)) for d in docs]
        without = [len(bson.encode({k: v for k, v in d.items() if k != "embedding"})) for d in docs]

        newest = tweets[-args.posts:]
        start = newest[0].created_at
        end = tweets[-1].created_at + timedelta(seconds=1)
        all_start = tweets[0].created_at
        reads = MongoTopicReads(db)
        engine = TopicsEngine(reads, registry)
        load_before = os.getloadavg()

        async def window() -> Any:
            return await engine.topics(TopicsRequest(TENANT, start, end, limit=10))

        async def sampled() -> Any:
            return await engine.topics(TopicsRequest(TENANT, all_start, end, limit=10))

        async def read_only() -> Any:
            return await reads.window(TENANT, start, end, None, args.posts)

        timings: dict[str, list[float]] = {"window_10k": [], "read_10k": [], "cluster_10k": [],
                                           "sampled_all": []}
        answers: dict[str, Any] = {}
        x, _ = stack([quantize(v) for v in emb[-args.posts:]])
        texts = [t.text for t in newest]
        for i in range(args.warmup + args.repeats):
            for name, call in (("window_10k", window), ("read_10k", read_only), ("sampled_all", sampled)):
                t0 = time.perf_counter()
                answers[name] = await call()
                if i >= args.warmup:
                    timings[name].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            discover_topics(texts, x, seed=0, k_candidates=k_candidates(len(texts)))
            if i >= args.warmup:
                timings["cluster_10k"].append(time.perf_counter() - t0)
        load_after = os.getloadavg()
        w, s = answers["window_10k"], answers["sampled_all"]
        return {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine_info(),
            "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "load_avg_before": [round(v, 2) for v in load_before],
            "load_avg_after": [round(v, 2) for v in load_after],
            "store": "SecantusDB (secantusd-py), in-process use case on the service's Mongo adapters",
            "stored_mentions": len(docs),
            "bulk_load_s": round(load_s, 1),
            "bson_bytes_per_mention": {
                "with_embedding_mean": round(statistics.mean(with_emb), 1),
                "without_embedding_mean": round(statistics.mean(without), 1),
                "added_mean": round(statistics.mean(with_emb) - statistics.mean(without), 1)},
            "repeats": args.repeats, "warmup": args.warmup,
            "seconds": {k: {"median": round(statistics.median(v), 3), "best": round(min(v), 3)}
                        for k, v in timings.items()},
            "window_10k": {"from": start.isoformat(), "to": end.isoformat(), "volume": w.volume,
                           "previous_volume": w.previous_volume, "sampled": w.sampled,
                           "estimated": w.estimated,
                           "topics": [{"keywords": list(t.keywords[:5]), "volume": t.volume,
                                       "previous_volume": t.previous_volume, "status": t.status}
                                      for t in w.topics]},
            "sampled_all": {"volume": s.volume, "sampled": s.sampled, "estimated": s.estimated,
                            "topics": [{"keywords": list(t.keywords[:5]), "volume": t.volume}
                                       for t in s.topics[:5]]},
        }
    finally:
        await client.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def markdown(r: dict[str, Any]) -> str:
    m, sec, b = r["machine"], r["seconds"], r["bson_bytes_per_mention"]
    w, s = r["window_10k"], r["sampled_all"]
    what = {
        "window_10k": f"topics of a {w['volume']:,}-mention window (+ previous window of "
                      f"{w['previous_volume']:,}), end to end",
        "read_10k": f"of which: reading the {w['volume']:,} mentions (projection)",
        "cluster_10k": "of which: clustering and labelling them (numpy)",
        "sampled_all": f"topics of all {s['volume']:,} (hash sample of {s['sampled']:,}; "
                       "previous window empty)",
    }
    rows = "\n".join(f"| {what[k]} | {'**' if k == 'window_10k' else ''}{sec[k]['median']}"
                     f"{'**' if k == 'window_10k' else ''} | {sec[k]['best']} |" for k in what)
    topics = "\n".join(f"| {', '.join(t['keywords'])} | {t['volume']:,} | {t['previous_volume']:,} | "
                       f"{t['status']} |" for t in w["topics"])
    return f"""# Emerging topics benchmark

Generated by `bench/bench_topics.py` (`make bench-topics`); see its docstring for the method.
{m['cpu_model']}, {m['logical_cores']} logical cores (shared with other work), Python {m['python']},
{r['date']}; load average before/after {r['load_avg_before'][0]} / {r['load_avg_after'][0]}.
BLAS threads: {r['blas_threads']}. {r['stored_mentions']:,} airline tweets stored with their
int8 e5 vectors in SecantusDB; median and best of {r['repeats']} runs after {r['warmup']} warm-up.

| what | median s | best s |
|---|---:|---:|
{rows}

Storage: a stored mention is {b['with_embedding_mean']:,} bytes of BSON on average with its
vector and {b['without_embedding_mean']:,} without: **+{b['added_mean']} bytes per mention**
(384 int8 components plus the BSON field overhead).

Topics of the 10,000-mention window (tenant-wide):

| keywords | volume | previous | status |
|---|---:|---:|---|
{topics}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True, help="embedding cache, outside the repo")
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20261202)
    args = ap.parse_args()
    result = asyncio.run(measure(args))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "topics.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / "topics.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
