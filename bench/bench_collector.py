"""Collector benchmark: listening-query matching throughput on one core.

    .venv/bin/python bench/bench_collector.py --out bench/results

Writes ``<out>/collector.json`` as ``{"query_matching": {...}}`` and ``<out>/collector.md``; first,
the ``import_throughput`` section of bench/bench_import.py (file parsing, validation, memory, and an
end-to-end import through a real collector). Only the
``query_matching`` key of the JSON and the section between the ``query_matching`` markers of the
Markdown are replaced, so other collector benchmarks (e.g. import throughput) can live in the same
files.

What is measured (everything self-generated and seeded; no external data):

* 200 realistic listening queries over 45 invented Indonesian/English brands: brand mentions with
  aliases, handles, hashtags and wildcards minus job-ad/giveaway noise, complaint queries, NEAR
  queries, field filters (lang, platform, author, has:link) and topic queries.
* A stream of tweet-length posts (default 50,000), about 55% Indonesian, 40% English and 5% mixed;
  60% mention a brand (as a name, alias, handle, hashtag, upper case or with "-nya"), with emoji,
  links, hashtags, diacritics and filler slang.
* **End to end** (the headline): ``post_proto.match_doc`` (the tagger's MatchDoc) on a ``dengar.v1.Post`` plus
  ``QuerySet.match``, one post at a time, in this process pinned to one CPU. Best and median of
  ``--repeats`` passes.
* The two halves alone (MatchDoc construction; matching prebuilt docs), and the same set without its
  index (every query evaluated on every post) on a subset, whose results must equal the indexed ones.

The machine is shared, so the load average before and after is recorded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _sub in ("libs", "services/collector"):
    if str(ROOT / _sub) not in sys.path:
        sys.path.insert(0, str(ROOT / _sub))

from dengar.v1 import common_pb2  # noqa: E402
from dengar_collector.service_layer.post_proto import match_doc  # noqa: E402
from dengar_common.query import Atom, QueryRole, QuerySet  # noqa: E402

SEED = 20261120
N_QUERIES = 200
MD_START = "<!-- query_matching:start -->"
MD_END = "<!-- query_matching:end -->"

# --- brands and queries ----------------------------------------------------------------------------

_HEADS = ["go", "kirim", "belanja", "toko", "bayar", "sinyal", "terbang", "kopi", "makan", "antar",
          "jalan", "rumah", "dana", "pulsa", "tiket", "sehat", "bank", "laku", "pasar", "cepat",
          "ojek", "paket", "gadai", "emas", "motor"]
_TAILS = ["cepat", "in", "ku", "kita", "pay", "net", "air", "senja", "yuk", "aja", "mart", "id", "plus",
          "go", "nusa", "jaya", "link", "box", "pro", "now"]
CATEGORIES = ["delivery", "ecommerce", "fintech", "telco", "airline", "food", "ridehailing", "bank"]
ISSUES_ID = ["telat", "lambat", "lemot", "mahal", "error", "gagal", "hilang", "rusak", "kecewa", "penipuan",
             "refund", "dibatalkan", "nyangkut", "down", "gangguan"]
ISSUES_EN = ["late", "slow", "expensive", "broken", "failed", "lost", "scam", "refund", "cancelled",
             "down", "outage", "disappointed", "terrible", "delay", "delayed"]
PRAISE = ["mantap", "keren", "cepet", "murah", "recommended", "love", "great", "amazing", "puas", "oke"]
FILLER_ID = ["aku", "gue", "udah", "lagi", "banget", "hari", "ini", "kok", "sih", "dong", "ya", "deh",
             "yang", "di", "ke", "dari", "buat", "sama", "tapi", "terus", "masa", "pas", "tadi", "pagi",
             "malam", "kemarin", "orderan", "pesanan", "kurir", "driver", "aplikasinya", "saldo",
             "promo", "diskon", "ongkir", "jam", "nunggu", "kenapa", "gimana", "tolong", "min", "kak",
             "pengiriman", "paketnya", "barangnya", "sampai", "belum", "sudah", "akhirnya", "mau"]
FILLER_EN = ["i", "my", "the", "a", "is", "was", "again", "today", "order", "app", "customer", "service",
             "why", "still", "waiting", "for", "hours", "this", "so", "really", "just", "got", "and",
             "but", "never", "ever", "please", "fix", "your", "driver", "package", "delivery", "support",
             "week", "account", "payment", "update", "new", "price", "fee", "they", "it", "not", "what"]
TOPICS = [
    ("mudik", '(mudik OR #mudik OR "pulang kampung") AND (tiket* OR kereta OR bus OR macet)'),
    ("banjir", "(banjir OR #banjir OR flood*) NEAR/5 (jakarta OR bekasi OR tangerang OR depok)"),
    ("cs", '("customer service" OR cs OR "call center") AND (kecewa OR disappointed OR kesal OR marah)'),
    ("ongkir", '(ongkir OR "ongkos kirim" OR "shipping fee") NEAR/4 (naik OR mahal OR expensive)'),
    ("harbolnas", "(#harbolnas OR harbolnas OR #1212 OR #1111) -giveaway"),
    ("ramadan", "(ramadan OR ramadhan OR #ramadan OR puasa OR bukber) AND (promo* OR diskon OR sale)"),
    ("outage", "(down OR outage OR gangguan OR error) NEAR/3 (app OR aplikasi* OR server)"),
    ("scam", '(penipuan OR scam* OR "phising" OR phishing) lang:id'),
    ("cafe", "(café OR kafe OR coffee OR kopi) AND (wfc OR nugas OR \"work from cafe\")"),
    ("ev", '("mobil listrik" OR "electric vehicle" OR ev) AND (subsidi OR insentif OR pajak)'),
]
EMOJI = ["😡", "😭", "🙏", "🔥", "👍", "😂", "🤬", "❤️", "😤", "🥲", "✨", "👏🏽"]
DIACRITIC_WORDS = ["café", "résumé", "naïve", "Jakarta—", "señor", "Ｇｏｏｄ"]


def make_brands(rng: random.Random, n: int = 45) -> list[dict[str, Any]]:
    names: set[str] = set()
    brands = []
    while len(brands) < n:
        head, tail = rng.choice(_HEADS), rng.choice(_TAILS)
        if head == tail or head + tail in names:
            continue
        names.add(head + tail)
        brands.append({
            "key": head + tail,
            # "GoCepat" or "Gocepat": camel case is common and must not matter.
            "name": (head.capitalize() + tail.capitalize() if rng.random() < 0.5
                     else (head + tail).capitalize()),
            "spaced": f"{head} {tail}",
            "handle": f"{head}{tail}_id" if rng.random() < 0.6 else f"{head}{tail}",
            "category": rng.choice(CATEGORIES),
        })
    return brands


def make_queries(rng: random.Random, brands: list[dict[str, Any]]) -> dict[str, tuple[str, QueryRole]]:
    """200 queries: 4 per brand (mention, complaint, NEAR, filtered), 10 topics, campaign hashtags."""
    queries: dict[str, tuple[str, QueryRole]] = {}
    for i, b in enumerate(brands):
        key, handle = b["key"], b["handle"]
        role: QueryRole = "brand" if i < 10 else "competitor"
        names = f'({key} OR "{b["spaced"]}" OR #{key} OR @{handle} OR {key}nya)'
        queries[f"{key}-mentions"] = (f"{names} -(loker OR lowongan OR giveaway OR #giveaway)", role)
        issues = " OR ".join(rng.sample(ISSUES_ID, 4) + rng.sample(ISSUES_EN, 3))
        queries[f"{key}-complaints"] = (
            f"({key}* OR @{handle}) AND ({issues} OR \"gak bisa\" OR refund*)", role)
        near = rng.choice([f"{key} NEAR/5 (mahal OR expensive OR \"ongkir naik\" OR pric*)",
                           f"({key} OR #{key}) NEAR/3 (telat OR late OR lambat OR delay*)",
                           f'"{b["spaced"]}" ONEAR/4 (error OR gagal OR down)'])
        queries[f"{key}-near"] = (near, role)
        filtered = rng.choice([f"lang:id ({key} OR #{key}) has:link",
                               f"platform:x ({key} OR @{handle}) -author:{handle}",
                               f"lang:en ({key} OR {key}*) NOT (promo OR giveaway)",
                               f"author:{handle}",
                               f"platform:tiktok (#{key} OR {key})"])
        queries[f"{key}-filtered"] = (filtered, role)
    for name, expr in TOPICS:
        queries[f"topic-{name}"] = (expr, "topic")
    extra = 0
    while len(queries) < N_QUERIES:
        b = rng.choice(brands)
        queries[f"{b['key']}-campaign-{extra}"] = (f"(#{b['key']}{rng.choice(['promo', 'day', 'hemat'])} OR "
                                                   f"\"{b['spaced']} promo\") AND lang:id", "topic")
        extra += 1
    return dict(list(queries.items())[:N_QUERIES])


# --- posts -----------------------------------------------------------------------------------------


def brand_surface(rng: random.Random, b: dict[str, Any]) -> str:
    return rng.choice([b["name"], b["name"], b["key"], b["key"].upper(), "#" + b["name"], "@" + b["handle"],
                       b["key"] + "nya", b["spaced"].title(), b["name"] + "!"])


def make_post(rng: random.Random, i: int, brands: list[dict[str, Any]]) -> common_pb2.Post:
    lang = rng.choices(["id", "en", "mixed"], weights=[55, 40, 5])[0]
    filler = FILLER_ID if lang == "id" else FILLER_EN if lang == "en" else FILLER_ID + FILLER_EN
    issues = ISSUES_ID if lang == "id" else ISSUES_EN if lang == "en" else ISSUES_ID + ISSUES_EN
    words = rng.choices(filler, k=rng.randint(6, 30))
    if rng.random() < 0.6:
        for _ in range(rng.choice([1, 1, 1, 2])):
            words.insert(rng.randrange(len(words) + 1), brand_surface(rng, rng.choice(brands)))
    if rng.random() < 0.45:
        words.insert(rng.randrange(len(words) + 1), rng.choice(issues))
    if rng.random() < 0.15:
        words.insert(rng.randrange(len(words) + 1), rng.choice(PRAISE))
    if rng.random() < 0.12:
        topic_words = ["mudik", "#mudik", "banjir", "Jakarta", "ongkir", "naik", "#harbolnas", "puasa",
                       "promo", "kopi", "wfc", "tiket", "kereta", "customer service", "kecewa"]
        words.insert(rng.randrange(len(words) + 1), rng.choice(topic_words))
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words) + 1), rng.choice(EMOJI) * rng.randint(1, 3))
    if rng.random() < 0.05:
        words.insert(rng.randrange(len(words) + 1), rng.choice(DIACRITIC_WORDS))
    if rng.random() < 0.15:
        words.append("#" + rng.choice(["mudik", "ramadan", "kuliner", "promo", "viral", "fyp"]))
    if rng.random() < 0.2:
        words.append(f"https://t.co/{rng.getrandbits(40):x}")
    text = " ".join(words)
    text = text[0].upper() + text[1:]
    if rng.random() < 0.4:
        text += rng.choice([".", "!!", "?", " ...", "!?"])
    post = common_pb2.Post(
        platform=rng.choices([common_pb2.PLATFORM_X, common_pb2.PLATFORM_TIKTOK,
                              common_pb2.PLATFORM_INSTAGRAM, common_pb2.PLATFORM_FACEBOOK],
                             weights=[60, 15, 15, 10])[0],
        external_id=str(i), text=text,
        lang_hint={"id": rng.choice(["id", "in", ""]), "en": rng.choice(["en", "en", ""]), "mixed": ""}[lang])
    post.author.handle = (rng.choice(brands)["handle"] if rng.random() < 0.03
                          else f"user{rng.randrange(100_000)}")
    return post


# --- measurement -----------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def machine_info() -> dict[str, Any]:
    cpu_model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": cpu_model,
        "logical_cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def pin_to_one_cpu() -> int | None:
    """Run on one CPU (the first one allowed), so that "one core" is literally true."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def run(n_posts: int, repeats: int, seed: int, brute_subset: int) -> dict[str, Any]:
    rng = random.Random(seed)
    brands = make_brands(rng)
    expressions = make_queries(rng, brands)
    compile_s, qs = timed(lambda: QuerySet.from_expressions(expressions))
    posts = [make_post(rng, i, brands) for i in range(n_posts)]
    cpu = pin_to_one_cpu()
    load_before = os.getloadavg()

    from_post = match_doc
    match = qs.match

    def end_to_end() -> int:
        hits = 0
        for post in posts:
            hits += len(match(from_post(post)))
        return hits

    e2e_times = []
    total_hits = 0
    for _ in range(repeats):
        seconds, total_hits = timed(end_to_end)
        e2e_times.append(seconds)
    build_s, docs = timed(lambda: [from_post(p) for p in posts])
    match_s, results = timed(lambda: [match(d) for d in docs])
    candidates = [len(qs.candidates(d)) for d in docs]
    subset = docs[:brute_subset]
    brute_s, brute = timed(lambda: [qs.match_all(d) for d in subset])
    if brute != results[:brute_subset]:
        raise SystemExit("indexed QuerySet.match disagrees with evaluating every query")
    load_after = os.getloadavg()

    matched = [r for r in results if r]
    per_query: dict[str, int] = {}
    for r in results:
        for qid in r:
            per_query[qid] = per_query.get(qid, 0) + 1
    anchorless = sum(1 for q in qs if q.query.anchors is None)
    filter_anchored = sum(1 for q in qs if q.query.anchors is not None
                          and not any(isinstance(a, Atom) for a in q.query.anchors))
    best, median = min(e2e_times), statistics.median(e2e_times)
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "pinned_cpu": cpu,
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in load_after],
        "machine": machine_info(),
        "queries": len(qs),
        "queries_without_index_anchor": anchorless,
        "queries_anchored_on_filters": filter_anchored,
        "compile_queryset_ms": round(compile_s * 1000, 2),
        "posts": n_posts,
        "mean_post_chars": round(statistics.fmean(len(p.text) for p in posts), 1),
        "mean_tokens_per_post": round(statistics.fmean(len(d.words) for d in docs), 1),
        "repeats": repeats,
        "end_to_end_posts_per_s_best": round(n_posts / best),
        "end_to_end_posts_per_s_median": round(n_posts / median),
        "end_to_end_us_per_post_best": round(best / n_posts * 1e6, 2),
        "matchdoc_posts_per_s": round(n_posts / build_s),
        "match_only_posts_per_s": round(n_posts / match_s),
        "no_index_posts_per_s": round(len(subset) / brute_s),
        "no_index_subset_posts": len(subset),
        "mean_candidate_queries_per_post": round(statistics.fmean(candidates), 2),
        "mean_matched_queries_per_post": round(total_hits / n_posts, 3),
        "posts_with_a_match_pct": round(100 * len(matched) / n_posts, 1),
        "queries_that_matched": len(per_query),
        "sample_queries": {qid: expressions[qid][0] for qid in [*list(expressions)[:6], "topic-mudik"]},
    }


# --- output ----------------------------------------------------------------------------------------


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    sample = "\n".join(f"    {qid}: {expr}" for qid, expr in r["sample_queries"].items())
    return f"""{MD_START}
## Query matching

{r["queries"]} listening queries against {r["posts"]:,} generated en/id tweet-length posts \
(mean {r["mean_post_chars"]} characters, {r["mean_tokens_per_post"]} tokens), one process pinned to \
CPU {r["pinned_cpu"]} ({m["cpu_model"]}, Python {m["python"]}), {r["date"]}. Load average before/after: \
{r["load_avg_before"][0]} / {r["load_avg_after"][0]} (shared machine).

| measurement | posts/s |
|---|---:|
| **end to end: `match_doc` + `QuerySet.match`** (best of {r["repeats"]}) | \
**{r["end_to_end_posts_per_s_best"]:,}** |
| end to end, median of {r["repeats"]} | {r["end_to_end_posts_per_s_median"]:,} |
| `match_doc` alone | {r["matchdoc_posts_per_s"]:,} |
| `QuerySet.match` alone (prebuilt docs) | {r["match_only_posts_per_s"]:,} |
| every query evaluated, no index ({r["no_index_subset_posts"]:,} posts) | {r["no_index_posts_per_s"]:,} |

- {r["end_to_end_us_per_post_best"]} µs per post end to end; the index leaves \
{r["mean_candidate_queries_per_post"]} candidate queries per post to evaluate (of {r["queries"]}); \
{r["queries_anchored_on_filters"]} queries are indexed by a filter value (e.g. `author:`) for lack of a \
word, {r["queries_without_index_anchor"]} have no anchor at all and are evaluated on every post.
- {r["posts_with_a_match_pct"]}% of posts match at least one query, {r["mean_matched_queries_per_post"]} \
queries per post on average; {r["queries_that_matched"]} of the {r["queries"]} queries matched something.
- Indexed and un-indexed results are identical on the subset (checked by the benchmark).
- Compiling and indexing the {r["queries"]} queries: {r["compile_queryset_ms"]} ms.

Sample queries:

{sample}
{MD_END}
"""


def write(out: Path, result: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "collector.json", out / "collector.md"
    data: dict[str, Any] = {}
    if json_path.exists():
        data = json.loads(json_path.read_text(encoding="utf-8"))
    data["query_matching"] = result
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    section = markdown(result)
    if md_path.exists():
        text = md_path.read_text(encoding="utf-8")
        if MD_START in text and MD_END in text:
            head, rest = text.split(MD_START, 1)
            text = head + section.rstrip("\n") + rest.split(MD_END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + section
    else:
        text = "# Collector benchmarks\n\nGenerated by `bench/bench_collector.py`.\n\n" + section
    md_path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--brute-subset", type=int, default=5_000)
    parser.add_argument("--import-sizes", type=int, nargs="*", default=[50_000, 200_000],
                        help="rows of the import_throughput files (none: skip that section)")
    parser.add_argument("--import-e2e-rows", type=int, default=50_000)
    args = parser.parse_args()
    if args.import_sizes:
        # Before the query benchmark pins this process (and so its children) to one CPU.
        import bench_import

        imported = bench_import.run(args.import_sizes, args.import_e2e_rows)
        bench_import.write(args.out, imported)
        print(f"import throughput: {imported['parse_validate'][-1]['rows_per_s']:,} rows/s parse+validate"
              + (f", {imported['end_to_end']['rows_per_s']:,} rows/s end to end"
                 if "end_to_end" in imported else ""))
    result = run(args.posts, args.repeats, args.seed, args.brute_subset)
    write(args.out, result)
    print(f"query matching: {result['end_to_end_posts_per_s_best']:,} posts/s end to end "
          f"(median {result['end_to_end_posts_per_s_median']:,}; {result['queries']} queries, "
          f"{result['mean_candidate_queries_per_post']} candidates/post)")


if __name__ == "__main__":
    main()
