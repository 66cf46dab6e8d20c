"""An enriched post as the insights domain sees it: plain values, no wire format.

The NATS consumer builds these from ``dengar.v1.EnrichedPost`` (entrypoints/protos.py); enum values
arrive as their names (``"x"``, ``"negative"``), an unspecified platform or sentiment label as
``""``, and an absent timestamp as None. ``content_hash`` identifies the payload (without the
float32 embedding, which is never stored), so that an identical redelivery is recognised as a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from dengar_common.enrichment import Aspect, Entity, Signals
from dengar_common.post_contract import PostAuthor as Author
from dengar_common.post_contract import PostEngagement as Engagement

__all__ = ["Aspect", "Author", "Emotion", "Engagement", "EnrichedPost", "Enrichment", "Entity", "Post",
           "Sentiment", "Signals"]


@dataclass(frozen=True)
class Post:
    id: str = ""
    tenant_id: str = ""
    # A platform name; "" when the producer left it unspecified.
    platform: str = ""
    external_id: str = ""
    text: str = ""
    title: str = ""
    url: str = ""
    lang_hint: str = ""
    country: str = ""
    in_reply_to: str = ""
    quote_of: str = ""
    repost_of: str = ""
    source_id: str = ""
    query_ids: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    collected_at: datetime | None = None
    author: Author = field(default_factory=Author)
    engagement: Engagement = field(default_factory=Engagement)


@dataclass(frozen=True)
class Sentiment:
    # A sentiment name; "" when the label was left unspecified (the scores decide).
    label: str = ""
    negative: float = 0.0
    neutral: float = 0.0
    positive: float = 0.0


@dataclass(frozen=True)
class Emotion:
    label: str = ""
    scores: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Enrichment:
    language: str = ""
    language_confidence: float = 0.0
    sentiment: Sentiment = Sentiment()
    emotion: Emotion = Emotion()
    aspects: tuple[Aspect, ...] = ()
    signals: Signals = field(default_factory=Signals)
    entities: tuple[Entity, ...] = ()
    neardup_keys: tuple[str, ...] = ()
    model_version: str = ""
    # The compact sentence embedding (dengar_common.embedding); b"" when the post has none.
    embedding_i8: bytes = b""


@dataclass(frozen=True)
class EnrichedPost:
    post: Post | None
    enrichment: Enrichment
    content_hash: str
