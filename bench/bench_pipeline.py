"""Pipeline benchmark: what the platform keeps of NLP's throughput, and what each post costs the store.

    .venv/bin/python bench/bench_pipeline.py --out bench/results            # make bench-pipeline
    .venv/bin/python bench/bench_pipeline.py --label before --out bench/results

Starts the real platform (nats-server, SecantusDB and the four services as processes, as
``make run`` and the end-to-end tests do) in a temporary folder, with
``DENGAR_STORE_STATS_DIR`` set so that every service counts its store commands (PyMongo command
monitoring, libs/dengar_common/mongo.py). Posts are self-generated (English/Indonesian, two
listening queries: a brand and a competitor); nothing is read from ../shared/data. In one run:

1. **NLP only**: insights and NLP stopped, ``--nlp-posts`` posts go in through ``POST /v1/posts``
   (the collector publishes them); then NLP starts and drains them. Throughput: posts between the
   first and the last enriched message over that time.
2. **Insights catch-up**: insights starts and stores that backlog (its own throughput, context).
3. **End to end**: ``--e2e-posts`` posts through ``POST /v1/posts`` (``--batch`` per request,
   ``--concurrency`` requests in flight) until insights announced every one as stored (mention
   events). Throughput, the ratio e2e / NLP-only, the store operations per post by service and
   collection (commands = round trips, documents written, bytes of the write commands), the
   store's own disk writes per post (``/proc/<pid>/io``) and the CPU seconds per post of every
   process (``/proc/<pid>/stat``, children included).
4. **Latency**: ``--latency-posts`` single-post requests at half the measured e2e rate; ingest →
   queryable is the mention's ``rollups_at`` (written when its counts are in) minus the time its
   request was sent; split into stages by the times the ``collected`` and ``enriched`` streams
   stored the post and the mention's ``first_seen_at`` (insights' intent write).
   ``--latency-rate`` fixes the rate (to compare runs at the same load); ``--latency-only`` stops
   here and writes ``<out>/pipeline-latency-<label>.json`` instead of the results tables (an A/B:
   e.g. ``--latency-only --nlp-posts 100 --e2e-posts 200 --latency-rate 19.6``).
5. **Replicas** (``--replicas 2``): a second NLP and a second insights process join, and step 3
   runs again.
6. **10x**: the dashboard reads (timeseries, summary, share of voice, brief) over the last 7 days,
   ``--repeats`` times each at 1x, then ``9x`` as many settled mentions (with their rollups) are
   loaded directly into the store outside that window, and the reads run again: the ratio.

Writes ``<out>/pipeline.json`` (one entry per ``--label``, so a "before" and an "after" run sit
side by side) and ``<out>/pipeline.md``. The machine may be shared: the load average is recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as pyplatform
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
for _sub in ("libs", "services/insights"):
    if str(ROOT / _sub) not in sys.path:
        sys.path.insert(0, str(ROOT / _sub))

import nats  # noqa: E402
from pymongo import MongoClient, UpdateOne  # noqa: E402

from dengar.v1 import common_pb2  # noqa: E402
from dengar_cli.platform import Platform, ServiceProcess  # noqa: E402
from dengar_common.bus import Subjects  # noqa: E402
from dengar_common.ids import mention_id  # noqa: E402
from dengar_common.mongo import STATS_DIR_ENV  # noqa: E402
from dengar_insights.domain.rollups import EMPTY, delta, parse_bucket_id  # noqa: E402
from dengar_insights.entrypoints.protos import prepare_enriched  # noqa: E402

TENANT = "benchpipe"
ROOT_SUBJECT = "benchpipe"
DB_PREFIX = "benchpipe"
KEY_RE = re.compile(r"dgr_[A-Za-z0-9_\-]+")
SEED = 20261203
BRANDS = {"brand": "Lintas", "competitor": "Cepatin"}
TEXTS = {
    "en": ["Great service from {b} today, the courier was friendly", "{b} app keeps crashing when I pay",
           "Has anyone tried {b} for sending documents?", "The item from {b} arrived broken, refund please",
           "{b} delivered early again, really happy with it", "Customer service of {b} never answers",
           "{b} raised the delivery fee again, too expensive", "Checking my {b} order status"],
    "id": ["Pengiriman {b} cepat banget, kurirnya ramah", "Aplikasi {b} error terus pas bayar",
           "Ada yang pernah pakai {b} buat kirim dokumen?", "Barang dari {b} datang rusak, kecewa",
           "Promo {b} hari ini murah, puas deh", "CS {b} gak balas chat dari kemarin",
           "Ongkir {b} naik lagi, mahal banget sekarang", "Mau cek status pesanan {b} dulu"],
}
FILLER = ["hari ini", "lagi", "again", "today", "banget", "sih", "please", "min", "kak", "dong", "", "", ""]
READ_WINDOW = timedelta(days=7)


# --- posts ---------------------------------------------------------------------------------------


class Posts:
    """Seeded, distinct REST posts about the two brands, created within the last two days."""

    def __init__(self, seed: int, run_id: str) -> None:
        self.rng = random.Random(seed)
        self.run_id = run_id
        self.n = 0

    def next(self) -> dict[str, Any]:
        rng = self.rng
        self.n += 1
        lang = rng.choice(["en", "id"])
        brand = BRANDS[rng.choices(["brand", "competitor"], weights=[60, 40])[0]]
        text = f"{rng.choice(TEXTS[lang]).format(b=brand)} {rng.choice(FILLER)} #{self.n}".replace("  ", " ")
        created = datetime.now(UTC) - timedelta(seconds=rng.random() * 2 * 86400)
        return {"platform": rng.choice(["x", "x", "x", "instagram", "tiktok"]),
                "external_id": f"{self.run_id}-{self.n}", "text": text,
                "created_at": created.isoformat(),
                "author": {"handle": f"user{rng.randrange(3000)}"},
                "engagement": {"likes": rng.randrange(50)}}

    def many(self, n: int) -> list[dict[str, Any]]:
        return [self.next() for _ in range(n)]


# --- process accounting ----------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        out[ppid].append(int(entry.name))
    return out


def _tree(pid: int, children: dict[int, list[int]]) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime (fields 14 and 15 of proc(5); this list starts at field 3).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy since boot (every process, ours or not)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _write_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Procs:
    """The platform's processes by name (replicas as ``nlp#2``); CPU and disk writes per tree."""

    def __init__(self, plat: Platform) -> None:
        self.plat = plat
        self.extra: dict[str, ServiceProcess] = {}
        # CPU of processes that exited (a service stopped between phases) is kept here.
        self._gone: Counter[str] = Counter()

    def pids(self) -> dict[str, int]:
        assert self.plat.infra is not None
        out = {"nats-server": self.plat.infra.nats.proc.pid, "store": self.plat.infra.mongo.proc.pid}
        for name, sp in [*self.plat.procs.items(), *self.extra.items()]:
            if sp.proc.poll() is None:
                out[name] = sp.proc.pid
        return out

    def snapshot(self) -> dict[str, dict[str, float]]:
        children = _children()
        out: dict[str, dict[str, float]] = {}
        for name, pid in self.pids().items():
            tree = _tree(pid, children)
            out[name] = {"cpu_s": sum(_cpu_s(p) for p in tree),
                         "write_bytes": float(sum(_write_bytes(p) for p in tree))}
        out["(machine)"] = {"cpu_s": _machine_busy_s(), "write_bytes": 0.0}
        return out


def _diff_procs(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]]
                ) -> dict[str, dict[str, float]]:
    return {name: {k: v - a.get(name, {}).get(k, 0.0) for k, v in vals.items()} for name, vals in b.items()}


def read_store_stats(folder: Path) -> dict[str, dict[str, dict[str, int]]]:
    """Per stats file (service-pid): the command counters written by dengar_common.mongo."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for path in folder.glob("*.json"):
        try:
            out[path.stem] = json.loads(path.read_text())["counts"]
        except (OSError, ValueError, KeyError):
            continue
    return out


def _service_of(stem: str) -> str:
    return stem.rsplit("-", 1)[0].removeprefix("dengar-")


def store_ops(before: dict[str, Any], after: dict[str, Any], posts: int) -> dict[str, Any]:
    """Store commands per post between two reads of the stats folder, by service and collection."""
    by_service: dict[str, Counter[str]] = defaultdict(Counter)
    by_collection: dict[str, Counter[str]] = defaultdict(Counter)
    by_command: Counter[str] = Counter()
    for stem, counts in after.items():
        service = _service_of(stem)
        for key, vals in counts.items():
            prev = before.get(stem, {}).get(key, {})
            d = {k: v - prev.get(k, 0) for k, v in vals.items()}
            if not any(d.values()):
                continue
            ns, command = key.split("|", 1)
            collection = ns.split(".", 1)[1]
            by_service[service].update(d)
            by_collection[f"{service}:{collection}"].update(d)
            by_command[f"{service}:{collection}:{command}"] += d["commands"]

    def per_post(c: Counter[str]) -> dict[str, float]:
        return {k: round(c[k] / posts, 3)
                for k in ("commands", "docs_written", "docs_modified", "bytes_sent")}

    total: Counter[str] = Counter()
    for c in by_service.values():
        total.update(c)
    return {"total": per_post(total),
            "by_service": {s: per_post(c) for s, c in sorted(by_service.items())},
            "by_collection": {s: per_post(c) for s, c in sorted(by_collection.items())},
            "commands_by_kind": {k: round(n / posts, 3) for k, n in by_command.most_common(25)}}


# --- the platform ----------------------------------------------------------------------------------


class Bench:
    def __init__(self, plat: Platform, stats_dir: Path, args: argparse.Namespace) -> None:
        self.plat = plat
        self.stats_dir = stats_dir
        self.args = args
        self.procs = Procs(plat)
        self.subjects = Subjects(ROOT_SUBJECT)
        self.posts = Posts(SEED, datetime.now(UTC).strftime("%H%M%S"))
        self.key = ""
        self.sent_at: dict[str, float] = {}
        self.mongo: MongoClient[dict[str, Any]] = MongoClient(plat.infra.mongo_uri if plat.infra else "",
                                                              tz_aware=True)
        self.db = self.mongo[f"{DB_PREFIX}_insights"]

    async def _stream_state(self, kind: str) -> Any:
        assert self.plat.infra is not None
        nc = await nats.connect(self.plat.infra.nats_url)
        try:
            return (await nc.jetstream().stream_info(self.subjects.stream(kind))).state
        finally:
            await nc.close()

    async def stream_count(self, kind: str) -> int:
        return int((await self._stream_state(kind)).messages)

    async def last_seq(self, kind: str) -> int:
        return int((await self._stream_state(kind)).last_seq)

    async def stream_times(self, kind: str, after_seq: int) -> dict[str, float]:
        """Post id -> when stream ``kind`` stored its first message for that post (the server's
        clock, the same machine's), for the messages after ``after_seq``."""
        assert self.plat.infra is not None
        nc = await nats.connect(self.plat.infra.nats_url)
        out: dict[str, float] = {}
        try:
            js = nc.jetstream()
            stream = self.subjects.stream(kind)
            last = int((await js.stream_info(stream)).state.last_seq)
            for seq in range(after_seq + 1, last + 1):
                raw = await js.get_msg(stream, seq)
                if raw.time is None or raw.data is None:
                    continue
                if kind == "collected":
                    post = common_pb2.Post()
                    post.ParseFromString(raw.data)
                else:
                    enriched = common_pb2.EnrichedPost()
                    enriched.ParseFromString(raw.data)
                    post = enriched.post
                out.setdefault(post.id, raw.time.timestamp())
        finally:
            await nc.close()
        return out

    async def wait_count(self, kind: str, target: int, timeout: float, poll: float = 0.25
                         ) -> tuple[float | None, float, int]:
        """Wait until stream ``kind`` holds ``target`` messages: (time its count first grew, time
        reached, the count seen at that first growth)."""
        start_count = await self.stream_count(kind)
        first: float | None = None
        first_count = start_count
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            n = await self.stream_count(kind)
            now = time.perf_counter()
            if first is None and n > start_count:
                first, first_count = now, n
            if n >= target:
                return first, now, first_count
            await asyncio.sleep(poll)
        raise TimeoutError(f"{kind}: {await self.stream_count(kind)}/{target} after {timeout}s")

    async def send(self, api: httpx.AsyncClient, posts: list[dict[str, Any]]) -> None:
        """POST ``posts`` in requests of ``--batch``, ``--concurrency`` in flight."""
        sem = asyncio.Semaphore(self.args.concurrency)

        async def one(chunk: list[dict[str, Any]]) -> None:
            async with sem:
                now = time.time()
                for p in chunk:
                    self.sent_at[p["external_id"]] = now
                r = await api.post("/v1/posts", json={"posts": chunk})
                r.raise_for_status()
                if r.json().get("rejected"):
                    raise RuntimeError(f"posts rejected: {r.text[:500]}")

        b = self.args.batch
        await asyncio.gather(*(one(posts[i:i + b]) for i in range(0, len(posts), b)))

    def start_replica(self, name: str) -> None:
        """One more process of ``name`` (a second consumer of the same durable)."""
        first = self.plat.procs.pop(name)
        try:
            sp = self.plat.start_service(name)
            sp.wait_port()
        finally:
            self.procs.extra[f"{name}#{len(self.procs.extra) + 2}"] = self.plat.procs.pop(name)
            self.plat.procs[name] = first

    def stop_extra(self) -> None:
        for sp in self.procs.extra.values():
            sp.terminate()
        for sp in self.procs.extra.values():
            sp.wait()

    async def e2e(self, api: httpx.AsyncClient, n: int, label: str) -> dict[str, Any]:
        posts = self.posts.many(n)
        target = await self.stream_count("mentions") + n
        await asyncio.sleep(1.5)  # the stats files are rewritten every second
        stats0, procs0 = read_store_stats(self.stats_dir), self.procs.snapshot()
        t0 = time.perf_counter()
        await self.send(api, posts)
        sent_s = time.perf_counter() - t0
        _, done, _ = await self.wait_count("mentions", target, timeout=self.args.timeout)
        elapsed = done - t0
        procs1 = self.procs.snapshot()
        await asyncio.sleep(1.5)
        stats1 = read_store_stats(self.stats_dir)
        cpu = _diff_procs(procs0, procs1)
        machine = cpu.pop("(machine)")["cpu_s"]
        ours = sum(v["cpu_s"] for v in cpu.values())
        cores = os.cpu_count() or 1
        out = {"posts": n, "seconds": round(elapsed, 2), "posts_per_s": round(n / elapsed, 2),
               "request_seconds": round(sent_s, 2),
               "store_ops_per_post": store_ops(stats0, stats1, n),
               "cpu_s_per_post": {k: round(v["cpu_s"] / n, 4) for k, v in cpu.items()},
               "cpu_share": {k: round(v["cpu_s"] / elapsed / (os.cpu_count() or 1), 3)
                             for k, v in cpu.items()},
               "store_disk_write_bytes_per_post": round(cpu["store"]["write_bytes"] / n),
               # The machine is shared: how busy it was, and how much of that was not this platform.
               "machine_busy_share": round(machine / elapsed / cores, 3),
               "others_busy_share": round(max(0.0, machine - ours) / elapsed / cores, 3),
               "mentions_before": target - n}
        print(f"[{label}] e2e {out['posts_per_s']} posts/s; store ops/post "
              f"{out['store_ops_per_post']['total']}", flush=True)
        return out


    async def latency(self, api: httpx.AsyncClient, rate: float) -> dict[str, Any]:
        """Ingest → queryable of ``--latency-posts`` single-post requests at ``rate`` posts/s, by stage."""
        lat_posts = self.posts.many(self.args.latency_posts)
        target = await self.stream_count("mentions") + len(lat_posts)
        seq0 = {kind: await self.last_seq(kind) for kind in ("collected", "enriched")}
        t0 = time.perf_counter()
        for i, p in enumerate(lat_posts):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.sent_at[p["external_id"]] = time.time()
            (await api.post("/v1/posts", json={"posts": [p]})).raise_for_status()
        await self.wait_count("mentions", target, timeout=self.args.timeout)
        ids = {mention_id(TENANT, p["platform"], p["external_id"]): p["external_id"]
               for p in lat_posts}
        lats = []
        collected_at = await self.stream_times("collected", seq0["collected"])
        enriched_at = await self.stream_times("enriched", seq0["enriched"])
        stages: dict[str, list[float]] = defaultdict(list)
        for doc in self.db["mentions"].find({"_id": {"$in": list(ids)}},
                                             projection={"rollups_at": 1, "first_seen_at": 1}):
            sent = self.sent_at[ids[doc["_id"]]]
            done = doc["rollups_at"].timestamp()
            lats.append(done - sent)
            c, e = collected_at.get(doc["_id"]), enriched_at.get(doc["_id"])
            if c is None or e is None:
                continue
            intent = doc["first_seen_at"].timestamp()
            # Where the time goes: request -> collected stream -> enriched stream ->
            # insights' intent write (its batch's clock) -> counts in (rollups_at).
            stages["gateway_collector"].append(c - sent)
            stages["nlp"].append(e - c)
            stages["insights_fetch_to_intent"].append(intent - e)
            stages["insights_write_path"].append(done - intent)
        out = {"posts": len(lat_posts), "rate_per_s": round(rate, 2), "measured": len(lats),
               "p50_s": round(statistics.median(lats), 3), "p99_s": round(_percentile(lats, 99), 3),
               "max_s": round(max(lats), 3),
               "stages_p50_s": {k: round(statistics.median(v), 3) for k, v in stages.items()},
               "stages_p99_s": {k: round(_percentile(v, 99), 3) for k, v in stages.items()}}
        print(f"latency {out}", flush=True)
        return out


async def dashboard_reads(api: httpx.AsyncClient, repeats: int, query_id: str) -> dict[str, float]:
    end = datetime.now(UTC) + timedelta(hours=1)
    start = end - READ_WINDOW
    period = {"from": start.isoformat(), "to": end.isoformat()}
    calls = {
        "timeseries": ("/v1/analytics/timeseries", {"metric": "sentiment", "interval": "hour", **period}),
        "summary": ("/v1/analytics/summary", period),
        "share_of_voice": ("/v1/analytics/share-of-voice", period),
        "brief": ("/v1/insights/brief", {**period, "lang": "en", "limit": 8}),
        "timeseries_query": ("/v1/analytics/timeseries", {"metric": "volume", "interval": "day",
                                                          "query_id": query_id, **period}),
    }
    times: dict[str, list[float]] = defaultdict(list)
    for path, params in calls.values():  # warm-up
        (await api.get(path, params=params)).raise_for_status()
    for _ in range(repeats):
        for name, (path, params) in calls.items():
            t = time.perf_counter()
            r = await api.get(path, params=params)
            times[name].append(time.perf_counter() - t)
            r.raise_for_status()
    return {k: round(statistics.median(v) * 1000, 1) for k, v in times.items()}


def load_settled(db: Any, n: int, seed: int) -> float:
    """``n`` settled mentions (and their rollups) written straight into the store, 60 to 150 days
    old: outside every window the dashboard reads, as the ingest protocol would leave them."""
    rng = random.Random(seed)
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    docs: list[dict[str, Any]] = []
    per_bucket: dict[str, Counter[str]] = defaultdict(Counter)
    labels = [common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_NEUTRAL, common_pb2.SENTIMENT_POSITIVE]
    for i in range(n):
        created = now - timedelta(days=60) - timedelta(seconds=rng.random() * 90 * 86400)
        ext = f"old{seed}-{i}"
        lang = rng.choice(["en", "id"])
        text = rng.choice(TEXTS[lang]).format(b=rng.choice(list(BRANDS.values()))) + f" {i}"
        post = common_pb2.Post(id=mention_id(TENANT, "x", ext), tenant_id=TENANT,
                               platform=common_pb2.PLATFORM_X, external_id=ext, text=text,
                               author=common_pb2.Author(handle=f"user{rng.randrange(3000)}"))
        post.created_at.FromDatetime(created)
        post.collected_at.FromDatetime(created + timedelta(minutes=1))
        label = rng.choice(labels)
        enrichment = common_pb2.Enrichment(
            language=lang, language_confidence=0.9,
            sentiment=common_pb2.SentimentResult(label=label, negative=0.4, neutral=0.3, positive=0.3),
            model_version="bench")
        m = prepare_enriched(common_pb2.EnrichedPost(post=post, enrichment=enrichment))
        docs.append({"_id": m.id, **m.fields, "trace_id": "", "content_hash": m.content_hash,
                     "first_seen_at": now, "updated_at": now, "rev": 2,
                     "contribution": m.contribution.to_doc(), "rollups_at": now})
        for bucket, incs in delta(EMPTY, m.contribution).items():
            per_bucket[bucket].update(incs)
    for i in range(0, len(docs), 1000):
        db["mentions"].insert_many(docs[i:i + 1000], ordered=False)
    ops = []
    for bucket, incs in per_bucket.items():
        _, interval, start = parse_bucket_id(bucket)
        ops.append(UpdateOne({"_id": bucket}, {"$inc": {k: v for k, v in incs.items() if v},
                                               "$setOnInsert": {"tenant_id": TENANT, "interval": interval,
                                                                "bucket_start": start}}, upsert=True))
    for i in range(0, len(ops), 500):
        db["rollups"].bulk_write(ops[i:i + 500], ordered=False)
    return time.perf_counter() - t0


async def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()
    result: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                              "machine": machine_info(), "git": _git_rev(),
                              "params": {k: v for k, v in vars(args).items() if k not in ("out",)}}
    with tempfile.TemporaryDirectory(prefix="dengar-bench-pipeline-") as home_s:
        home = Path(home_s)
        stats_dir = home / "store-stats"
        # The latency probe sends one request per post, above the default per-key rate (20/s) once
        # the platform keeps up with more than 40 posts/s: the bench measures the pipeline, not that
        # limit.
        env = {STATS_DIR_ENV: str(stats_dir), "DENGAR_GATEWAY__RATE_LIMIT__PER_S": "0"}
        for kv in args.env:
            k, _, v = kv.partition("=")
            env[k] = v
        plat = Platform(home=home, subject_root=ROOT_SUBJECT, db_prefix=DB_PREFIX, env=env)
        bench: Bench | None = None
        try:
            t = time.perf_counter()
            plat.start()
            result["platform_startup_s"] = round(time.perf_counter() - t, 1)
            bench = Bench(plat, stats_dir, args)
            out = plat.admin("tenants", "create", "Bench Pipeline", "--id", TENANT)
            match = KEY_RE.search(out)
            assert match, out
            bench.key = match.group(0)
            async with httpx.AsyncClient(base_url=plat.api_url, timeout=120,
                                         headers={"Authorization": f"Bearer {bench.key}"}) as api:
                query_ids = []
                for role, name in BRANDS.items():
                    r = await api.post("/v1/queries", json={"name": name, "role": role, "expression": name})
                    r.raise_for_status()
                    query_ids.append(r.json()["id"])
                await asyncio.sleep(2)  # the collector's query set refreshes from its change stream

                # 1. NLP only.
                for name in ("insights", "nlp"):
                    plat.procs[name].terminate()
                    plat.procs[name].wait()
                n1 = args.nlp_posts
                collected = await bench.stream_count("collected") + n1
                await bench.send(api, bench.posts.many(n1))
                await bench.wait_count("collected", collected, timeout=args.timeout)
                enriched_target = await bench.stream_count("enriched") + n1
                enriched_seq0 = await bench.last_seq("enriched")
                procs0 = bench.procs.snapshot()
                respawned = plat.respawn("nlp")
                assert isinstance(respawned, ServiceProcess)
                respawned.wait_port()
                first, last, at_first = await bench.wait_count("enriched", enriched_target,
                                                               timeout=args.timeout, poll=0.1)
                procs1 = bench.procs.snapshot()
                assert first is not None and last > first, "too few posts to time NLP: raise --nlp-posts"
                # From the first batch out to the last: model loading is not part of the rate.
                cold_rate = (enriched_target - at_first) / (last - first)
                # The NLP process is new here, while the e2e run's has already analysed this
                # backlog: the steady rate leaves out the first fifth of the posts (onnxruntime
                # sizes its buffers for each new text length as it first meets it).
                out_at = sorted((await bench.stream_times("enriched", enriched_seq0)).values())
                steady = out_at[len(out_at) // 5:]
                nlp_rate = (len(steady) - 1) / max(1e-6, steady[-1] - steady[0])
                cpu = _diff_procs(procs0, procs1)
                result["nlp_only"] = {"posts": n1, "seconds": round(last - first, 2),
                                      "posts_per_s": round(nlp_rate, 2),
                                      "posts_per_s_incl_warm_up": round(cold_rate, 2),
                                      "nlp_cpu_s_per_post_incl_startup": round(cpu["nlp"]["cpu_s"] / n1, 4)}
                print(f"nlp only {nlp_rate:.1f} posts/s ({cold_rate:.1f} with its warm-up)", flush=True)

                # 2. Insights catches up with that backlog.
                mentions0 = await bench.stream_count("mentions")
                t = time.perf_counter()
                respawned = plat.respawn("insights")
                assert isinstance(respawned, ServiceProcess)
                respawned.wait_port()
                first, last, at_first = await bench.wait_count("mentions", mentions0 + n1,
                                                               timeout=args.timeout, poll=0.1)
                result["insights_catch_up"] = {
                    "posts": n1, "seconds_incl_startup": round(last - t, 2),
                    "posts_per_s_after_first": round(
                        (mentions0 + n1 - at_first) / max(1e-6, last - (first or t)), 2)}
                plat.wait_ready()

                # 3. End to end, one replica each.
                e2e = await bench.e2e(api, args.e2e_posts, "1+1")
                e2e["ratio_to_nlp_only"] = round(e2e["posts_per_s"] / nlp_rate, 3)
                share = e2e["cpu_share"].get("store", 0.0)
                e2e["ratio_without_store_cpu"] = round(e2e["ratio_to_nlp_only"] / max(1e-6, 1 - share), 3)
                result["e2e"] = e2e

                # 4. Latency at half the e2e rate.
                result["latency"] = await bench.latency(api, args.latency_rate or e2e["posts_per_s"] / 2)

                if args.latency_only:
                    return result

                # 5. Two NLP and two insights replicas.
                if args.replicas > 1:
                    for _ in range(args.replicas - 1):
                        bench.start_replica("nlp")
                        bench.start_replica("insights")
                    rep = await bench.e2e(api, args.e2e_posts, f"{args.replicas}+{args.replicas}")
                    rep["ratio_to_nlp_only"] = round(rep["posts_per_s"] / nlp_rate, 3)
                    result["e2e_replicas"] = {"replicas": args.replicas, **rep}
                    bench.stop_extra()

                # 6. Dashboard reads at 1x and 10x stored posts.
                stored = bench.db["mentions"].count_documents({"tenant_id": TENANT})
                ms1 = await dashboard_reads(api, args.repeats, query_ids[0])
                load_s = load_settled(bench.db, stored * (args.factor - 1), SEED)
                ms10 = await dashboard_reads(api, args.repeats, query_ids[0])
                result["dashboard"] = {
                    "stored_1x": stored, "stored_10x": stored * args.factor, "load_s": round(load_s, 1),
                    "median_ms_1x": ms1, "median_ms_10x": ms10,
                    "ratio": {k: round(ms10[k] / ms1[k], 2) for k in ms1},
                    "ratio_total": round(sum(ms10.values()) / sum(ms1.values()), 2)}
                result["rollup_docs"] = _rollup_sizes(bench.db)
        finally:
            if bench is not None:
                bench.stop_extra()
                bench.mongo.close()
            plat.stop()
    result["load_average_before"] = [round(x, 2) for x in load_before]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def _rollup_sizes(db: Any) -> dict[str, Any]:
    import bson

    sizes = [len(bson.encode(d)) for d in db["rollups"].find({"tenant_id": TENANT})]
    return {"count": len(sizes), "max_bytes": max(sizes, default=0),
            "mean_bytes": round(statistics.fmean(sizes)) if sizes else 0}


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def _git_rev() -> str:
    try:
        head = (ROOT / ".git").read_text().strip() if (ROOT / ".git").is_file() else ""
        del head
        import subprocess

        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine_info() -> dict[str, Any]:
    cpu_model = pyplatform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_model": cpu_model, "logical_cores": os.cpu_count(), "platform": pyplatform.platform(),
            "python": pyplatform.python_version()}


# --- the report ------------------------------------------------------------------------------------


def _get(r: dict[str, Any], path: str) -> Any:
    cur: Any = r
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return "-"
        cur = cur[part]
    return cur


ROWS = [
    ("NLP-only throughput, steady (posts/s)", "nlp_only.posts_per_s", ""),
    ("NLP-only throughput, with its warm-up (posts/s)", "nlp_only.posts_per_s_incl_warm_up", ""),
    ("insights catch-up throughput (posts/s)", "insights_catch_up.posts_per_s_after_first", ""),
    ("e2e throughput, 1 nlp + 1 insights (posts/s)", "e2e.posts_per_s", ""),
    ("e2e / NLP-only", "e2e.ratio_to_nlp_only", ">= 0.8"),
    ("e2e / NLP-only, store CPU share taken out", "e2e.ratio_without_store_cpu", ">= 0.8"),
    ("CPU-bound e2e / NLP-only: NLP CPU over all CPU per post", "e2e.cpu_bound_ratio", ">= 0.8"),
    ("the same without the store's CPU", "e2e.cpu_bound_ratio_without_store", ">= 0.8"),
    ("CPU s/post, all processes", "e2e.cpu_s_per_post_total", ""),
    ("machine busy during e2e (share of all cores)", "e2e.machine_busy_share", ""),
    ("of which other users' processes", "e2e.others_busy_share", ""),
    ("store commands (round trips) per post", "e2e.store_ops_per_post.total.commands", "<= 2"),
    ("write statements (documents written) per post", "e2e.store_ops_per_post.total.docs_written", ""),
    ("documents modified per post (store replies)", "e2e.store_ops_per_post.total.docs_modified", ""),
    ("write-command bytes sent per post", "e2e.store_ops_per_post.total.bytes_sent", "<= 4 KB"),
    ("store disk bytes written per post", "e2e.store_disk_write_bytes_per_post", "<= 4 KB"),
    ("insights store commands per post", "e2e.store_ops_per_post.by_service.insights.commands", ""),
    ("insights ingest path (mentions, rollups, batches): commands per post",
     "e2e.ingest_path_per_post.commands", "<= 2"),
    ("insights ingest path: write bytes sent per post", "e2e.ingest_path_per_post.bytes_sent", "<= 4 KB"),
    ("CPU s/post: nlp", "e2e.cpu_s_per_post.nlp", ""),
    ("CPU s/post: insights", "e2e.cpu_s_per_post.insights", ""),
    ("CPU s/post: store", "e2e.cpu_s_per_post.store", ""),
    ("CPU s/post: nats-server", "e2e.cpu_s_per_post.nats-server", ""),
    ("CPU s/post: collector", "e2e.cpu_s_per_post.collector", ""),
    ("CPU s/post: gateway", "e2e.cpu_s_per_post.gateway", ""),
    ("p50 ingest → queryable at half load (s)", "latency.p50_s", ""),
    ("p99 ingest → queryable at half load (s)", "latency.p99_s", "<= 2"),
    ("e2e throughput, 2 nlp + 2 insights (posts/s)", "e2e_replicas.posts_per_s", ""),
    ("dashboard reads 10x / 1x (sum of medians)", "dashboard.ratio_total", "<= 1.2"),
    ("largest rollup document (bytes)", "rollup_docs.max_bytes", ""),
]


INGEST_PATH = ("insights:mentions", "insights:rollups", "insights:rollup_batches")


def derive(r: dict[str, Any]) -> None:
    """Ratios that do not depend on the machine's load: what the platform would keep of NLP's
    throughput if every process had the cores it needs (CPU seconds per post, NLP's over all)."""
    for key in ("e2e", "e2e_replicas"):
        cpu = _get(r, f"{key}.cpu_s_per_post")
        if not isinstance(cpu, dict):
            continue
        nlp = sum(v for k, v in cpu.items() if k.startswith("nlp"))
        total = sum(cpu.values())
        store = cpu.get("store", 0.0)
        r[key]["cpu_bound_ratio"] = round(nlp / total, 3) if total else None
        r[key]["cpu_bound_ratio_without_store"] = round(nlp / (total - store), 3) if total > store else None
        r[key]["cpu_s_per_post_total"] = round(total, 4)
        # The insights ingest path alone: the rest are pollers that cost per second, not per post.
        cols = _get(r, f"{key}.store_ops_per_post.by_collection")
        if isinstance(cols, dict):
            path = [v for k, v in cols.items() if k in INGEST_PATH]
            r[key]["ingest_path_per_post"] = {
                m: round(sum(v[m] for v in path), 3) for m in ("commands", "docs_written", "bytes_sent")}


def markdown(runs: dict[str, dict[str, Any]]) -> str:
    for r in runs.values():
        derive(r)
    labels = list(runs)
    first = runs[labels[-1]]
    m = first["machine"]
    head = "| measure | target | " + " | ".join(labels) + " |\n|---|---|" + "---|" * len(labels) + "\n"
    rows = "".join(f"| {name} | {target} | " + " | ".join(str(_get(runs[lb], path)) for lb in labels) + " |\n"
                   for name, path, target in ROWS)
    details = []
    for lb in labels:
        r = runs[lb]
        details.append(f"### {lb}\n\n{r['date']}, commit {r.get('git', '')}, load average before/after "
                       f"{r['load_average_before']} / {r['load_average_after']}, parameters "
                       f"`{json.dumps(r['params'])}`.\n\n"
                       "Store commands per post by collection (e2e, 1+1):\n\n"
                       "| service:collection | commands | docs written | docs modified | bytes sent |\n"
                       "|---|---|---|---|---|\n"
                       + "".join(f"| {k} | {v['commands']} | {v['docs_written']} "
                                 f"| {v.get('docs_modified', '-')} | {v['bytes_sent']} |\n"
                                 for k, v in _get(r, "e2e.store_ops_per_post.by_collection").items())
                       + "\nCPU share of the machine during e2e: "
                       + ", ".join(f"{k} {v}" for k, v in _get(r, "e2e.cpu_share").items())
                       + "\n\nLatency at half load by stage (s), p50: "
                       + f"`{_get(r, 'latency.stages_p50_s')}`; p99: `{_get(r, 'latency.stages_p99_s')}`"
                       + f"\n\nDashboard medians (ms) 1x: `{_get(r, 'dashboard.median_ms_1x')}`; 10x: "
                         f"`{_get(r, 'dashboard.median_ms_10x')}`\n")
    return f"""# Pipeline benchmark

Generated by `bench/bench_pipeline.py` (`make bench-pipeline`) on {m["cpu_model"]} ({m["logical_cores"]}
logical cores, Python {m["python"]}), the real platform (all services as processes, nats-server,
SecantusDB). See the module docstring for what each number means. The machine is shared: absolute
rates move with its load; the per-post store counts do not.

{head}{rows}
{chr(10).join(details)}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--label", default="after", help="the column of this run in the results")
    parser.add_argument("--nlp-posts", type=int, default=1500)
    parser.add_argument("--e2e-posts", type=int, default=1500)
    parser.add_argument("--latency-posts", type=int, default=300,
                        help="enough that p99 is not simply the slowest post")
    parser.add_argument("--batch", type=int, default=50, help="posts per REST request")
    parser.add_argument("--concurrency", type=int, default=4, help="REST requests in flight")
    parser.add_argument("--replicas", type=int, default=2, help="nlp and insights processes in step 5")
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for every service")
    parser.add_argument("--latency-only", action="store_true",
                        help="stop after step 4; only <out>/pipeline-latency-<label>.json: a quick A/B")
    parser.add_argument("--latency-rate", type=float, default=0.0,
                        help="posts/s of step 4 (default: half the measured e2e rate)")
    args = parser.parse_args()
    result = asyncio.run(run_bench(args))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.latency_only:
        # A probe, not a column of the results: its own file, the load it ran under with it.
        result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        probe = args.out / f"pipeline-latency-{args.label}.json"
        probe.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(json.dumps({k: result.get(k) for k in ("e2e", "latency")}, indent=1))
        return
    path = args.out / "pipeline.json"
    runs: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    runs[args.label] = result
    path.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    (args.out / "pipeline.md").write_text(markdown(runs), encoding="utf-8")
    print(json.dumps({k: result.get(k) for k in ("nlp_only", "e2e", "latency", "dashboard")}, indent=1))


if __name__ == "__main__":
    main()
