"""Query matcher benchmark: the matcher before issue 12 against the current one, in one run.

    .venv/bin/python bench/bench_matching.py --out bench/results

Writes ``<out>/matching.json`` and ``<out>/matching.md``. The old matcher is the query package as it
was at ``--old-ref`` (default: the commit before the linear NEAR), read with ``git show`` into a
temporary package, so both run in this process, pinned to one CPU, on the same inputs:

* **Normal workload**: the collector benchmark's 200 listening queries and generated tweet-length
  posts (bench/bench_collector.py), end to end (``MatchDoc`` of the post + ``QuerySet.match``); old
  and new alternate, best of ``--repeats``. Their results must be identical.
* **The attack** (issue 12, finding 1): ``(aa OR aa OR ... 8 times) NEAR/0 (bb OR ... 8 times)``
  against posts of ``n`` "aa" then ``n`` "bb", for growing ``n`` up to the largest post (40,000
  characters). The old matcher is quadratic in ``n`` (times 64 for the duplicate branches), so it runs
  only up to ``--old-max-words``; beyond, its time is extrapolated from the largest measured size
  (marked as such). The new matcher's work units (``MatchBudget.used``) are reported too.
* A query set of 40 distinct proximity queries over the same long post: the new matcher stops at the
  per-post budget (``DEFAULT_MATCH_BUDGET``) and reports the rest as over budget.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _sub in ("libs", "services/collector", "bench"):
    if str(ROOT / _sub) not in sys.path:
        sys.path.insert(0, str(ROOT / _sub))

import bench_collector  # noqa: E402

from dengar_collector.service_layer.post_proto import platform_name  # noqa: E402
from dengar_common import query as new_query  # noqa: E402

OLD_REF = "479b734"
ATTACK = "(" + " OR ".join(["aa"] * 8) + ") NEAR/0 (" + " OR ".join(["bb"] * 8) + ")"
MAX_WORDS_PER_SIDE = 6_666  # "aa " x 6,666 + "bb " x 6,666 is 40,000 characters
MD_NAME = "matching.md"


def load_old(ref: str, into: Path) -> ModuleType:
    """The query package at ``ref`` as the module ``query_old``."""
    pkg = into / "query_old"
    pkg.mkdir(parents=True)
    names = subprocess.run(["git", "ls-tree", "--name-only", ref, "libs/dengar_common/query/"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split()
    for name in names:
        if name.endswith(".py"):
            source = subprocess.run(["git", "show", f"{ref}:{name}"], cwd=ROOT, check=True,
                                    capture_output=True, text=True).stdout
            (pkg / Path(name).name).write_text(source, encoding="utf-8")
    sys.path.insert(0, str(into))
    return importlib.import_module("query_old")


# CPU time of this process, not wall time: the machine is shared, and time spent waiting for a CPU
# is not the matcher's.
clock = time.process_time


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = clock()
    result = fn()
    return clock() - start, result


def normal_workload(old: ModuleType, n_posts: int, repeats: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    brands = bench_collector.make_brands(rng)
    expressions = bench_collector.make_queries(rng, brands)
    posts = [bench_collector.make_post(rng, i, brands) for i in range(n_posts)]
    fields = [(p.text, p.title, platform_name(p.platform), p.lang_hint, p.author.handle, p.url)
              for p in posts]

    def runner(mod: ModuleType) -> Callable[[int, int], list[list[str]]]:
        qs = mod.QuerySet.from_expressions(expressions)
        build, match = mod.MatchDoc.build, qs.match

        def run(lo: int, hi: int) -> list[list[str]]:
            return [match(build(text, title=title, platform=platform, lang=lang, author=author, url=url))
                    for text, title, platform, lang, author, url in fields[lo:hi]]

        return run

    runners = {"old": runner(old), "new": runner(new_query)}
    times: dict[str, list[float]] = {"old": [], "new": []}
    results: dict[str, list[list[str]]] = {}
    chunk = 500
    for rep in range(repeats):
        # Old and new alternate every few hundred posts (and swap who goes first), so that both see
        # the same conditions of the shared machine.
        spent = {"old": 0.0, "new": 0.0}
        out: dict[str, list[list[str]]] = {"old": [], "new": []}
        gc.collect()
        for n, lo in enumerate(range(0, n_posts, chunk)):
            order = ("old", "new") if (n + rep) % 2 == 0 else ("new", "old")
            for name in order:
                start = clock()
                found = runners[name](lo, lo + chunk)
                spent[name] += clock() - start
                out[name].extend(found)
        for name in spent:
            times[name].append(spent[name])
        results = out
    if results["old"] != results["new"]:
        raise SystemExit("old and new matchers disagree on the normal workload")
    best_old, best_new = min(times["old"]), min(times["new"])
    return {
        "queries": len(expressions), "posts": n_posts, "repeats": repeats,
        "old_posts_per_s": round(n_posts / best_old), "new_posts_per_s": round(n_posts / best_new),
        "old_us_per_post": round(best_old / n_posts * 1e6, 2),
        "new_us_per_post": round(best_new / n_posts * 1e6, 2),
        "new_over_old_throughput": round(best_old / best_new, 3),
        "matches": sum(len(r) for r in results["new"]),
    }


def attack(old: ModuleType, sizes: list[int], old_max: int, repeats: int) -> list[dict[str, Any]]:
    old_q, new_q = old.compile_query(ATTACK), new_query.compile_query(ATTACK)
    rows: list[dict[str, Any]] = []
    measured_old: tuple[int, float] | None = None
    for n in sizes:
        text = " ".join(["aa"] * n + ["bb"] * n)
        new_best, work, outcome = float("inf"), 0, ""
        for _ in range(repeats):
            budget = new_query.MatchBudget(10**9)
            doc = new_query.MatchDoc.build(text)
            start = clock()
            try:
                outcome = str(new_q.evaluate(doc, budget))
            except new_query.MatchBudgetExceeded:
                outcome = "over budget"
            new_best = min(new_best, clock() - start)
            work = budget.used
        row: dict[str, Any] = {"words_per_side": n, "chars": len(text), "new_ms": round(new_best * 1000, 3),
                               "new_work_units": work, "new_result": outcome}
        if n <= old_max:
            doc_old = old.MatchDoc.build(text)
            seconds, found = timed(lambda d=doc_old: old_q.matches(d))
            measured_old = (n, seconds)
            row.update(old_ms=round(seconds * 1000, 1), old_result=str(found), old_extrapolated=False)
        elif measured_old is not None:
            m, seconds = measured_old
            # Every left occurrence against every right one: quadratic in the words per side.
            row.update(old_ms=round(seconds * (n / m) ** 2 * 1000, 1), old_result="(not run)",
                       old_extrapolated=True)
        if "old_ms" in row:
            row["old_over_new"] = round(row["old_ms"] / max(row["new_ms"], 1e-3))
        rows.append(row)
    return rows


def proximity_set(repeats: int) -> dict[str, Any]:
    text = " ".join(["aa", "cc", "dd", "bb"] * 3_333)
    queries = {f"q{d}": (f'("aa cc" OR aa) ONEAR/{d} (bb OR x{d})', "topic") for d in range(1, 41)}
    qs = new_query.QuerySet.from_expressions(queries)  # type: ignore[arg-type]  # literal roles
    best, report = float("inf"), None
    for _ in range(repeats):
        doc = new_query.MatchDoc.build(text)
        start = clock()
        report = qs.match_report(doc)
        best = min(best, clock() - start)
    assert report is not None
    return {"queries": len(queries), "chars": len(text), "ms": round(best * 1000, 2),
            "work_units": report.work, "budget": new_query.DEFAULT_MATCH_BUDGET, "matched": len(report.ids),
            "over_budget": len(report.over_budget)}


def markdown(r: dict[str, Any]) -> str:
    m, w = r["machine"], r["normal"]
    lines = [
        "# Query matcher: before and after the linear NEAR (issue 12)", "",
        f"Generated by `bench/bench_matching.py` on {r['date']}: one process pinned to CPU {r['pinned_cpu']} "
        f"({m['cpu_model']}, {m['logical_cores']} logical cores, Python {m['python']}); old matcher = "
        f"`libs/dengar_common/query` at `{r['old_ref']}`. Times are CPU time of the process "
        "(`time.process_time`), best of the repeats. Load average before/after: "
        f"{r['load_avg_before'][0]} / {r['load_avg_after'][0]} (shared machine).", "",
        "## Normal workload", "",
        f"{w['queries']} listening queries, {w['posts']:,} generated tweet-length posts "
        f"(bench/bench_collector.py), `MatchDoc` + `QuerySet.match`, best of {w['repeats']} (old and new "
        "alternate every 500 posts); "
        "both give identical results.", "",
        "| matcher | posts/s | µs/post |", "|---|---:|---:|",
        f"| old | {w['old_posts_per_s']:,} | {w['old_us_per_post']} |",
        f"| new | {w['new_posts_per_s']:,} | {w['new_us_per_post']} |", "",
        f"New/old throughput: **{w['new_over_old_throughput']}**.", "",
        "## The attack", "",
        f"`{ATTACK}` against `aa` x n then `bb` x n (the largest post is 40,000 characters).", "",
        "| words per side | characters | old ms | new ms | old/new | new work units | new result |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in r["attack"]:
        old_ms = f"{row['old_ms']:,}" + (" (extrapolated)" if row.get("old_extrapolated") else "")
        lines.append(f"| {row['words_per_side']:,} | {row['chars']:,} | {old_ms} | {row['new_ms']} | "
                     f"{row.get('old_over_new', 0):,} | {row['new_work_units']:,} | {row['new_result']} |")
    p = r["proximity_set"]
    lines += [
        "", "## A query set of distinct proximity queries on the largest post", "",
        f"{p['queries']} queries `(\"aa cc\" OR aa) ONEAR/d (bb OR xd)` on a {p['chars']:,}-character post: "
        f"{p['ms']} ms, {p['work_units']:,} work units of a budget of {p['budget']:,}; {p['matched']} "
        f"queries answered (matched), {p['over_budget']} reported over budget (not matched, logged).", "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--old-ref", default=OLD_REF)
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=bench_collector.SEED)
    parser.add_argument("--sizes", type=int, nargs="*", default=[250, 500, 1_000, 2_000, MAX_WORDS_PER_SIDE])
    parser.add_argument("--old-max-words", type=int, default=1_000,
                        help="largest attack size the old matcher runs (beyond: extrapolated)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = load_old(args.old_ref, Path(tmp))
        cpu = bench_collector.pin_to_one_cpu()
        load_before = os.getloadavg()
        normal = normal_workload(old, args.posts, args.repeats, args.seed)
        attacked = attack(old, args.sizes, args.old_max_words, args.repeats)
        proximity = proximity_set(args.repeats)
        load_after = os.getloadavg()
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "old_ref": args.old_ref,
        "pinned_cpu": cpu, "machine": bench_collector.machine_info(),
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in load_after],
        "normal": normal, "attack": attacked, "proximity_set": proximity,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "matching.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / MD_NAME).write_text(markdown(result), encoding="utf-8")
    print(f"normal workload: old {normal['old_posts_per_s']:,} posts/s, new {normal['new_posts_per_s']:,} "
          f"posts/s (new/old {normal['new_over_old_throughput']})")
    for row in attacked:
        print(f"attack {row['words_per_side']:>5} words/side: old {row.get('old_ms', '-')} ms"
              f"{' (extrapolated)' if row.get('old_extrapolated') else ''}, new {row['new_ms']} ms, "
              f"{row['new_work_units']:,} units")


if __name__ == "__main__":
    main()
