"""Typed results of the Analyzer: what one text means."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Defined by the post contract; re-exported because the nlp modules read their labels from here.
from dengar_common.post_contract import SENTIMENT_LABELS as SENTIMENT_LABELS

EMOTION_LABELS: tuple[str, ...] = ("anger", "joy", "optimism", "sadness")


@dataclass(frozen=True)
class Sentiment:
    label: str
    scores: dict[str, float]


@dataclass(frozen=True)
class Emotion:
    label: str
    scores: dict[str, float]


@dataclass(frozen=True)
class Aspect:
    name: str
    polarity: str
    confidence: float


@dataclass(frozen=True)
class Entity:
    id: str
    kind: str
    surface: str
    start: int
    end: int


@dataclass(frozen=True)
class Signals:
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    cashtags: tuple[str, ...] = ()
    emojis: tuple[str, ...] = ()


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
    embedding: np.ndarray | None = field(default=None, compare=False)
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
