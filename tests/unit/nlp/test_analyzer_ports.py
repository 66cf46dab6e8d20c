"""The analysis use case on fake ports: what it asks of the models, and what it refuses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from dengar_nlp.domain.aspects import ASPECT_NAMES
from dengar_nlp.domain.langid import LanguageResult
from dengar_nlp.domain.results import EMOTION_LABELS, SENTIMENT_LABELS, Emotion, Sentiment
from dengar_nlp.service_layer.analyzer import Analyzer

DIM = 4


class FakeEncoder:
    dim = DIM

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, prefix: str = "query: ") -> Any:
        return self.encode_both(texts, batch_size=batch_size, prefix=prefix)[0]

    def encode_both(self, texts: Sequence[str], *, batch_size: int = 64, prefix: str = "query: ") -> Any:
        """The embedding is (1/2, ...); the heads' features are another unit vector."""
        self.calls.append(list(texts))
        features = np.zeros((len(texts), DIM), dtype=np.float32)
        features[:, 0] = 1.0
        return np.ones((len(texts), DIM), dtype=np.float32) / 2, features


class FakeHead:
    def __init__(self, labels: Sequence[str], winner: int, dim: int = DIM) -> None:
        self.labels = tuple(labels)
        self.dim = dim
        self.meta: Mapping[str, Any] = {"thresholds": [0.5] * len(self.labels)}
        self._winner = winner
        self.inputs: list[Any] = []

    def __call__(self, x: Any, texts: Sequence[str] | None = None) -> Any:
        self.inputs.append(x)
        probs = np.full((x.shape[0], len(self.labels)), 0.1 / len(self.labels), dtype=np.float32)
        probs[:, self._winner] += 0.9
        return probs


class FakeLangId:
    def identify_many(self, texts: Sequence[str]) -> list[LanguageResult]:
        return [LanguageResult("en", 0.9) for _ in texts]


def _heads(**over: FakeHead) -> dict[str, FakeHead]:
    heads = {"sentiment": FakeHead(SENTIMENT_LABELS, 2), "emotion": FakeHead(EMOTION_LABELS, 1),
             "aspects": FakeHead(ASPECT_NAMES, 0)}
    return {**heads, **over}


def test_results_come_from_the_ports() -> None:
    encoder = FakeEncoder()
    analyzer = Analyzer(encoder=encoder, language_identifier=FakeLangId(), heads=_heads(),
                        model_version="v")
    a, empty = analyzer.analyze(["great @someone http://x.co", "   "])
    assert encoder.calls[0] == ["great @user http"]  # prepared text, empty posts never encoded
    assert a.sentiment.label == "positive" and a.emotion.label == "joy" and a.language == "en"
    assert a.aspects and a.aspects[0].name == ASPECT_NAMES[0]
    assert empty.sentiment == Sentiment.undetermined() and empty.emotion == Emotion.undetermined()
    assert a.model_version == empty.model_version == "v"


def test_heads_read_the_features_and_the_embedding_is_what_is_stored() -> None:
    heads = _heads()
    analyzer = Analyzer(encoder=FakeEncoder(), language_identifier=FakeLangId(), heads=heads)
    (a,) = analyzer.analyze(["late delivery, kurir telat"], include_embedding=True)
    assert a.embedding is not None and np.allclose(a.embedding, 0.5)
    for head in heads.values():
        assert head.inputs and all(np.array_equal(x[:, 0], np.ones(len(x))) for x in head.inputs)


@pytest.mark.parametrize(("heads", "message"), [
    ({"sentiment": FakeHead(SENTIMENT_LABELS, 0), "emotion": FakeHead(EMOTION_LABELS, 0)}, "missing heads"),
    (_heads(emotion=FakeHead(("a", "b"), 0)), "labels do not match"),
    (_heads(aspects=FakeHead(("no_such_aspect",), 0)), "outside the taxonomy"),
    (_heads(emotion=FakeHead(EMOTION_LABELS, 0, dim=DIM + 1)), "expects 5-d embeddings"),
])
def test_inconsistent_models_are_refused(heads: dict[str, FakeHead], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Analyzer(encoder=FakeEncoder(), language_identifier=FakeLangId(), heads=heads)
