"""Old import path, kept only for ``dengar_nlp/cli.py`` and ``scripts/train_heads.py`` (being moved and
split in parallel); new code imports ``service_layer.analyzer``, ``adapters.onnx_models`` and
``domain.text``.  Delete once neither imports it."""

from __future__ import annotations

from dengar_nlp.adapters.heads_onnx import OnnxHead
from dengar_nlp.adapters.onnx_models import load_analyzer
from dengar_nlp.domain.text import MAX_ENCODER_CHARS, prepare_text
from dengar_nlp.service_layer import analyzer as _use_case
from dengar_nlp.service_layer.ports import HEAD_NAMES

__all__ = ["HEAD_NAMES", "MAX_ENCODER_CHARS", "Analyzer", "OnnxHead", "prepare_text"]


class Analyzer(_use_case.Analyzer):
    """The analysis use case with its ONNX factory: ``Analyzer.load(models_dir, threads=...)``."""

    load = staticmethod(load_analyzer)
