"""The port the service entrypoints depend on; `Analyzer` is the implementation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dengar_nlp.results import Analysis


class TextAnalyzer(Protocol):
    model_version: str

    def analyze(self, texts: Sequence[str], *, include_embedding: bool = False) -> list[Analysis]:
        """Analyse a batch; one result per text, in order. Never raises on odd text."""
        ...
