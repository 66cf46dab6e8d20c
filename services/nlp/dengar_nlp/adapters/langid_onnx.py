"""Runs the language-id linear model (``langid.onnx``) on onnxruntime CPU.

The model directory is written by ``services/nlp/scripts/train_langid.py``: ``langid.onnx`` (hashed
feature ids/values -> class probabilities) and ``langid.json`` (labels, hashing space, metrics).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort

from dengar_nlp.domain.langid import LanguageIdentifier

logger = logging.getLogger(__name__)

MODEL_FILE = "langid.onnx"
META_FILE = "langid.json"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "langid"


class OnnxLangIdScorer:
    """``Scorer`` for ``LanguageIdentifier``: padded ids [N, L] + values [N, L] -> probs [N, C]."""

    def __init__(self, model_dir: Path = DEFAULT_MODEL_DIR, threads: int = 1) -> None:
        model_dir = Path(model_dir)
        meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
        self.labels: tuple[str, ...] = tuple(meta["labels"])
        self.n_buckets: int = int(meta["n_buckets"])
        model_path = model_dir / MODEL_FILE
        digest = hashlib.sha256(model_path.read_bytes()).hexdigest()[:12]
        self.model_version: str = f"{meta.get('version', 'langid')}:{digest}"
        opts = ort.SessionOptions()
        # A gather + sum over a few hundred ids: more threads only add contention.
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model_path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        logger.info("langid model %s loaded: %d labels", self.model_version, len(self.labels))

    def __call__(self, ids: np.ndarray, values: np.ndarray) -> np.ndarray:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        values = np.ascontiguousarray(values, dtype=np.float32)
        # Out-of-range ids would make Gather fail; map them to the zero padding row instead.
        ids = np.where((ids < 0) | (ids > self.n_buckets), self.n_buckets, ids)
        return self._session.run(["probs"], {"ids": ids, "values": values})[0]


def load_language_identifier(model_dir: Path = DEFAULT_MODEL_DIR, threads: int = 1) -> LanguageIdentifier:
    """Language identifier backed by the shipped ONNX model."""
    scorer = OnnxLangIdScorer(model_dir, threads=threads)
    return LanguageIdentifier(scorer, scorer.labels, scorer.n_buckets)
