"""The classification heads (``models/heads/<name>.onnx`` + ``<name>.json``) on onnxruntime CPU.

Written by ``services/nlp/scripts/train_heads.py``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from dengar_nlp.domain.hashed_features import sentiment_features

logger = logging.getLogger(__name__)


class OnnxHead:
    """A head model: ``embedding`` float32 [N, dim] -> ``probs`` float32 [N, C], plus its metadata.

    Implements ``dengar_nlp.service_layer.ports.HeadModel``.  A head may take lexical inputs too
    (``ids`` int64 [N, L] / ``values`` float32 [N, L] from ``hashed_features.sentiment_features``,
    hashing space in its metadata's ``lexical.n_buckets``).
    """

    def __init__(self, onnx_path: Path, threads: int = 1) -> None:
        meta_path = onnx_path.with_suffix(".json")
        self.meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        self.labels: tuple[str, ...] = tuple(self.meta["labels"])
        data = onnx_path.read_bytes()
        self.sha256 = hashlib.sha256(data).hexdigest()
        if self.meta.get("sha256") and self.meta["sha256"] != self.sha256:
            logger.warning("%s: sha256 differs from %s (model replaced without its metadata?)",
                           onnx_path, meta_path.name)
        opts = ort.SessionOptions()
        # A [N, 384] x [384, C] product: extra threads only add contention with the encoder.
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
        shape = self._session.get_inputs()[0].shape
        self.dim = int(shape[1]) if isinstance(shape[1], int) else 0
        self.input_names: tuple[str, ...] = tuple(i.name for i in self._session.get_inputs())
        self.lexical_buckets = int(self.meta.get("lexical", {}).get("n_buckets", 0))
        if ("ids" in self.input_names) != (self.lexical_buckets > 0):
            raise ValueError(f"{onnx_path}: lexical inputs and metadata 'lexical.n_buckets' disagree")

    def __call__(self, x: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """Probabilities for embeddings ``x``; a lexical head also needs the prepared ``texts``."""
        if x.shape[0] == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        feeds = {"embedding": np.ascontiguousarray(x, dtype=np.float32)}
        if self.lexical_buckets:
            if texts is None or len(texts) != x.shape[0]:
                raise ValueError("this head needs the prepared texts of its embeddings")
            feeds["ids"], feeds["values"] = sentiment_features(texts, self.lexical_buckets)
        return self._session.run(["probs"], feeds)[0]
