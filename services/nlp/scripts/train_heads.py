"""Train the sentiment, emotion and aspect heads on frozen e5 embeddings and export them to ONNX.

    .venv/bin/python services/nlp/scripts/train_heads.py --data /work/shared/data \
        --out services/nlp/models/heads --cache .cache/emb [--encoder DIR]

Every head reads what ``OnnxEncoder.encode_features`` gives (``--encoder``: the bundled
``models/encoder`` by default, or e.g. a fine-tuned one from ``export_finetuned.py``): the L2-normalised
384-d embedding, or the ``features`` output of an encoder with a task branch, of the text as prepared
by ``dengar_nlp.domain.text.prepare_text`` and writes ``<head>.onnx`` (input ``embedding`` float32
[N, 384], output ``probs`` float32 [N, C]; the temperature is folded in) and
``<head>.json`` (labels, thresholds, data, validation metrics, sha256).  The sentiment model also
takes the hashed char/word n-grams of the prepared text (inputs ``ids`` / ``values`` from
``dengar_nlp.domain.hashed_features.sentiment_features``): a lexical logistic regression stacked with
the embedding head (``SentimentStack``).  ``METRICS.md`` collects the
validation numbers and ``tests/unit/nlp/fixtures/heads_parity.npz`` the parity fixture (random unit
vectors and embeddings of self-written sentences, with the training-time model's probabilities).

Data (from ``--data``; nothing is copied into the repo):
  sentiment  TweetEval sentiment train, IndoNLU SmSA train, NusaX train (12 languages), after removing
             SmSA-train rows that nearly duplicate NusaX-Indonesian valid rows (NusaX was built from
             SmSA, and the other 11 languages are translations of the Indonesian rows) or SmSA valid
             rows, and NusaX-train sentence ids whose Indonesian text nearly duplicates SmSA valid.
  emotion    TweetEval emotion train.
  aspects    SemEval-2014 restaurants + laptops (85% train / 15% held out, seed 13), CASA and HoASA
             train, mapped onto ``dengar_nlp.domain.aspects.TAXONOMY``; the seed phrases of the
             taxonomy as extra positives; TweetEval tweets and SmSA neutral sentences with no
             aspect keyword as background negatives.
Validation: the val/valid splits (TweetEval, SmSA, NusaX, TweetEval emotion, CASA, HoASA) and the
SemEval hold-out.  Model choices are made on a small grid only; the temperature is fitted on a
held-out part of train, never on validation.

Needs scikit-learn and onnx (the ``train`` extra); nothing here is imported by the service.  This file
is the command line; the code is the ``training`` package next to it (data, fit, heads, export, report).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

# ``training`` first: it makes services/nlp importable when dengar_nlp is not installed.
from training import FIXTURE, QUALITY_FIXTURE, REPO, ROOT, SEED
from training.data import EmbeddingCache, Limits
from training.export import _onnx_graph, _sentiment_graph, export_head, write_fixture
from training.heads import train_aspects, train_emotion, train_sentiment
from training.report import write_metrics_md

from dengar_nlp.adapters.encoder import OnnxEncoder
from dengar_nlp.domain.aspects import ASPECT_NAMES, TAXONOMY
from dengar_nlp.domain.results import EMOTION_LABELS, SENTIMENT_LABELS
from dengar_nlp.settings import QUALITY_DIR_NAME

BUNDLED_ENCODER = ROOT / "models" / "encoder"
BUNDLED_HEADS = ROOT / "models" / "heads"
BUNDLED_QUALITY = ROOT / "models" / QUALITY_DIR_NAME


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=BUNDLED_HEADS, help="heads folder to write")
    ap.add_argument("--encoder", type=Path, default=BUNDLED_ENCODER,
                    help="encoder folder whose embeddings the heads read (default: the bundled one; "
                         "e.g. one written by export_finetuned.py)")
    ap.add_argument("--cache", type=Path, default=REPO / ".cache" / "emb")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="smallest grid (for trying things out)")
    ap.add_argument("--train-limit", type=int, default=0,
                    help="smoke runs: at most N training rows per source (NusaX: per language); 0 = all")
    ap.add_argument("--val-limit", type=int, default=0,
                    help="smoke runs: at most N validation rows per set (NusaX: per language); 0 = all")
    ap.add_argument("--fixture", type=Path, default=None,
                    help="parity fixture to write (default: the test fixture for the bundled encoder and "
                         "heads, <out>/heads_parity.npz for any other)")
    ap.add_argument("--no-fixture", action="store_true")
    args = ap.parse_args(argv)
    args.fixture = fixture_path(args.encoder, args.out, args.fixture)
    return args


def fixture_path(encoder: Path, out: Path, explicit: Path | None) -> Path:
    """Where the parity fixture goes.  ``tests/unit/nlp/fixtures/heads_parity.npz`` belongs to the
    committed heads and ``heads_parity_quality.npz`` to the committed quality set's: only a run that
    rewrites one of them (that set's encoder into that set's heads folder) replaces its fixture; heads
    trained for another encoder or into another folder keep theirs next to them, so building a
    candidate model set never breaks a committed set's parity test."""
    if explicit is not None:
        return explicit
    committed = {(BUNDLED_ENCODER, BUNDLED_HEADS): FIXTURE,
                 (BUNDLED_QUALITY / "encoder", BUNDLED_QUALITY / "heads"): QUALITY_FIXTURE}
    for (enc, heads), fixture in committed.items():
        if encoder.resolve() == enc.resolve() and out.resolve() == heads.resolve():
            return fixture
    return out / "heads_parity.npz"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    import os

    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        pass
    np.random.seed(SEED)
    # One onnxruntime thread per call, `threads` posts at once: faster than splitting each short post
    # over the threads, with the same vectors.
    enc = OnnxEncoder(args.encoder, threads=1)
    # The cache is keyed by the encoder's version (name + model hash) and sequence cap, so several
    # encoders share one cache folder without mixing their vectors.
    cache = EmbeddingCache(args.cache, enc, workers=args.threads)
    limits = Limits(train=args.train_limit, val=args.val_limit)
    if limits.active:
        logging.getLogger(__name__).warning(
            "smoke run: at most %d train / %d validation rows per source; these heads are not for use",
            limits.train, limits.val)
    args.out.mkdir(parents=True, exist_ok=True)

    sent_head, sent_info = train_sentiment(args.data, cache, args.quick, limits)
    emo_head, emo_info = train_emotion(args.data, cache, args.quick, limits)
    asp_head, asp_info = train_aspects(args.data, cache, sent_head, args.quick, limits)

    common = {
        "encoder": enc.model_version,
        "input": "embedding float32 [N, 384] (the encoder's L2-normalised "
        f"{'task features' if enc.has_features else 'e5 embedding'} of 'query: ' + "
        "dengar_nlp.domain.text.prepare_text(text))",
        "output": "probs float32 [N, C]",
        "seed": SEED,
        **({"smoke_limits": {"train": limits.train, "val": limits.val}} if limits.active else {}),
    }
    export_head(
        args.out,
        "sentiment",
        _sentiment_graph(sent_head),
        {
            **common,
            "name": "sentiment",
            "labels": list(SENTIMENT_LABELS),
            "kind": sent_head.kind,
            "temperature": sent_head.temperature,
            "inputs": {
                "embedding": "float32 [N, 384], as for every head",
                "ids": "int64 [N, L], dengar_nlp.domain.hashed_features.sentiment_features(prepared "
                "texts, n_buckets); padding id n_buckets",
                "values": "float32 [N, L], the matching values (0 for padding)",
            },
            "lexical": {"n_buckets": sent_head.n_buckets, "featurizer": "sentiment_features v1"},
            "training": {k: v for k, v in sent_info.items() if k != "chosen"},
            "config": sent_info["chosen"]["config"],
            "validation": sent_info["chosen"]["metrics"],
            "data": ("TweetEval sentiment train, IndoNLU SmSA train, NusaX train (12 languages), "
                     "de-duplicated"),
        },
    )
    export_head(
        args.out,
        "emotion",
        _onnx_graph("emotion", emo_head.layers, "softmax", emo_head.temperature),
        {
            **common,
            "name": "emotion",
            "labels": list(EMOTION_LABELS),
            "kind": emo_head.kind,
            "temperature": emo_head.temperature,
            "training": {k: v for k, v in emo_info.items() if k != "chosen"},
            "config": emo_info["chosen"]["config"],
            "validation": emo_info["chosen"]["metrics"],
            "data": "TweetEval emotion train (English only)",
        },
    )
    export_head(
        args.out,
        "aspects",
        _onnx_graph("aspects", [(asp_head.w, asp_head.b)], "sigmoid"),
        {
            **common,
            "name": "aspects",
            "labels": list(ASPECT_NAMES),
            "kind": "one-vs-rest logistic regression",
            "thresholds": [round(float(t), 4) for t in asp_head.thresholds],
            "taxonomy": {a.name: {"en": a.label_en, "id": a.label_id} for a in TAXONOMY},
            "data": "SemEval-2014 restaurants+laptops (85%), CASA train, HoASA train, taxonomy seed phrases, "
            "background tweets/SmSA-neutral without aspect keywords",
            **asp_info,
        },
    )
    write_metrics_md(args.out, sent_info, emo_info, asp_info, enc.model_version)
    if not args.no_fixture:
        write_fixture(
            enc, {"emotion": emo_head.proba, "aspects": asp_head.proba}, sent_head, args.fixture
        )


if __name__ == "__main__":
    main()
