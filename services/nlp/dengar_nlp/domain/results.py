"""Typed results of the analysis: what one text means."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Self

import numpy as np
import numpy.typing as npt

# SENTIMENT_LABELS is defined by the post contract (model-head order); re-exported for the nlp modules.
from dengar_common.enrichment import Aspect, Entity, Signals
from dengar_common.post_contract import SENTIMENT_LABELS

__all__ = ["EMOTION_LABELS", "SENTIMENT_LABELS", "Analysis", "Aspect", "Emotion", "Entity",
           "Sentiment", "Signals"]

EMOTION_LABELS: tuple[str, ...] = ("anger", "joy", "optimism", "sadness")


@dataclass(frozen=True)
class _LabelScores:
    """A softmax head's verdict: the argmax label and every label's score (in ``LABELS`` order)."""

    LABELS: ClassVar[tuple[str, ...]] = ()

    label: str
    scores: dict[str, float]

    @classmethod
    def from_probs(cls, probs: Sequence[float] | npt.NDArray[np.float32]) -> Self:
        return cls(cls.LABELS[int(np.argmax(probs))],
                   {k: float(v) for k, v in zip(cls.LABELS, probs, strict=True)})


@dataclass(frozen=True)
class Sentiment(_LabelScores):
    LABELS = SENTIMENT_LABELS

    @classmethod
    def undetermined(cls) -> Sentiment:
        """A text with nothing to read (empty after preparation): neutral, uniform scores."""
        return cls("neutral", {k: 1.0 / 3 for k in SENTIMENT_LABELS})


@dataclass(frozen=True)
class Emotion(_LabelScores):
    LABELS = EMOTION_LABELS

    @classmethod
    def undetermined(cls) -> Emotion:
        """No label (the gateway shows "no emotion" for an empty one), uniform scores."""
        return cls("", {k: 1.0 / len(EMOTION_LABELS) for k in EMOTION_LABELS})


@dataclass(frozen=True)
class Analysis:
    language: str
    language_confidence: float
    sentiment: Sentiment
    emotion: Emotion
    aspects: tuple[Aspect, ...]
    signals: Signals
    entities: tuple[Entity, ...] = ()
    neardup_keys: tuple[str, ...] = ()
    embedding: npt.NDArray[np.float32] | None = field(default=None, compare=False)
    model_version: str = ""

    def to_dict(self, *, include_embedding: bool = False) -> dict[str, object]:
        """The JSON shape used by `dengar analyze` and the REST API."""
        out: dict[str, object] = {
            "language": self.language,
            "language_confidence": round(self.language_confidence, 4),
            "sentiment": {"label": self.sentiment.label,
                          "scores": {k: round(v, 4) for k, v in self.sentiment.scores.items()}},
            "emotion": {"label": self.emotion.label,
                        "scores": {k: round(v, 4) for k, v in self.emotion.scores.items()}},
            "aspects": [{"name": a.name, "polarity": a.polarity, "confidence": round(a.confidence, 4)}
                        for a in self.aspects],
            "hashtags": list(self.signals.hashtags),
            "mentions": list(self.signals.mentions),
            "urls": list(self.signals.urls),
            "domains": list(self.signals.domains),
            "cashtags": list(self.signals.cashtags),
            "emojis": list(self.signals.emojis),
            "entities": [{"id": e.id, "kind": e.kind, "surface": e.surface, "start": e.start,
                          "end": e.end} for e in self.entities],
        }
        if include_embedding and self.embedding is not None:
            out["embedding"] = [round(float(x), 6) for x in self.embedding]
        return out
