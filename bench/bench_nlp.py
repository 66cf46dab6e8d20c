"""NLP benchmark: validation scores, speed and memory of every model, next to VADER and TextBlob.

    .venv/bin/python bench/bench_nlp.py --data ../shared/data --out bench/results \
        [--candidate teacher=../nlp2-runs/models/teacher --candidate s6=../nlp2-runs/models/s6]

Writes ``<out>/nlp.json`` (everything measured, plus the machine) and ``<out>/nlp.md`` (tables).

What is measured:

* **Validation scores** on the full validation splits (never the held-back test splits), through the
  shipped models exactly as served: TweetEval sentiment val macro-recall (SemEval-2017's official
  metric), SmSA valid macro-F1, NusaX valid macro-F1 averaged over its 12 languages, TweetEval emotion
  val macro-F1, language-id accuracy (NusaX valid with the 8 regional languages counted as "other",
  SmSA valid as "id", TweetEval val as "en"), aspect micro-F1 on CASA/HoASA valid.  VADER and TextBlob
  run on the same sentiment data, compound/polarity mapped to 3 classes at +-0.05.
* **Speed**: posts/s and p50/p99 latency of batches of 64 tweets (a seeded sample of TweetEval
  sentiment *train* tweets, so the accuracy data is not reused and no text repeats within a slow
  model's timed run), on 1 and 2 threads.  ``encoder`` is timed as the Analyzer calls it (one post
  per model call), ``encoder_padded`` as one length-sorted padded call per batch, for comparison.
  The heads are timed alone, on precomputed embeddings.  ``analyzer`` is the full analysis as the
  service runs it (``parallelism="posts"``: a batch in ``threads`` chunks at once, one thread per
  encoder call); ``analyzer_ops`` as it ran before issue 13 (one analysis at a time, ``threads``
  intra-op threads per encoder call), timed on 2+ threads only (on 1 thread the two are the same).
* **Peak RSS** of each configuration in its own fresh process (``os.wait4`` rusage of that child), so
  no configuration inherits another's memory.  A "python floor" process (interpreter, numpy, the
  sample) shows how much of each figure is not the model.

* **Side by side** (``--candidate NAME=DIR``, repeatable; ``make nlp2-models`` passes its model sets): the
  candidates' validation scores through their own Analyzer on the same splits, and their ``encoder`` /
  ``encoder_padded`` / ``analyzer`` / ``analyzer_ops`` speed, each run right after the current files'
  run of the same configuration; ``nlp.md`` then has the side-by-side table, the speed ratio new/old
  (also logged: against today's analyser, i.e. the current files run as before issue 13, and in the
  same configuration) and an ablation table built from the levers each set's
  ``encoder/encoder.json`` records, with the parallelism of the analysis as its first lever.

Every configuration runs in a child process of this script (``--worker ...``); the parent only
collects their JSON lines.  The machine is shared, so the load average before and after is recorded.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import json
import logging
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger("bench_nlp")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = ROOT / "services" / "nlp" / "models"
SEED = 13
BATCH = 64
SENTIMENT_LABELS = ("negative", "neutral", "positive")
EMOTION_LABELS = ("anger", "joy", "optimism", "sadness")
NUSAX_LANGS = ("english", "indonesian", "javanese", "sundanese", "minangkabau", "balinese", "acehnese",
               "banjarese", "buginese", "madurese", "ngaju", "toba_batak")
NUSAX_LANGID = {"english": "en", "indonesian": "id", "javanese": "jv", "sundanese": "su"}
HEADS = ("sentiment", "emotion", "aspects")
MODELS = ("encoder", "encoder_padded", "langid", *HEADS, "analyzer", "analyzer_ops")
BASELINES = ("vader", "textblob")
# Models that run in pure Python have no thread knob: timed once, on 1 thread.
SINGLE_THREADED = ("vader", "textblob", "floor")
# Only differs from ``analyzer`` on more than one thread.
MULTI_THREADED_ONLY = ("analyzer_ops",)
# Timed for every candidate model set too (--candidate), next to the current files' run of the same
# configuration; the analyzer is the full analysis whose speed ratio issue 13 targets.
CANDIDATE_MODELS = ("encoder", "encoder_padded", "analyzer", "analyzer_ops")
CURRENT = "current"


# --- data -------------------------------------------------------------------------------------------


def load_tweeteval(path: Path) -> tuple[list[str], list[str]]:
    """``label<TAB>text`` with a header line; QUOTE_NONE because tweets contain bare quotes."""
    texts: list[str] = []
    labels: list[str] = []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for rec in reader:
            if len(rec) >= 2 and rec[1].strip():
                labels.append(rec[0].strip())
                texts.append(rec[1])
    return texts, labels


def load_smsa(path: Path) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    with path.open(encoding="utf-8", newline="") as f:
        for rec in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(rec) >= 2 and rec[0].strip():
                texts.append(rec[0])
                labels.append(rec[1].strip())
    return texts, labels


def load_nusax(data: Path, lang: str, split: str = "valid") -> tuple[list[str], list[str]]:
    with (data / "nusax_senti" / lang / f"{split}.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["label"].strip() for r in rows]


def load_aspect_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """CASA/HoASA: first column the text, then one polarity column per aspect."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        texts: list[str] = []
        gold: list[dict[str, str]] = []
        for rec in reader:
            if len(rec) != len(header):
                continue
            texts.append(rec[0])
            gold.append({name: val.strip() for name, val in zip(header[1:], rec[1:], strict=True)})
    return texts, gold


def speed_sample(data: Path, n: int) -> list[str]:
    texts, _ = load_tweeteval(data / "tweeteval_sentiment" / "train.tsv")
    return random.Random(SEED).sample(texts, min(n, len(texts)))


# --- metrics ----------------------------------------------------------------------------------------


def _per_class(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> list[tuple[int, int, int]]:
    out = []
    for c in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p != c)
        out.append((tp, fp, fn))
    return out


def macro_recall(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    per = _per_class(gold, pred, labels)
    return float(np.mean([tp / (tp + fn) if tp + fn else 0.0 for tp, _, fn in per]))


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    per = _per_class(gold, pred, labels)
    scores = [2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0 for tp, fp, fn in per]
    return float(np.mean(scores))


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    return float(np.mean([g == p for g, p in zip(gold, pred, strict=True)])) if gold else 0.0


def three_way(score: float, threshold: float = 0.05) -> str:
    """The usual VADER/TextBlob mapping of a [-1, 1] score to three classes."""
    if score >= threshold:
        return "positive"
    if score <= -threshold:
        return "negative"
    return "neutral"


def first(rows: tuple[list[str], list[Any]], limit: int) -> tuple[list[str], list[Any]]:
    """The first ``limit`` rows of a validation set (all when 0): ``--val-limit`` smoke runs, as the
    fine-tune's ``--val-limit``; applied per NusaX language, so every metric keeps its parts."""
    return rows if limit <= 0 else (rows[0][:limit], rows[1][:limit])


def sentiment_report(data: Path, predict: Callable[[list[str]], list[str]], limit: int = 0) -> dict[str, Any]:
    """TweetEval val macro-recall, SmSA valid macro-F1, NusaX valid macro-F1 (mean of 12 languages)."""
    te_x, te_y = first(load_tweeteval(data / "tweeteval_sentiment" / "val.tsv"), limit)
    sm_x, sm_y = first(load_smsa(data / "indonlu_smsa" / "valid_preprocess.tsv"), limit)
    te_p = predict(te_x)
    sm_p = predict(sm_x)
    per_lang: dict[str, float] = {}
    n_nusax = 0
    for lang in NUSAX_LANGS:
        nx_x, nx_y = first(load_nusax(data, lang), limit)
        n_nusax += len(nx_x)
        per_lang[lang] = round(macro_f1(nx_y, predict(nx_x), SENTIMENT_LABELS), 4)
    return {
        "tweeteval_sentiment_val_macro_recall": round(macro_recall(te_y, te_p, SENTIMENT_LABELS), 4),
        "tweeteval_sentiment_val_accuracy": round(accuracy(te_y, te_p), 4),
        "smsa_valid_macro_f1": round(macro_f1(sm_y, sm_p, SENTIMENT_LABELS), 4),
        "nusax_valid_macro_f1_mean12": round(float(np.mean(list(per_lang.values()))), 4),
        "nusax_valid_macro_f1": per_lang,
        "n": {"tweeteval": len(te_x), "smsa": len(sm_x), "nusax": n_nusax},
    }


def langid_sets(data: Path, limit: int = 0) -> dict[str, tuple[list[str], list[str]]]:
    sets: dict[str, tuple[list[str], list[str]]] = {}
    nx_x: list[str] = []
    nx_y: list[str] = []
    for lang in NUSAX_LANGS:
        x, _ = first(load_nusax(data, lang), limit)
        nx_x += x
        nx_y += [NUSAX_LANGID.get(lang, "other")] * len(x)
    sets["nusax_valid"] = (nx_x, nx_y)
    sm_x, _ = first(load_smsa(data / "indonlu_smsa" / "valid_preprocess.tsv"), limit)
    sets["smsa_valid"] = (sm_x, ["id"] * len(sm_x))
    te_x, _ = first(load_tweeteval(data / "tweeteval_sentiment" / "val.tsv"), limit)
    sets["tweeteval_val"] = (te_x, ["en"] * len(te_x))
    return sets


def langid_report(data: Path, predict: Callable[[list[str]], list[str]], limit: int = 0) -> dict[str, Any]:
    report: dict[str, Any] = {}
    gold_all: list[str] = []
    pred_all: list[str] = []
    for name, (x, y) in langid_sets(data, limit).items():
        p = predict(x)
        report[f"{name}_accuracy"] = round(accuracy(y, p), 4)
        gold_all += y
        pred_all += p
    report["accuracy"] = round(accuracy(gold_all, pred_all), 4)
    report["n"] = len(gold_all)
    return report


# --- child processes: one model, one configuration ----------------------------------------------------


def _batched(texts: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def time_batches(
    fn: Callable[[Sequence[Any]], object],
    items: Sequence[Any],
    *,
    min_seconds: float,
    max_seconds: float,
    min_batches: int,
    max_batches: int,
) -> dict[str, Any]:
    """Latency of each batch of ``BATCH`` items; cycles through ``items`` for fast models."""
    batches = [b for b in _batched(items, BATCH) if len(b) == BATCH]
    # Warm-up: first calls allocate arenas and fill caches; a server pays that once.
    for b in batches[:2]:
        fn(b)
    lat: list[float] = []
    start = time.perf_counter()
    cpu_start = time.process_time()
    i = 0
    while True:
        elapsed = time.perf_counter() - start
        if len(lat) >= max_batches or elapsed >= max_seconds:
            break
        if len(lat) >= min_batches and elapsed >= min_seconds:
            break
        b = batches[i % len(batches)]
        i += 1
        t0 = time.perf_counter()
        fn(b)
        lat.append(time.perf_counter() - t0)
    cpu = time.process_time() - cpu_start
    total = float(sum(lat))
    arr = np.asarray(lat) * 1000.0
    return {
        # CPU time of all this process's threads per post: less sensitive than wall time to other
        # work on a shared machine (though spinning onnxruntime threads inflate it under contention).
        "cpu_ms_per_post": round(1000.0 * cpu / max(1, len(lat) * BATCH), 4),
        "batches": len(lat),
        "posts": len(lat) * BATCH,
        "distinct_posts": min(len(lat), len(batches)) * BATCH,
        "posts_per_s": round(len(lat) * BATCH / total, 1) if total else None,
        "p50_ms": round(float(np.percentile(arr, 50)), 4),
        "p99_ms": round(float(np.percentile(arr, 99)), 4),
        "mean_ms": round(float(arr.mean()), 4),
    }


def _load_analyzer(models_dir: Path, threads: int, parallelism: str = "posts") -> Any:
    sys.path.insert(0, str(ROOT / "services" / "nlp"))
    from dengar_nlp.adapters.onnx_models import load_analyzer

    return load_analyzer(models_dir, threads=threads, parallelism=parallelism)


def _setup_speed(model: str, models_dir: Path, threads: int, sample: list[str],
                 emb_file: Path | None) -> tuple[Callable[[Sequence[Any]], object], Sequence[Any]]:
    """(function of one batch, items to feed it) for one model."""
    if model == "floor":
        return (lambda b: None), sample
    if model == "vader":
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        vader = SentimentIntensityAnalyzer()
        return (lambda b: [three_way(vader.polarity_scores(t)["compound"]) for t in b]), sample
    if model == "textblob":
        from textblob import TextBlob

        return (lambda b: [three_way(TextBlob(t).sentiment.polarity) for t in b]), sample
    if model == "encoder":
        from dengar_nlp.adapters.encoder import OnnxEncoder

        enc = OnnxEncoder(models_dir / "encoder", threads=threads)
        # As the Analyzer calls it: one post per model call (batch-independent embeddings), with the
        # heads' features when the graph has a task branch.
        return (lambda b: enc.encode_both(list(b), batch_size=1)), sample
    if model == "encoder_padded":
        from dengar_nlp.adapters.encoder import OnnxEncoder

        enc = OnnxEncoder(models_dir / "encoder", threads=threads)
        # For comparison: the whole batch in one padded, length-sorted call.
        return (lambda b: enc.encode_both(list(b), batch_size=BATCH)), sample
    if model == "langid":
        from dengar_nlp.adapters.langid_onnx import load_language_identifier

        ident = load_language_identifier(models_dir / "langid", threads=threads)
        return (lambda b: ident.identify_many(list(b))), sample
    if model in HEADS:
        if emb_file is None:
            raise SystemExit(f"{model}: --emb-file is required")
        emb = np.load(emb_file)
        head = load_head(model, models_dir, threads)
        if "ids" in head.input_names:
            # The lexical part of the sentiment model: its featurizer is timed with it.
            texts = json.loads(emb_file.with_suffix(".json").read_text(encoding="utf-8"))
            return (lambda b: head(np.stack([e for e, _ in b]), [t for _, t in b])), list(
                zip(emb, texts, strict=True))
        return (lambda b: head(np.asarray(b))), emb
    if model in ("analyzer", "analyzer_ops"):
        analyzer = _load_analyzer(models_dir, threads, "posts" if model == "analyzer" else "operators")
        return (lambda b: analyzer.analyze(list(b))), sample
    raise SystemExit(f"unknown model {model!r}")


def load_head(name: str, models_dir: Path, threads: int) -> Any:
    """A head alone (``heads/<name>.onnx``), as the Analyzer loads it: a function of a batch of
    encoder embeddings (and, for the sentiment model, of the prepared texts)."""
    sys.path.insert(0, str(ROOT / "services" / "nlp"))
    from dengar_nlp.adapters.heads_onnx import OnnxHead

    return OnnxHead(models_dir / "heads" / f"{name}.onnx", threads=threads)


def worker_speed(args: argparse.Namespace) -> dict[str, Any]:
    sample = speed_sample(args.data, args.speed_posts)
    t0 = time.perf_counter()
    fn, items = _setup_speed(args.model, args.models_dir, args.threads, sample, args.emb_file)
    load_s = time.perf_counter() - t0
    slow = args.model in ("encoder", "encoder_padded", "analyzer", "analyzer_ops", "textblob")
    # Slow models run through the sample once (or until --max-seconds) and never cycle, so every
    # timed post is new and nothing could be cached between passes; fast ones cycle for a while.
    n_distinct = len(items) // BATCH
    timing = time_batches(
        fn, items,
        min_seconds=args.min_seconds,
        max_seconds=args.max_seconds,
        min_batches=n_distinct if slow else 20,
        max_batches=n_distinct if slow else args.max_batches,
    )
    return {"model": args.model, "threads": args.threads, "load_s": round(load_s, 2), **timing}


def worker_embed(args: argparse.Namespace) -> dict[str, Any]:
    """What the heads read for the speed sample, for their timing (computed once, on all threads)."""
    from dengar_nlp.adapters.encoder import OnnxEncoder
    from dengar_nlp.domain.text import prepare_text

    sample = speed_sample(args.data, args.head_posts)
    enc = OnnxEncoder(args.models_dir / "encoder", threads=args.threads)
    prepared = [prepare_text(t) for t in sample]
    emb = enc.encode_features(prepared, batch_size=BATCH)
    np.save(args.emb_file, emb)
    args.emb_file.with_suffix(".json").write_text(json.dumps(prepared), encoding="utf-8")
    return {"model": "embed", "rows": int(emb.shape[0])}


def worker_accuracy(args: argparse.Namespace) -> dict[str, Any]:
    data = args.data
    t0 = time.perf_counter()
    out: dict[str, Any] = {"model": args.model}
    if args.model == "vader":
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        vader = SentimentIntensityAnalyzer()
        out["sentiment"] = sentiment_report(
            data, lambda xs: [three_way(vader.polarity_scores(t)["compound"]) for t in xs], args.val_limit)
    elif args.model == "textblob":
        from textblob import TextBlob

        out["sentiment"] = sentiment_report(
            data, lambda xs: [three_way(TextBlob(t).sentiment.polarity) for t in xs], args.val_limit)
    elif args.model == "langid":
        from dengar_nlp.adapters.langid_onnx import load_language_identifier

        ident = load_language_identifier(args.models_dir / "langid", threads=args.threads)
        out["langid"] = langid_report(data, lambda xs: [r.language for r in ident.identify_many(xs)],
                                      args.val_limit)
    elif args.model == "analyzer":
        out.update(analyzer_accuracy(args))
    else:
        raise SystemExit(f"no accuracy for {args.model!r}")
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def analyzer_accuracy(args: argparse.Namespace) -> dict[str, Any]:
    """Every validation score through ``Analyzer.analyze``, i.e. exactly what `dengar analyze` returns."""
    analyzer = _load_analyzer(args.models_dir, args.threads)
    # Sentiment and language id read the same validation texts: analyse each text once.  Exact,
    # because the Analyzer's results do not depend on which other posts share a batch.
    memo: dict[str, Any] = {}

    def run(xs: list[str]) -> list[Any]:
        todo = list(dict.fromkeys(x for x in xs if x not in memo))
        for b in _batched(todo, BATCH):
            memo.update(zip(b, analyzer.analyze(list(b)), strict=True))
        return [memo[x] for x in xs]

    data = args.data
    limit = args.val_limit
    result: dict[str, Any] = {
        "model_version": analyzer.model_version,
        "models_dir": str(args.models_dir),
        # First: it imports the training package, the part most likely to break, so it fails fast.
        "aspects": aspect_report(data, run, limit),
        "sentiment": sentiment_report(data, lambda xs: [a.sentiment.label for a in run(xs)], limit),
        "langid": langid_report(data, lambda xs: [a.language for a in run(xs)], limit),
    }
    em_x, em_y = first(load_tweeteval(data / "tweeteval_emotion" / "val.tsv"), limit)
    em_p = [a.emotion.label for a in run(em_x)]
    result["emotion"] = {
        "tweeteval_emotion_val_macro_f1": round(macro_f1(em_y, em_p, EMOTION_LABELS), 4),
        "tweeteval_emotion_val_accuracy": round(accuracy(em_y, em_p), 4),
        "n": len(em_x),
    }
    return result


def aspect_report(data: Path, run: Callable[[list[str]], list[Any]], limit: int = 0) -> dict[str, Any]:
    """Aspect detection micro-F1 and polarity accuracy on CASA and HoASA valid, as served.

    The gold mapping of CASA/HoASA columns onto Dengar's aspect taxonomy, and which aspects each set
    labels exhaustively, are imported from the training package (``services/nlp/scripts/training``) so
    that bench and training cannot drift. Only those exhaustively labelled aspects are scored;
    CASA/HoASA "neutral" means "not mentioned", so gold polarity is positive/negative (conflicts are skipped).
    """
    sys.path.insert(0, str(ROOT / "services" / "nlp" / "scripts"))
    from training.data import COVERAGE, load_casa, load_hoasa

    sets = {
        "casa": load_casa(data / "indonlu_casa" / "valid_preprocess.csv"),
        "hoasa": load_hoasa(data / "indonlu_hoasa" / "valid_preprocess.csv"),
    }
    if limit > 0:
        sets = {k: v[:limit] for k, v in sets.items()}
    report: dict[str, Any] = {}
    for name, rows in sets.items():
        covered = COVERAGE[name]
        results = run([r.text for r in rows])
        tp = fp = fn = 0
        pol_ok = pol_n = 0
        for row, res in zip(rows, results, strict=True):
            pred = {a.name: a.polarity for a in res.aspects}
            for aspect in covered:
                g, p = aspect in row.aspects, aspect in pred
                tp += g and p
                fp += p and not g
                fn += g and not p
                if g and p and row.aspects[aspect] != "conflict":
                    pol_n += 1
                    pol_ok += pred[aspect] == row.aspects[aspect]
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        report[name] = {
            "aspects_scored": sorted(covered),
            "detection_micro_f1": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0,
            "detection_precision": round(prec, 4),
            "detection_recall": round(rec, 4),
            "polarity_accuracy_on_detected": round(pol_ok / pol_n, 4) if pol_n else None,
            "polarity_n": pol_n,
            "n_sentences": len(rows),
        }
    return report


def worker_main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.path.insert(0, str(ROOT / "services" / "nlp"))
    if args.worker == "speed":
        result = worker_speed(args)
    elif args.worker == "embed":
        result = worker_embed(args)
    else:
        result = worker_accuracy(args)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


# --- parent: run the children, write the report -----------------------------------------------------


def _cpu_busy_seconds() -> float | None:
    """Busy CPU-seconds of the whole machine since boot (all cores), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def others_busy_pct(seconds: float) -> float | None:
    """Share of the machine (all cores) busy over the next ``seconds``; only this process is idle."""
    before = _cpu_busy_seconds()
    time.sleep(seconds)
    after = _cpu_busy_seconds()
    if before is None or after is None:
        return None
    return 100.0 * (after - before) / (seconds * (os.cpu_count() or 1))


class QuietWaiter:
    """Waits (within a total budget) for the shared machine to be quiet before a timed run."""

    def __init__(self, budget_s: float, busy_pct: float = 30.0) -> None:
        self.budget_s = budget_s
        self.busy_pct = busy_pct
        self.waited_s = 0.0

    def wait(self) -> float | None:
        busy = others_busy_pct(1.0)
        while busy is not None and busy > self.busy_pct and self.waited_s < self.budget_s:
            self.waited_s += 3.0
            busy = others_busy_pct(3.0)
        return None if busy is None else round(busy, 1)


def run_child(cmd: list[str], what: str) -> dict[str, Any]:
    """Run one child; its JSON result plus wall time, peak RSS and CPU time of that child alone, and
    how busy the rest of the machine was meanwhile (``others_cpu_pct``, of all cores)."""
    logger.info("%s ...", what)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy0 = _cpu_busy_seconds()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        # wait4 gives this child's own rusage; RUSAGE_CHILDREN would be the max over all children.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        busy1 = _cpu_busy_seconds()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
        stderr = err.read().decode("utf-8", errors="replace")
    if proc.returncode != 0:
        sys.stderr.write(stderr)
        raise SystemExit(f"bench_nlp: {what} failed with exit code {proc.returncode}")
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"bench_nlp: {what} printed no result\n{stderr}")
    result = json.loads(lines[-1])
    result["wall_s"] = round(wall, 1)
    # Linux reports ru_maxrss in KiB.
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    child_cpu = usage.ru_utime + usage.ru_stime
    result["child_cpu_s"] = round(child_cpu, 1)
    if busy0 is not None and busy1 is not None and wall > 0:
        others = max(0.0, (busy1 - busy0) - child_cpu)
        result["others_cpu_pct"] = round(100.0 * others / (wall * (os.cpu_count() or 1)), 1)
    logger.info("%s: %s", what, {k: v for k, v in result.items() if not isinstance(v, dict)})
    return result


def machine_info() -> dict[str, Any]:
    cpu_model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    import onnxruntime

    return {
        "cpu_model": cpu_model,
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": mem_gb,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
    }


# --- side by side: current files vs candidate model sets (issue 13) -------------------------------------


def parse_candidate(spec: str) -> tuple[str, Path]:
    name, sep, path = spec.partition("=")
    if not (sep and name and path):
        raise argparse.ArgumentTypeError(f"--candidate wants NAME=DIR, got {spec!r}")
    if name == CURRENT:
        raise argparse.ArgumentTypeError(f"{CURRENT!r} names the --models-dir set; choose another name")
    return name, Path(path)


def levers_of(models_dir: Path) -> dict[str, Any]:
    """The levers of a model set that the ablation table compares, from its ``encoder/encoder.json``.

    ``export_finetuned.py`` records them under ``levers``; for an encoder without that key (the bundled
    one) they are derived: the frozen e5 weights, 12 layers, its sequence cap and quantisation.
    """
    meta = json.loads((models_dir / "encoder" / "encoder.json").read_text(encoding="utf-8"))
    recorded = meta.get("levers") or {}
    finetune = meta.get("finetune") or {}
    run_meta = finetune.get("meta") or {}
    quant = str((meta.get("onnx") or {}).get("quantization", ""))
    if "teacher" in run_meta:
        weights = "distilled"
    elif finetune:
        weights = "fine-tuned"
    else:
        weights = "frozen e5"
    return {
        "weights": recorded.get("weights", weights),
        "layers": recorded.get("layers", finetune.get("layers", 12)),
        "max_length": recorded.get("max_length", meta.get("max_length", 128)),
        "quantization": recorded.get("quantization", "dynamic int8" if "quantize_dynamic" in quant else
                                     (quant or "fp32")),
        "fusions": recorded.get("fusions", "none"),
    }


def set_scores(acc: dict[str, Any]) -> dict[str, float | None]:
    """The validation figures of one model set, as the fine-tune's validation reports them."""
    s = acc["sentiment"]
    aspects = acc.get("aspects") or {}
    return {
        "tweeteval": s["tweeteval_sentiment_val_macro_recall"],
        "smsa": s["smsa_valid_macro_f1"],
        "nusax": s["nusax_valid_macro_f1_mean12"],
        "emotion": acc["emotion"]["tweeteval_emotion_val_macro_f1"],
        "casa": (aspects.get("casa") or {}).get("detection_micro_f1"),
        "hoasa": (aspects.get("hoasa") or {}).get("detection_micro_f1"),
        "langid": acc["langid"]["accuracy"],
    }


SCORE_COLUMNS = (
    ("tweeteval", "TweetEval macro-recall"),
    ("smsa", "SmSA macro-F1"),
    ("nusax", "NusaX 12-lang macro-F1"),
    ("emotion", "emotion macro-F1"),
    ("casa", "CASA aspects F1"),
    ("hoasa", "HoASA aspects F1"),
    ("langid", "language id acc."),
)


def _speed_table(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """{model: {threads: the timing figures}} of one set's speed rows."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["model"], {})[str(r["threads"])] = {
            k: r.get(k) for k in ("posts_per_s", "p50_ms", "p99_ms", "peak_rss_mb", "others_cpu_pct")}
    return out


def _ratio(new: float | None, old: float | None) -> float | None:
    return round(new / old, 3) if new and old else None


def _todays_rates(base: dict[str, dict[str, dict[str, Any]]]) -> dict[str, float | None]:
    """Posts/s of today's analyser per thread count: the current files analysed as before issue 13
    (``analyzer_ops``), or ``analyzer`` where that was not timed (1 thread: the same code path)."""
    out: dict[str, float | None] = {}
    for t, v in base.get("analyzer", {}).items():
        ops = base.get("analyzer_ops", {}).get(t)
        out[t] = (ops or v)["posts_per_s"]
    return out


def side_by_side(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per model set, the current files first: levers, validation scores, speed, the speed
    ratio new/old (posts/s of the set / posts/s of the current files, same model and thread count) and
    ``vs_today``: the set's full analysis as the service runs it against today's analyser (the current
    files analysed as before issue 13, one analysis at a time), per thread count."""
    sets = [(CURRENT, str(report["accuracy"]["analyzer"].get("models_dir", "")), report["current_levers"],
             report["accuracy"]["analyzer"], report["speed"])]
    sets += [(name, c["models_dir"], c["levers"], c["accuracy"], c["speed"])
             for name, c in report["candidates"].items()]
    base = _speed_table(report["speed"])
    today = _todays_rates(base)
    out = []
    for name, models_dir, levers, acc, rows in sets:
        speed = _speed_table(rows)
        ratio = {
            model: {t: _ratio(v["posts_per_s"], base.get(model, {}).get(t, {}).get("posts_per_s"))
                    for t, v in by_threads.items()}
            for model, by_threads in speed.items() if model in CANDIDATE_MODELS
        }
        vs_today = {t: _ratio(v["posts_per_s"], today.get(t)) for t, v in speed.get("analyzer", {}).items()}
        out.append({"name": name, "models_dir": models_dir, "levers": levers, "scores": set_scores(acc),
                    "speed": {m: v for m, v in speed.items() if m in CANDIDATE_MODELS}, "ratio": ratio,
                    "vs_today": vs_today})
    return out


def _ratio_parts(r: dict[str, float | None]) -> str:
    return ", ".join(f"{t} thread{'s' if t != '1' else ''} {v:.2f}x" if v else f"{t} threads —"
                     for t, v in sorted(r.items(), key=lambda kv: int(kv[0]))) or "—"


def ratio_lines(report: dict[str, Any]) -> list[str]:
    """The headline: the full analysis' speed ratio new/old of every candidate, per thread count,
    against today's analyser and against the current files in the same configuration."""
    lines = []
    for entry in report.get("side_by_side", [])[1:]:
        r = entry["ratio"].get("analyzer") or entry["ratio"].get("encoder") or {}
        which = "analyzer" if entry["ratio"].get("analyzer") else "encoder"
        sc = entry["scores"]
        lines.append(f"speed ratio new/old, {entry['name']} vs today's analyser: "
                     f"{_ratio_parts(entry.get('vs_today') or {})}; vs {CURRENT} ({which}, same "
                     f"configuration): {_ratio_parts(r)}; validation TE {_fmt(sc['tweeteval'])} "
                     f"SmSA {_fmt(sc['smsa'])} NusaX {_fmt(sc['nusax'])} emotion {_fmt(sc['emotion'])}")
    return lines


def _lever_text(levers: dict[str, Any]) -> str:
    return (f"{levers['weights']}, {levers['layers']} layers, cap {levers['max_length']}, "
            f"{levers['quantization']}, fusions {levers['fusions']}")


def _delta(new: float | None, old: float | None) -> str:
    if new is None or old is None:
        return "—"
    return f"{100 * (new - old):+.1f}"


def comparison_markdown(report: dict[str, Any]) -> list[str]:
    entries = report.get("side_by_side") or []
    if len(entries) < 2:
        return []
    threads = sorted({t for e in entries for by_t in e["speed"].values() for t in by_t}, key=int)
    limit = report.get("val_limit") or 0
    lines = [
        "## Side by side: current files vs candidate model sets",
        "",
        "Same run, same data, same machine. "
        + (f"**Smoke run: only the first {limit} rows of each validation set** (NusaX: per language), so "
           "the scores below are not comparable with full-split figures. " if limit else
           "Full validation splits. ")
        + "Speed: the full analysis (`analyzer`: language, sentiment, emotion, aspects, embedding, as the "
        "service runs it, posts in parallel; `analyzer_ops`: one analysis at a time, as before issue 13) and "
        "the encoder alone, each set timed right after the current files in the same configuration. "
        f"*vs today* compares a set's `analyzer` with `{CURRENT}`'s `analyzer_ops` on as many threads "
        "(today's analyser; on 1 thread the two are the same).",
        "",
        "| model set | levers | " + " | ".join(label for _, label in SCORE_COLUMNS) + " |",
        "|---|---|" + "---|" * len(SCORE_COLUMNS),
    ]
    for e in entries:
        lines.append(f"| **{e['name']}** | {_lever_text(e['levers'])} | "
                     + " | ".join(_fmt(e["scores"][k]) for k, _ in SCORE_COLUMNS) + " |")
    lines += [
        "",
        "| model set | model | threads | posts/s | speed ratio new/old | vs today | p50 batch ms "
        "| p99 batch ms | peak RSS MB | others' CPU % |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model in CANDIDATE_MODELS:
        for t in threads:
            for e in entries:
                v = e["speed"].get(model, {}).get(t)
                if v is None:
                    continue
                r = e["ratio"].get(model, {}).get(t)
                today = e.get("vs_today", {}).get(t) if model == "analyzer" else None
                lines.append(
                    f"| {e['name']} | {model} | {t} | {_fmt_rate(v['posts_per_s'])} | "
                    f"{'—' if r is None else f'**{r:.2f}×**' if e['name'] != CURRENT else '1.00×'} | "
                    f"{'—' if today is None else f'{today:.2f}×'} | "
                    f"{_fmt_ms(v['p50_ms'])} | {_fmt_ms(v['p99_ms'])} | {_fmt(v['peak_rss_mb'], 0)} | "
                    f"{_fmt(v.get('others_cpu_pct'), 0)} |")
    lines += ["", *ablation_markdown(entries, threads), ""]
    return lines


def ablation_markdown(entries: Sequence[dict[str, Any]], threads: Sequence[str]) -> list[str]:
    """Which lever gave what: each row against the row above it, in the order the candidates were
    given (pass them so that each adds one lever).  The first lever is the analysis' parallelism: when
    ``analyzer_ops`` was timed, the first row is today's analyser (the current files, one analysis at
    a time) and the next the current files with posts in parallel."""
    t = threads[-1] if threads else "2"
    rows: list[dict[str, Any]] = []
    current = entries[0]
    ops = current["speed"].get("analyzer_ops", {}).get(t)
    if ops:
        rows.append({"name": f"{CURRENT}, as before issue 13", "scores": current["scores"],
                     "levers": {"parallelism": "operators", **current["levers"]}, "rate": ops["posts_per_s"]})
    for e in entries:
        rows.append({"name": e["name"], "scores": e["scores"],
                     "levers": {"parallelism": "posts", **e["levers"]},
                     "rate": e["speed"].get("analyzer", {}).get(t, {}).get("posts_per_s")})
    first = "today's analyser" if ops else f"`{CURRENT}`"
    lines = [
        "### Ablation: which lever gave what",
        "",
        f"Each row against the row above it: the levers that changed, the full analysis' speed on {t} "
        f"thread(s) against the row above and against {first} (the first row), and the change of each "
        "validation score in points. Order the `--candidate`s so that each adds one lever "
        "(e.g. teacher, 6-layer student, + sequence cap 64, + static int8, + fusions).",
        "",
        f"| model set | lever(s) changed | speed vs row above ({t} thr) | speed vs {first} | "
        + " | ".join(f"Δ {label}" for _, label in SCORE_COLUMNS) + " |",
        "|---|---|---|---|" + "---|" * len(SCORE_COLUMNS),
    ]
    base = rows[0]["rate"]
    for prev, e in itertools.pairwise(rows):
        changed = [f"{k}: {prev['levers'].get(k)} → {v}" for k, v in e["levers"].items()
                   if prev["levers"].get(k) != v]
        vs_prev = _ratio(e["rate"], prev["rate"])
        vs_first = _ratio(e["rate"], base)
        lines.append(
            f"| {e['name']} | {'; '.join(changed) or '(none: retrained heads only)'} | "
            f"{'—' if vs_prev is None else f'{vs_prev:.2f}×'} | "
            f"{'—' if vs_first is None else f'{vs_first:.2f}×'} | "
            + " | ".join(_delta(e["scores"][k], prev["scores"][k]) for k, _ in SCORE_COLUMNS) + " |")
    return lines


def _fmt(v: object, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _fmt_rate(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.0f}" if v >= 1000 else f"{v:.1f}"


def _fmt_ms(v: float | None) -> str:
    # Heads take microseconds per batch: fixed decimals would print them as 0.0.
    if v is None:
        return "—"
    return f"{v:.1f}" if v >= 10 else f"{v:.3g}"


def render_markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    acc = report["accuracy"]
    ours = acc["analyzer"]
    lines = [
        "# NLP benchmark",
        "",
        f"Generated {report['timestamp']} by `make bench-nlp` (`bench/bench_nlp.py`) in "
        f"{report['total_seconds']:.0f} s.  Model version `{ours.get('model_version', '?')}`.",
        "",
        f"Machine: {m['cpu_model']}, {m['usable_cores']} usable of {m['logical_cores']} logical cores, "
        f"{m['memory_gb']} GB RAM, {m['platform']}, Python {m['python']}, onnxruntime {m['onnxruntime']}. "
        f"Load average before/after: {report['loadavg_before']} / {report['loadavg_after']} "
        "(the machine is shared, so speed figures are indicative).",
        "",
        "## Validation scores (full validation splits)",
        "",
        "| system | TweetEval sent. val macro-recall | SmSA valid macro-F1 "
        "| NusaX valid macro-F1 (12-lang mean) | TweetEval emotion val macro-F1 | language id accuracy |",
        "|---|---|---|---|---|---|",
    ]

    def sent_cells(s: dict[str, Any]) -> str:
        return (f"{_fmt(s['tweeteval_sentiment_val_macro_recall'])} | {_fmt(s['smsa_valid_macro_f1'])} | "
                f"{_fmt(s['nusax_valid_macro_f1_mean12'])}")

    lines.append(f"| **Dengar Analyzer** | {sent_cells(ours['sentiment'])} | "
                 f"{_fmt(ours['emotion']['tweeteval_emotion_val_macro_f1'])} | "
                 f"{_fmt(ours['langid']['accuracy'])} |")
    for name, label in (("vader", "VADER 3.3.2 (±0.05)"), ("textblob", "TextBlob 0.20.1 (±0.05)")):
        lines.append(f"| {label} | {sent_cells(acc[name]['sentiment'])} | — | — |")
    lines += [
        "",
        "NusaX per language (macro-F1): "
        + ", ".join(f"{k} {v:.2f}" for k, v in ours["sentiment"]["nusax_valid_macro_f1"].items())
        + ".  NusaX-Indonesian nearly duplicates SmSA train rows (data README), so its figure is inflated.",
        "",
        "Language id: " + ", ".join(f"{k.removesuffix('_accuracy')} {v:.4f}"
                                    for k, v in ours["langid"].items() if k.endswith("_accuracy"))
        + " (NusaX's 8 regional languages count as `other`).",
        "",
    ]
    lines += aspect_markdown(ours.get("aspects"))
    lines += comparison_markdown(report)
    lines += [
        "## Speed and memory",
        "",
        f"Batches of {BATCH} TweetEval train tweets (mean {report['sample_mean_chars']:.0f} characters); "
        "heads timed alone on precomputed embeddings; peak RSS is the whole process in a fresh "
        f"interpreter (the bare interpreter + numpy + sample floor is {report['floor_rss_mb']:.0f} MB).",
        "",
        "| model | threads | validation | posts/s | p50 batch ms | p99 batch ms | CPU ms/post | peak RSS MB "
        "| load s | others' CPU % |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["speed"]:
        lines.append(
            f"| {row['model']} | {row['threads']} | {row.get('validation', '—')} | "
            f"{_fmt_rate(row['posts_per_s'])} | "
            f"{_fmt_ms(row['p50_ms'])} | {_fmt_ms(row['p99_ms'])} | "
            f"{_fmt_ms(row['cpu_ms_per_post'])} | {_fmt(row['peak_rss_mb'], 0)} | "
            f"{_fmt(row['load_s'], 2)} | {_fmt(row.get('others_cpu_pct'), 0)} |"
        )
    lines += [
        "",
        "p99 is over the number of timed batches in `nlp.json` (`batches`); for the slow models that is a "
        "few dozen, so p99 is close to the maximum.  Validation scores do not depend on the thread count "
        "and were computed once.  `encoder` is timed as the Analyzer calls it (one post per model call); "
        "`encoder_padded` is the same model fed each batch as one length-sorted padded call.  VADER and "
        "TextBlob are pure Python and have no thread setting.  *others' CPU %* is how much of the machine "
        "(all cores) other processes used while that configuration ran: where it is high, the 2-thread "
        "figures mostly measure contention, not the model.",
        "",
    ]
    return "\n".join(lines)


def aspect_markdown(aspects: dict[str, Any] | None) -> list[str]:
    if not aspects:
        return []
    lines = [
        "Aspects (Indonesian CASA/HoASA valid, only the aspects each set labels exhaustively; see "
        "`services/nlp/models/heads/METRICS.md` for the SemEval hold-out and per-aspect figures):",
        "",
        "| data | aspects scored | detection micro-F1 (P / R) | polarity accuracy on detected (n) |",
        "|---|---|---|---|",
    ]
    for name, r in aspects.items():
        pol = r["polarity_accuracy_on_detected"]
        lines.append(
            f"| {name} valid ({r['n_sentences']}) | {', '.join(r['aspects_scored'])} | "
            f"{r['detection_micro_f1']:.3f} ({r['detection_precision']:.3f} / {r['detection_recall']:.3f}) | "
            f"{_fmt(pol)} ({r['polarity_n']}) |"
        )
    return [*lines, ""]


def validation_cell(model: str, acc: dict[str, Any]) -> str:
    ours = acc["analyzer"]
    s = ours["sentiment"]
    if model == "langid":
        return f"acc {acc['langid']['langid']['accuracy']:.3f}"
    if model == "sentiment" or model in BASELINES:
        src = s if model == "sentiment" else acc[model]["sentiment"]
        return (f"TE {src['tweeteval_sentiment_val_macro_recall']:.3f} · "
                f"SmSA {src['smsa_valid_macro_f1']:.3f} "
                f"· NusaX {src['nusax_valid_macro_f1_mean12']:.3f}")
    if model == "emotion":
        return f"F1 {ours['emotion']['tweeteval_emotion_val_macro_f1']:.3f}"
    if model == "aspects":
        asp = ours.get("aspects") or {}
        return " · ".join(f"{k} F1 {v['detection_micro_f1']:.3f}" for k, v in asp.items()) or "—"
    if model == "analyzer":
        return "all of the above"
    if model == "analyzer_ops":
        return "as analyzer"
    return "—"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="shared datasets folder")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS)
    p.add_argument("--threads-list", type=int, nargs="+", default=[1, 2], help="thread counts to time")
    p.add_argument("--speed-posts", type=int, default=4096, help="tweets in the speed sample")
    p.add_argument("--head-posts", type=int, default=1024, help="embedded tweets for timing the heads")
    p.add_argument("--min-seconds", type=float, default=2.0, help="time each configuration at least this")
    p.add_argument("--max-seconds", type=float, default=25.0, help="and at most this")
    p.add_argument("--max-batches", type=int, default=20000, help="for fast models (they cycle the sample)")
    p.add_argument("--only", nargs="+", default=None, help="speed-test only these models")
    p.add_argument("--candidate", action="append", default=[], type=parse_candidate, metavar="NAME=DIR",
                   help="a model set (encoder/, langid/, heads/) to bench next to --models-dir in the same "
                        "run: validation, and the encoder and analyzer speed; repeat for several, in "
                        "ablation order (each row of the ablation table is compared with the one before)")
    p.add_argument("--val-limit", type=int, default=0,
                   help="smoke runs: only the first N rows of each validation set (NusaX: per language)")
    p.add_argument("--quiet-wait-s", type=float, default=150.0,
                   help="total seconds to spend waiting for other work on the machine to calm down")
    # Internal: run one configuration (used by the parent; also handy for profiling one model).
    p.add_argument("--worker", choices=("speed", "accuracy", "embed"), help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--emb-file", type=Path, default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.data = args.data.resolve()
    args.models_dir = args.models_dir.resolve()
    if args.worker:
        return worker_main(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bench_nlp: %(message)s")
    if not (args.data / "tweeteval_sentiment").is_dir():
        sys.stderr.write(f"bench_nlp: {args.data} is not the shared data folder (no tweeteval_sentiment/)\n")
        return 2
    if not args.models_dir.is_dir():
        sys.stderr.write(f"bench_nlp: models directory {args.models_dir} does not exist "
                         "(run `make models`)\n")
        return 2
    candidates = {name: path.resolve() for name, path in args.candidate}
    if len(candidates) != len(args.candidate):
        sys.stderr.write("bench_nlp: --candidate names must differ\n")
        return 2
    for name, path in candidates.items():
        missing = [f for f in ("encoder/encoder.json", "encoder/model.onnx", "langid/langid.onnx",
                               *(f"heads/{h}.onnx" for h in HEADS)) if not (path / f).is_file()]
        if missing:
            sys.stderr.write(f"bench_nlp: candidate {name} ({path}) lacks {', '.join(missing)}\n")
            return 2
    started = time.perf_counter()
    timestamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    loadavg_before = [round(x, 2) for x in os.getloadavg()]
    me = [sys.executable, str(Path(__file__).resolve())]
    common = ["--data", str(args.data), "--models-dir", str(args.models_dir),
              "--val-limit", str(args.val_limit)]

    def with_models(cmd: list[str], models_dir: Path) -> list[str]:
        return [str(models_dir) if i > 0 and cmd[i - 1] == "--models-dir" else c for i, c in enumerate(cmd)]

    knobs = ["--speed-posts", str(args.speed_posts), "--head-posts", str(args.head_posts),
             "--min-seconds", str(args.min_seconds), "--max-seconds", str(args.max_seconds),
             "--max-batches", str(args.max_batches)]

    accuracy_results = {
        name: run_child([*me, *common, "--worker", "accuracy", "--model", name, "--threads",
                         str(max(args.threads_list))], f"accuracy {name}")
        for name in ("analyzer", "langid", *BASELINES)
    }
    cand_reports: dict[str, dict[str, Any]] = {
        name: {
            "models_dir": str(path),
            "levers": levers_of(path),
            "accuracy": run_child(with_models([*me, *common, "--worker", "accuracy", "--model", "analyzer",
                                               "--threads", str(max(args.threads_list))], path),
                                  f"accuracy {name} analyzer"),
            "speed": [],
        }
        for name, path in candidates.items()
    }

    speed_rows: list[dict[str, Any]] = []
    waiter = QuietWaiter(args.quiet_wait_s)
    wanted = args.only or [*MODELS, *BASELINES]
    with tempfile.TemporaryDirectory(prefix="bench-nlp-") as tmp:
        emb_file = Path(tmp) / "emb.npy"
        if any(m in HEADS for m in wanted):
            run_child([*me, *common, *knobs, "--worker", "embed", "--threads", str(max(args.threads_list)),
                       "--emb-file", str(emb_file)], "embedding the head sample")
        floor = run_child([*me, *common, *knobs, "--worker", "speed", "--model", "floor"], "python floor")
        for model in wanted:
            threads_list = ([1] if model in SINGLE_THREADED else
                            [t for t in args.threads_list if t > 1] if model in MULTI_THREADED_ONLY else
                            args.threads_list)
            for threads in threads_list:
                cmd = [*me, *common, *knobs, "--worker", "speed", "--model", model, "--threads", str(threads)]
                if model in HEADS:
                    cmd += ["--emb-file", str(emb_file)]
                busy_before = waiter.wait()
                row = run_child(cmd, f"speed {model} x{threads}")
                row["others_busy_before_pct"] = busy_before
                row["validation"] = validation_cell(model, accuracy_results)
                speed_rows.append(row)
                if model not in CANDIDATE_MODELS:
                    continue
                # Right after the current files' run of the same configuration, so that the ratio
                # compares runs under the same load of the shared machine.
                for name, path in candidates.items():
                    busy_before = waiter.wait()
                    crow = run_child(with_models(cmd, path), f"speed {name} {model} x{threads}")
                    crow["others_busy_before_pct"] = busy_before
                    crow["validation"] = "see the side-by-side table"
                    cand_reports[name]["speed"].append(crow)

    sample = speed_sample(args.data, args.speed_posts)
    report: dict[str, Any] = {
        "timestamp": timestamp,
        "machine": machine_info(),
        "loadavg_before": loadavg_before,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "batch_size": BATCH,
        "sample_posts": len(sample),
        "sample_mean_chars": round(float(np.mean([len(t) for t in sample])), 1),
        "floor_rss_mb": floor["peak_rss_mb"],
        "quiet_wait_s": waiter.waited_s,
        "accuracy": accuracy_results,
        "speed": speed_rows,
        "val_limit": args.val_limit,
        "current_levers": levers_of(args.models_dir),
        "candidates": cand_reports,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    if cand_reports:
        report["side_by_side"] = side_by_side(report)
        for line in ratio_lines(report):
            logger.info("%s", line)
    args.out.mkdir(parents=True, exist_ok=True)
    _write_atomic(args.out / "nlp.json", json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    _write_atomic(args.out / "nlp.md", render_markdown(report))
    logger.info("wrote %s and %s in %.0f s", args.out / "nlp.json", args.out / "nlp.md",
                report["total_seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
