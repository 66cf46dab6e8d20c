"""Analysis results to their protobuf contract."""

from __future__ import annotations

from dengar.v1 import common_pb2
from dengar_common.embedding import quantize
from dengar_common.enums import SENTIMENTS
from dengar_nlp.domain.results import Analysis


def to_enrichment(a: Analysis, *, include_embedding: bool = False) -> common_pb2.Enrichment:
    """The enrichment of ``a``; its compact embedding whenever ``a`` has one, the float32 vector
    only with ``include_embedding``."""
    s = a.sentiment.scores
    enr = common_pb2.Enrichment(
        language=a.language,
        language_confidence=a.language_confidence,
        sentiment=common_pb2.SentimentResult(
            label=SENTIMENTS[a.sentiment.label], negative=s.get("negative", 0.0),
            neutral=s.get("neutral", 0.0), positive=s.get("positive", 0.0)),
        emotion=common_pb2.EmotionResult(label=a.emotion.label, scores=a.emotion.scores),
        aspects=[common_pb2.AspectResult(name=x.name, polarity=SENTIMENTS[x.polarity],
                                         confidence=x.confidence) for x in a.aspects],
        hashtags=a.signals.hashtags, mentions=a.signals.mentions, urls=a.signals.urls,
        domains=a.signals.domains, cashtags=a.signals.cashtags, emojis=a.signals.emojis,
        entities=[common_pb2.EntityMatch(id=e.id, kind=e.kind, surface=e.surface, start=e.start,
                                         end=e.end) for e in a.entities],
        neardup_keys=a.neardup_keys,
        model_version=a.model_version,
    )
    if a.embedding is not None:
        enr.embedding_i8 = quantize(a.embedding)
        if include_embedding:
            enr.embedding.extend(float(x) for x in a.embedding)
    return enr
