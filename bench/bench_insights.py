"""Insight engine benchmark: does a brief cost the same when the tenant stores 10x more posts?

    .venv/bin/python bench/bench_insights.py --out bench/results
    .venv/bin/python bench/bench_insights.py --posts 10000 --factor 10 --repeats 9   # bigger

Writes ``<out>/insights.json`` and ``<out>/insights.md``.

Issue 9 asks that the insight engine's cost grow with the number of buckets and the size of the
window, not with the tenant's total posts. This benchmark stores the same analysed posts twice, in
two databases of one real SecantusDB (``secantusd``, started here on a free port):

* **1x**: ``--posts`` generated mentions (default 2,000) in the 14 days the requests read: the
  brief's 7-day period and the 7 days before it (the previous period of the comparison and the
  hourly spike history). A negative delivery spike, a fee-hike wave and a copy-paste campaign are
  planted in the period, so that spikes are found and explained (samples and evidence are read).
* **10x**: the same posts plus ``(factor - 1) x --posts`` more from the same generator (with their
  own planted incidents) spread over the ~3 months that end 60 days before the analysed 14 days:
  outside the period, the previous period and the 35 days of daily history the day series reads.

Posts are prepared by the insights service's own code: each generated ``dengar.v1.EnrichedPost``
is validated and turned into a mention by ``prepare_enriched`` (what the NATS consumer does), and
its rollup increments come from the domain's ``delta``. They are then written in bulk
(``bulk_load``: ``insert_many`` of the settled mention documents, one ``RollupRepository.apply``
per bucket) rather than one by one through ``MentionIngestor``: on SecantusDB the ingest protocol's
``{tenant_id, _id}`` writes are collection scans, so 20,000 posts through it would take far longer
than the benchmark itself. First, ``--check-posts`` posts are stored both ways into scratch
databases and the benchmark fails unless the mentions and rollups come out the same. NLP does
not run: sentiment, language and aspects are set by the generator, and the near-duplicate keys are
computed with the NLP service's ``MinHasher`` (pure code). NATS is not involved.

What is measured: the insight engine use case (``InsightEngine``) on the service's MongoDB adapters
(``MongoRollupReads``, ``MongoMentionReads``), i.e. the whole read path of GetBrief, GetSpikes and
ComparePeriods without the gRPC/REST framing (constant per request):

* ``brief``: tenant-wide brief of the 7-day period (hourly; the tenant and two brand/competitor
  queries as scopes), English;
* ``brief_query``: the same for the brand query only;
* ``spikes_hour_negative``: hourly negative-mention spikes of the period, explained;
* ``spikes_day_volume``: daily volume spikes of the period (35 days of daily history);
* ``compare``: the period against the previous one, with share of voice.

Each request runs ``--warmup`` times on each database, then ``--repeats`` rounds that alternate
1x and 10x (so that load on the shared machine hits both alike). The headline is the ratio of the
medians, 10x / 1x (target <= 1.2); absolute times depend on the machine and its load and are only
context. The benchmark also checks that both databases give the same answers (cards, spikes,
comparison): the extra posts are outside everything the requests read, so any difference would
be a bug. The load average before and after is recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _sub in ("libs", "services/insights", "services/nlp"):
    if str(ROOT / _sub) not in sys.path:
        sys.path.insert(0, str(ROOT / _sub))

from dengar.v1 import common_pb2  # noqa: E402
from dengar_common.enums import platform_name  # noqa: E402
from dengar_common.ids import mention_id  # noqa: E402
from dengar_common.localinfra import start_secantus  # noqa: E402
from dengar_common.mongo import make_client  # noqa: E402
from dengar_insights.adapters.insight_reads import MongoMentionReads, MongoRollupReads  # noqa: E402
from dengar_insights.adapters.mentions import MentionRepository  # noqa: E402
from dengar_insights.adapters.rollups import RollupRepository  # noqa: E402
from dengar_insights.domain.rollups import EMPTY, delta  # noqa: E402
from dengar_insights.entrypoints.protos import prepare_enriched  # noqa: E402
from dengar_insights.service_layer.ingest import MentionIngestor, new_op  # noqa: E402
from dengar_insights.service_layer.insight_engine import (  # noqa: E402
    BriefRequest,
    CompareRequest,
    InsightEngine,
    QueryRef,
    SpikesRequest,
)
from dengar_nlp.domain.neardup import MinHasher  # noqa: E402

SEED = 20261202
TENANT = "bench"
BRAND, RIVAL = "q_brand00000000001", "q_rival00000000002"
QUERIES = (QueryRef(BRAND, "Lintas", "brand"), QueryRef(RIVAL, "Cepatin", "competitor"))
# The period every request analyses; the 1x posts cover it and the 7 days before it.
END = datetime(2026, 10, 29, tzinfo=UTC)
PERIOD = timedelta(days=7)
ANALYSED_START = END - 2 * PERIOD
# The extra posts end this long before the analysed days: beyond the 35 days of daily history.
EXTRA_GAP = timedelta(days=60)
EXTRA_SPAN = timedelta(days=91)
INGEST_BATCH = 500

NEG, NEU, POS = common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_NEUTRAL, common_pb2.SENTIMENT_POSITIVE
PLATFORMS = [common_pb2.PLATFORM_X, common_pb2.PLATFORM_TIKTOK, common_pb2.PLATFORM_INSTAGRAM,
             common_pb2.PLATFORM_FACEBOOK]
ASPECTS = ["delivery", "price", "app", "customer_service", "product_quality"]
BRANDS = {BRAND: "Lintas", RIVAL: "Cepatin"}
HASHTAGS = ["promo", "viral", "kuliner", "belanja", "ongkir", "fyp", "diskon"]
TEXTS = {
    ("en", POS): ["Great service from {b} today, the courier was friendly {n}",
                  "Love the new {b} app update, checkout is so fast {n}",
                  "{b} delivered early again, really happy with it {n}",
                  "Good price on {b} this week, recommended {n}"],
    ("en", NEU): ["Has anyone tried {b} for sending documents? {n}",
                  "Ordering lunch with {b}, let's see {n}",
                  "{b} or the other one for groceries tonight? {n}",
                  "Checking my {b} order status {n}"],
    ("en", NEG): ["{b} app keeps crashing when I pay {n}",
                  "Customer service of {b} never answers the chat {n}",
                  "The item from {b} arrived broken {n}",
                  "{b} charged me twice for one order {n}"],
    ("id", POS): ["Pengiriman {b} cepat banget, kurirnya ramah {n}",
                  "Aplikasi {b} makin enak dipakai, mantap {n}",
                  "Promo {b} hari ini murah, puas deh {n}",
                  "Pesanan {b} sampai lebih awal, keren {n}"],
    ("id", NEU): ["Ada yang pernah pakai {b} buat kirim dokumen? {n}",
                  "Lagi pesan makan siang lewat {b} {n}",
                  "Mau cek status pesanan {b} dulu {n}",
                  "{b} atau yang lain ya buat belanja bulanan {n}"],
    ("id", NEG): ["Aplikasi {b} error terus pas bayar {n}",
                  "CS {b} gak balas chat dari kemarin {n}",
                  "Barang dari {b} datang rusak {n}",
                  "Saldo {b} kepotong dua kali {n}"],
}
DELIVERY_SPIKE = ["Paket {b} belum sampai, pengiriman telat parah {n}",
                  "Pengiriman {b} telat lagi, kurir hilang kabar {n}",
                  "My {b} package is not delivered, delivery late again {n}",
                  "{b} delivery late and the tracking has not moved {n}"]
FEE_WAVE = ["Ongkir {b} naik lagi, mahal banget sekarang {n}",
            "Biaya layanan {b} naik, gak masuk akal {n}",
            "{b} raised the service fee again, too expensive {n}",
            "Why is the {b} delivery fee so expensive now {n}"]
CAMPAIGN = "Jangan pakai {b}, ongkir mahal dan paket sering hilang! Pindah ke yang lain aja #Boikot{b}"


# --- generated mentions ----------------------------------------------------------------------------


class Generator:
    """Seeded enriched posts: background traffic with a daily cycle, plus planted incidents."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.hasher = MinHasher()
        self.n = 0

    def post(self, created_at: datetime, *, query_id: str | None = None, lang: str | None = None,
             sentiment: int | None = None, text: str | None = None, aspect: str | None = None,
             author: str | None = None, hashtags: tuple[str, ...] = ()) -> common_pb2.EnrichedPost:
        rng = self.rng
        self.n += 1
        qid = query_id or rng.choices([BRAND, RIVAL], weights=[60, 40])[0]
        lang = lang or rng.choice(["en", "id"])
        sentiment = sentiment if sentiment is not None else rng.choices([NEG, NEU, POS],
                                                                         weights=[25, 45, 30])[0]
        if text is None:
            text = rng.choice(TEXTS[(lang, sentiment)]).format(b=BRANDS[qid], n=f"#{self.n}")
            if rng.random() < 0.2:
                hashtags = (rng.choice(HASHTAGS),)
                text += f" #{hashtags[0]}"
        if aspect is None and sentiment != NEU and rng.random() < 0.6:
            aspect = rng.choice(ASPECTS)
        plat = rng.choices(PLATFORMS, weights=[60, 15, 15, 10])[0]
        external_id = f"p{self.n}"
        post = common_pb2.Post(
            id=mention_id(TENANT, platform_name(plat), external_id), tenant_id=TENANT, platform=plat,
            external_id=external_id, text=text, query_ids=[qid],
            author=common_pb2.Author(id="", handle=author or f"user{rng.randrange(3000)}"),
            engagement=common_pb2.Engagement(likes=rng.randrange(50), reposts=rng.randrange(5)))
        post.created_at.FromDatetime(created_at)
        post.collected_at.FromDatetime(created_at + timedelta(minutes=1))
        probs = {NEG: (0.8, 0.1, 0.1), NEU: (0.1, 0.8, 0.1), POS: (0.1, 0.1, 0.8)}[sentiment]
        enrichment = common_pb2.Enrichment(
            language=lang, language_confidence=0.95,
            sentiment=common_pb2.SentimentResult(label=sentiment, negative=probs[0], neutral=probs[1],
                                                 positive=probs[2]),
            aspects=[common_pb2.AspectResult(name=aspect, polarity=sentiment, confidence=0.9)]
            if aspect else [],
            hashtags=list(hashtags), neardup_keys=self.hasher.keys_for_text(text),
            model_version="bench")
        return common_pb2.EnrichedPost(post=post, enrichment=enrichment)

    def _background_time(self, start: datetime, span: timedelta) -> datetime:
        """A time in [start, start + span) with a daily cycle (quiet nights, busy evenings)."""
        rng = self.rng
        while True:
            t = start + timedelta(seconds=rng.random() * span.total_seconds())
            if rng.random() < 0.3 + 0.7 * abs((t.hour - 3) % 24 - 12) / 12:
                return t

    def period(self, start: datetime, span: timedelta, n: int) -> list[common_pb2.EnrichedPost]:
        """``n`` posts in [start, start + span): background plus three incidents in its last week."""
        rng = self.rng
        incident_day = start + span - PERIOD
        spike = max(30, n * 6 // 100)
        wave = max(20, n * 4 // 100)
        campaign = 15
        out: list[common_pb2.EnrichedPost] = []
        # A delivery outage: three hours of negative delivery complaints about the brand.
        t0 = incident_day + timedelta(days=2, hours=9)
        for k in range(spike):
            lang = "id" if k % 4 < 2 else "en"
            out.append(self.post(t0 + timedelta(seconds=rng.random() * 3 * 3600), query_id=BRAND,
                                 lang=lang, sentiment=NEG, aspect="delivery",
                                 text=DELIVERY_SPIKE[k % 4].format(b="Lintas", n=f"resi{self.n + 1}")))
        # A fee-hike complaint wave over a day.
        t1 = incident_day + timedelta(days=4, hours=6)
        for k in range(wave):
            out.append(self.post(t1 + timedelta(seconds=rng.random() * 18 * 3600), query_id=BRAND,
                                 lang="id" if k % 4 < 2 else "en", sentiment=NEG, aspect="price",
                                 text=FEE_WAVE[k % 4].format(b="Lintas", n=f"#{self.n + 1}")))
        # A copy-paste campaign: distinct authors, near-identical text, 40 minutes.
        t2 = incident_day + timedelta(days=5, hours=13)
        for k in range(campaign):
            text = CAMPAIGN.format(b="Lintas") + ("!" * (k % 3)) + (f" {k}" if k % 2 else "")
            out.append(self.post(t2 + timedelta(minutes=rng.random() * 40), query_id=BRAND, lang="id",
                                 sentiment=NEG, aspect="price", text=text, author=f"camp{k}",
                                 hashtags=("boikotlintas",)))
        for _ in range(max(0, n - len(out))):
            out.append(self.post(self._background_time(start, span)))
        return out[:n]


def _stable(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document without what differs between two writes of the same post."""
    volatile = {"ops", "lanes", "trace_id", "first_seen_at", "updated_at", "rollups_at", "rev"}
    return {k: v for k, v in doc.items() if k not in volatile}


async def ingest(ingestor: MentionIngestor, posts: list[common_pb2.EnrichedPost]) -> float:
    """Store ``posts`` through the ingest use case, oldest first (as a stream delivers them); the
    seconds it took."""
    posts = sorted(posts, key=lambda p: (p.post.created_at.seconds, p.post.created_at.nanos))
    start = time.perf_counter()
    for i in range(0, len(posts), INGEST_BATCH):
        items = [(prepare_enriched(p), "") for p in posts[i:i + INGEST_BATCH]]
        results = await ingestor.ingest_batch(items)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise SystemExit(f"ingest failed: {failed[0]!r}")
    return time.perf_counter() - start


async def bulk_load(db: Any, posts: list[common_pb2.EnrichedPost]) -> float:
    """Store ``posts`` as the ingest use case leaves them once settled, in bulk; the seconds it took.

    Each post is validated and prepared by ``prepare_enriched`` and its rollup increments come from
    the domain's ``delta(EMPTY, contribution)``, as in ingest; but the mentions go in with one
    ``insert_many`` per 1,000 and each rollup bucket gets one ``RollupRepository.apply`` with the
    summed increments, instead of the exactly-once protocol's per-post writes. On SecantusDB those
    writes (``{tenant_id, _id}`` filters) are collection scans, which makes ingest quadratic: a few
    thousand posts take minutes. ``check_bulk_load`` shows that both give the same documents.
    """
    start = time.perf_counter()
    prepared = [prepare_enriched(p) for p in posts]
    now = datetime.now(UTC)
    mentions = db["mentions"]
    docs = [{"_id": m.id, **m.fields, "trace_id": "", "content_hash": m.content_hash, "first_seen_at": now,
             "updated_at": now, "rev": 2, "contribution": m.contribution.to_doc(), "rollups_at": now}
            for m in prepared]
    for i in range(0, len(docs), 1000):
        await mentions.insert_many(docs[i:i + 1000], ordered=False)
    per_bucket: dict[str, Counter[str]] = defaultdict(Counter)
    for m in prepared:
        for bucket, incs in delta(EMPTY, m.contribution).items():
            per_bucket[bucket].update(incs)
    rollups = RollupRepository(db)
    for bucket, incs in sorted(per_bucket.items()):
        await rollups.apply(TENANT, bucket, new_op(), {k: n for k, n in incs.items() if n})
    return time.perf_counter() - start


async def check_bulk_load(client: Any, posts: list[common_pb2.EnrichedPost]) -> int:
    """Store ``posts`` both ways into two scratch databases; fail unless the mentions and rollups
    are the same. Returns how many posts were compared."""
    dbs = [client["bench_insights_check_ingest"], client["bench_insights_check_bulk"]]
    for db in dbs:
        await MentionRepository(db).ensure_indexes()
        await RollupRepository(db).ensure_indexes()
    await ingest(MentionIngestor(MentionRepository(dbs[0]), RollupRepository(dbs[0])), posts)
    await bulk_load(dbs[1], posts)
    for col in ("mentions", "rollups"):
        a, b = [[_stable(d) for d in await db[col].find({}).sort("_id", 1).to_list()] for db in dbs]
        if a != b:
            raise SystemExit(f"bulk load and the ingest use case disagree on {col}")
    for db in dbs:
        await client.drop_database(db.name)
    return len(posts)


# --- measurement -----------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpu_model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_model": cpu_model, "logical_cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version()}


def requests(engine: InsightEngine) -> dict[str, Callable[[], Awaitable[Any]]]:
    """The measured calls; each returns what must be equal at 1x and 10x."""
    start = END - PERIOD

    async def brief() -> Any:
        r = await engine.brief(BriefRequest(TENANT, start, END, queries=QUERIES, limit=10))
        return r.cards

    async def brief_query() -> Any:
        r = await engine.brief(BriefRequest(TENANT, start, END, query_id=BRAND, queries=QUERIES))
        return r.cards

    async def spikes_hour() -> Any:
        r = await engine.spikes(SpikesRequest(TENANT, start, END, interval="hour", metric="negative"))
        return r.spikes, r.confidence, sorted(r.evidence)

    async def spikes_day() -> Any:
        r = await engine.spikes(SpikesRequest(TENANT, start, END, interval="day", metric="volume"))
        return r.spikes, r.confidence, sorted(r.evidence)

    async def compare() -> Any:
        return await engine.compare(CompareRequest(TENANT, start, END, queries=QUERIES))

    return {"brief": brief, "brief_query": brief_query, "spikes_hour_negative": spikes_hour,
            "spikes_day_volume": spikes_day, "compare": compare}


def summarise_answers(answers: dict[str, Any]) -> dict[str, Any]:
    cards = answers["brief"]
    spikes, confidence, _ = answers["spikes_hour_negative"]
    return {
        "brief_cards": [f"{c.type}: {c.title}" for c in cards],
        "spikes_hour_negative": [
            {"start": f.explained.spike.start.isoformat(), "observed": f.explained.spike.observed,
             "expected": round(f.explained.spike.expected, 2), "severity": f.explained.spike.severity,
             "drivers": [f"{d.kind}:{d.value}" for d in f.explained.drivers[:5]]}
            for f in spikes],
        "spikes_hour_confidence": confidence,
        "spikes_day_volume": len(answers["spikes_day_volume"][0]),
    }


async def measure(posts: int, factor: int, repeats: int, warmup: int, seed: int,
                  check_posts: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-insights-"))
    server = start_secantus(tmp / "mongo", log_dir=tmp)
    client = make_client(f"mongodb://127.0.0.1:{server.port}/?directConnection=true", app_name="bench")
    try:
        gen = Generator(seed)
        analysed = gen.period(ANALYSED_START, END - ANALYSED_START, posts)
        extra_start = ANALYSED_START - EXTRA_GAP - EXTRA_SPAN
        extra = gen.period(extra_start, EXTRA_SPAN, (factor - 1) * posts)
        checked = await check_bulk_load(client, gen.period(ANALYSED_START - timedelta(days=400),
                                                          timedelta(days=14), check_posts))
        engines: dict[str, InsightEngine] = {}
        ingest_s: dict[str, float] = {}
        stored: dict[str, int] = {}
        for name, docs in (("1x", analysed), (f"{factor}x", analysed + extra)):
            db = client[f"bench_insights_{name}"]
            mentions, rollups = MentionRepository(db), RollupRepository(db)
            await mentions.ensure_indexes()
            await rollups.ensure_indexes()
            ingest_s[name] = await bulk_load(db, docs)
            stored[name] = await db["mentions"].count_documents({"tenant_id": TENANT})
            engines[name] = InsightEngine(MongoRollupReads(rollups), MongoMentionReads(db))
        calls = {name: requests(engine) for name, engine in engines.items()}
        names = list(engines)

        load_before = os.getloadavg()
        answers: dict[str, dict[str, Any]] = {name: {} for name in names}
        for req in calls[names[0]]:
            for name in names:
                for _ in range(warmup):
                    answers[name][req] = await calls[name][req]()
        times: dict[str, dict[str, list[float]]] = {req: {name: [] for name in names}
                                                    for req in calls[names[0]]}
        for i in range(repeats):
            for req in times:
                # Alternate which size goes first, so neither is always the warmer one.
                for name in (names if i % 2 == 0 else names[::-1]):
                    t = time.perf_counter()
                    await calls[name][req]()
                    times[req][name].append(time.perf_counter() - t)
        load_after = os.getloadavg()

        same = {req: repr(answers[names[0]][req]) == repr(answers[names[1]][req]) for req in times}
        results = {}
        for req, by in times.items():
            one, ten = statistics.median(by[names[0]]), statistics.median(by[names[1]])
            results[req] = {
                "median_ms_1x": round(one * 1000, 1), f"median_ms_{factor}x": round(ten * 1000, 1),
                "best_ms_1x": round(min(by[names[0]]) * 1000, 1),
                f"best_ms_{factor}x": round(min(by[names[1]]) * 1000, 1),
                "ratio_median": round(ten / one, 3),
                "ratio_best": round(min(by[names[1]]) / min(by[names[0]]), 3),
                "same_answer": same[req],
            }
        return {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seed": seed,
            "machine": machine_info(),
            "load_avg_before": [round(x, 2) for x in load_before],
            "load_avg_after": [round(x, 2) for x in load_after],
            "store": "SecantusDB (secantusd-py), one server, one database per size",
            "posts_analysed_span": posts,
            "factor": factor,
            "stored_mentions": stored,
            "bulk_load_posts_per_s": {k: round(stored[k] / v) for k, v in ingest_s.items()},
            "bulk_load_checked_against_ingest_posts": checked,
            "period": {"start": (END - PERIOD).isoformat(), "end": END.isoformat()},
            "analysed_span": {"start": ANALYSED_START.isoformat(), "end": END.isoformat()},
            "extra_span": {"start": extra_start.isoformat(),
                           "end": (extra_start + EXTRA_SPAN).isoformat()},
            "repeats": repeats,
            "warmup": warmup,
            "requests": results,
            "max_ratio_median": max(r["ratio_median"] for r in results.values()),
            "all_answers_same": all(same.values()),
            "answers_1x": summarise_answers(answers[names[0]]),
        }
    finally:
        await client.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# --- output ----------------------------------------------------------------------------------------

DESCRIPTIONS = {
    "brief": "brief, tenant-wide (3 scopes, hourly)",
    "brief_query": "brief, one query",
    "spikes_hour_negative": "spikes, hourly, negative",
    "spikes_day_volume": "spikes, daily, volume",
    "compare": "compare with share of voice",
}


def markdown(r: dict[str, Any]) -> str:
    m, f = r["machine"], r["factor"]
    one, ten = r["stored_mentions"]["1x"], r["stored_mentions"][f"{f}x"]
    rows = "\n".join(
        f"| {DESCRIPTIONS[req]} | **{x['ratio_median']:.2f}** | {x['ratio_best']:.2f} | "
        f"{x['median_ms_1x']:,} | {x[f'median_ms_{f}x']:,} | {'yes' if x['same_answer'] else '**no**'} |"
        for req, x in r["requests"].items())
    cards = "\n".join(f"  {i}. {c}" for i, c in enumerate(r["answers_1x"]["brief_cards"], 1))
    verdict = "within" if r["max_ratio_median"] <= 1.2 else "**over**"
    return f"""# Insight engine benchmarks

Generated by `bench/bench_insights.py` (`make bench-insights`); see its docstring for the method.

## Cost against stored posts

The same requests on {one:,} stored mentions (1x: the brief's 7-day period and the 7 days before it)
and on {ten:,} ({f}x: the same plus {ten - one:,} posts 60 to 150 days earlier, outside anything the
requests read). SecantusDB (`secantusd-py`) on this machine, the insight engine use case on the
service's MongoDB adapters, in-process; posts prepared by the ingest code and stored in bulk (no NLP;
checked against the ingest use case on {r['bulk_load_checked_against_ingest_posts']} posts).
{m["cpu_model"]}, {m["logical_cores"]} logical cores (shared with other work), Python {m["python"]},
{r["date"]}; load average before/after {r["load_avg_before"][0]} / {r["load_avg_after"][0]}.
Median and best of {r["repeats"]} alternating rounds after {r["warmup"]} warm-up calls each.

| request | ratio {f}x/1x (medians) | ratio (best) | median ms 1x | median ms {f}x | same answer |
|---|---:|---:|---:|---:|---|
{rows}

The largest median ratio is **{r["max_ratio_median"]:.2f}**, {verdict} the target of 1.2. Absolute
milliseconds are this machine under its load at the time, shown for context only; the ratios are
the result. Every answer at {f}x equals the one at 1x: {"yes" if r["all_answers_same"] else "**no**"}.

The brief found (1x, English):

{cards}
"""


def write(out: Path, result: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "insights.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n",
                                       encoding="utf-8")
    (out / "insights.md").write_text(markdown(result), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--posts", type=int, default=2_000,
                        help="mentions in the analysed 14 days (the 1x store)")
    parser.add_argument("--factor", type=int, default=10, help="total stored posts of the big store, as a "
                                                              "multiple of --posts")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--check-posts", type=int, default=150,
                        help="posts stored both through the ingest use case and in bulk, compared")
    args = parser.parse_args()
    if args.factor < 2:
        parser.error("--factor must be at least 2")
    result = asyncio.run(measure(args.posts, args.factor, args.repeats, args.warmup, args.seed,
                                 args.check_posts))
    write(args.out, result)
    for req, x in result["requests"].items():
        print(f"{req}: {x['ratio_median']:.2f}x ({x['median_ms_1x']} ms -> "
              f"{x[f'median_ms_{args.factor}x']} ms){'' if x['same_answer'] else ' ANSWER DIFFERS'}")
    print(f"max ratio {result['max_ratio_median']:.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
