"""Multilingual sentence encoder (multilingual-e5-small, int8 ONNX) on onnxruntime CPU.

The model directory is produced by ``services/nlp/scripts/export_encoder.py`` (or
``export_finetuned.py``): ``model.onnx`` (pooling and L2 normalisation are inside the graph),
``tokenizer.json`` and ``encoder.json``.  The graph's ``embedding`` output is the sentence vector that
is stored and searched.  A fine-tuned graph may have a second output, ``features``: what the heads
read (a task-trained pooling of the same tokens), so that the embedding can stay in e5's space.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "encoder.json"
EMBEDDING = "embedding"
FEATURES = "features"


class OnnxEncoder:
    """Embeds texts into L2-normalised float32 vectors (e5 convention: prefix ``"query: "``).

    Safe to share between threads: onnxruntime sessions and HF tokenizers allow concurrent calls.
    """

    def __init__(self, model_dir: Path, threads: int = 2, max_length: int | None = None,
                 spin_wait: bool = True) -> None:
        model_dir = Path(model_dir)
        meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
        # The sequence cap belongs to the model folder (a student may be exported with a shorter one),
        # so by default it is the one its encoder.json records.
        if max_length is None:
            max_length = int(meta.get("max_length", 128))
        self.dim: int = int(meta["dim"])
        self.model_version: str = f"{meta['name']}:{meta['files'][MODEL_FILE]['sha256'][:12]}"
        max_positions = int(meta.get("max_positions", 512))
        if not 2 < max_length <= max_positions:
            raise ValueError(f"max_length must be in (2, {max_positions}], got {max_length}")
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.max_length = max_length
        self.threads = threads
        self._pad_id = int(meta["pad_id"])

        tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        tokenizer.enable_truncation(max_length=max_length)
        # Padding is done per length-sorted batch below, so each batch is only as wide as its longest text.
        tokenizer.no_padding()
        self._tokenizer = tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        # One model, one graph path: inter-op parallelism only adds thread contention.
        opts.inter_op_num_threads = 1
        if not spin_wait:
            # Idle intra-op threads then sleep instead of spinning for work: a little slower on
            # cores of its own, far cheaper on cores shared with other processes
            # (docs/pipeline-performance.md).
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(model_dir / MODEL_FILE), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        outputs = {o.name for o in self._session.get_outputs()}
        # True when the heads read a task branch of their own (``features``) rather than the embedding.
        self.has_features: bool = FEATURES in outputs
        self._head_output = FEATURES if self.has_features else EMBEDDING
        logger.info(
            "loaded encoder %s (vocab %s, dim %d, threads %d, max_length %d, head features %s)",
            self.model_version,
            meta.get("vocab_size"),
            self.dim,
            threads,
            max_length,
            self._head_output,
        )

    def token_ids(self, texts: Sequence[str], *, prefix: str = "query: ") -> list[list[int]]:
        """Token ids (with ``<s>``/``</s>``, truncated) exactly as :meth:`encode` feeds the model."""
        return [enc.ids for enc in self._tokenizer.encode_batch([prefix + t for t in _check_texts(texts)])]

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        prefix: str = "query: ",
        max_batch_tokens: int = 4096,
    ) -> np.ndarray:
        """Embeddings ``[len(texts), dim]``, float32, L2-normalised, in input order (see
        :meth:`encode_both` for the batching)."""
        return self._run(texts, (EMBEDDING,), batch_size, prefix, max_batch_tokens)[0]

    def encode_features(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        prefix: str = "query: ",
        max_batch_tokens: int = 4096,
    ) -> np.ndarray:
        """What the heads read, ``[len(texts), dim]``: the ``features`` output, or the embeddings of a
        graph without one."""
        return self._run(texts, (self._head_output,), batch_size, prefix, max_batch_tokens)[0]

    def encode_both(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        prefix: str = "query: ",
        max_batch_tokens: int = 4096,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(embeddings, head features)`` from one pass, each ``[len(texts), dim]`` float32,
        L2-normalised, in input order; the features are the embeddings (the same array) when the
        graph has no ``features`` output.

        Texts are batched by token length (sorted) so little compute is spent on padding; this roughly
        doubles throughput on tweets compared with batching in input order. Batches of long texts are
        cut to ``max_batch_tokens`` (rows x width), which bounds the attention buffers and so peak
        memory (64 x 128 tokens would otherwise peak near 600 MB RSS) without costing throughput.
        """
        # One output name when the heads read the embedding itself: both are then the same array.
        names = tuple(dict.fromkeys((EMBEDDING, self._head_output)))
        outs = self._run(texts, names, batch_size, prefix, max_batch_tokens)
        return outs[0], outs[-1]

    def _run(
        self, texts: Sequence[str], names: Sequence[str], batch_size: int, prefix: str, max_batch_tokens: int
    ) -> list[np.ndarray]:
        if batch_size < 1 or max_batch_tokens < 1:
            raise ValueError(
                f"batch_size and max_batch_tokens must be >= 1, got {batch_size}, {max_batch_tokens}"
            )
        ids = self.token_ids(texts, prefix=prefix)
        outs = [np.empty((len(ids), self.dim), dtype=np.float32) for _ in names]
        if not ids:
            return outs
        lengths = np.fromiter((len(seq) for seq in ids), dtype=np.int64, count=len(ids))
        order = np.argsort(lengths, kind="stable")
        start = 0
        while start < len(order):
            # Ascending order: the last candidate row is the widest one in the batch.
            widest = int(lengths[order[min(start + batch_size, len(order)) - 1]])
            rows = order[start : start + min(batch_size, max(1, max_batch_tokens // widest))]
            start += len(rows)
            width = int(lengths[rows[-1]])
            input_ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = int(lengths[i])
                input_ids[r, :n] = ids[i]
                mask[r, :n] = 1
            got = self._session.run(list(names), {"input_ids": input_ids, "attention_mask": mask})
            for out, part in zip(outs, got, strict=True):
                out[rows] = part
        return outs


def _check_texts(texts: Sequence[str]) -> Sequence[str]:
    # A bare string is a Sequence[str] too; embedding it character by character is never intended.
    if isinstance(texts, str):
        raise TypeError("encode() takes a sequence of strings, not a single string")
    return texts
