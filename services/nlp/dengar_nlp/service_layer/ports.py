"""The ports of the analysis: what the use cases need of the models, and what callers need of the analysis.

The ONNX implementations live in ``dengar_nlp.adapters``; tests may pass any object of these shapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from dengar_nlp.domain.langid import LanguageResult
from dengar_nlp.domain.results import Analysis

#: float32 rows: embeddings [N, dim] or class probabilities [N, C].
Matrix = npt.NDArray[np.float32]

#: The heads the analysis needs, by name (``models/heads/<name>.onnx``).
HEAD_NAMES: tuple[str, ...] = ("sentiment", "emotion", "aspects")


class TextAnalyzer(Protocol):
    """What the entrypoints (gRPC, consumer, CLI) need: one ``Analysis`` per text."""

    model_version: str

    def analyze(self, texts: Sequence[str], *, include_embedding: bool = False) -> list[Analysis]:
        """Analyse a batch; one result per text, in order. Never raises on odd text."""
        ...


class Encoder(Protocol):
    """Sentence encoder: texts -> L2-normalised embeddings ``[len(texts), dim]``."""

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, prefix: str = "query: ") -> Matrix: ...

    def encode_both(self, texts: Sequence[str], *, batch_size: int = 64,
                    prefix: str = "query: ") -> tuple[Matrix, Matrix]:
        """``(embeddings, head features)`` from one pass; the features are the embeddings unless the
        model has a task branch of its own for the heads."""
        ...


class HeadModel(Protocol):
    """A classifier on embeddings: ``[N, dim]`` -> probabilities ``[N, len(labels)]``.

    A lexical head also reads the prepared ``texts`` of its embeddings.  ``dim`` is 0 when the model
    accepts any width; ``meta`` is its training metadata (the aspect head's ``thresholds``).
    """

    @property
    def labels(self) -> tuple[str, ...]: ...

    @property
    def dim(self) -> int: ...

    @property
    def meta(self) -> Mapping[str, Any]: ...

    def __call__(self, x: Matrix, texts: Sequence[str] | None = None) -> Matrix: ...


class LanguageIdentifierPort(Protocol):
    """Language of each raw text (``dengar_nlp.domain.langid.LanguageIdentifier`` with a scorer)."""

    def identify_many(self, texts: Sequence[str]) -> list[LanguageResult]: ...
