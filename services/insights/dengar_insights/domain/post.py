"""An enriched post as the insights domain sees it: plain values, no wire format.

The NATS consumer builds these from ``dengar.v1.EnrichedPost`` (entrypoints/protos.py); enum values
arrive as their names (``"x"``, ``"negative"``), an unspecified platform or sentiment label as
``""``, and an absent timestamp as None. ``content_hash`` identifies the payload (without the
embedding), so that an identical redelivery is recognised as a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Author:
    id: str = ""
    handle: str = ""
    display_name: str = ""
    followers: int = 0
    verified: bool = False
    location: str = ""


@dataclass(frozen=True)
class Engagement:
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    views: int = 0


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
    author: Author = Author()
    engagement: Engagement = Engagement()


@dataclass(frozen=True)
class Sentiment:
    # A sentiment name; "" when the label was left unspecified (the scores decide).
    label: str = ""
    negative: float = 0.0
    neutral: float = 0.0
    positive: float = 0.0


@dataclass(frozen=True)
class Aspect:
    name: str
    polarity: str
    confidence: float = 0.0


@dataclass(frozen=True)
class Emotion:
    label: str = ""
    scores: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Entity:
    id: str
    kind: str
    surface: str
    start: int
    end: int


@dataclass(frozen=True)
class Enrichment:
    language: str = ""
    language_confidence: float = 0.0
    sentiment: Sentiment = Sentiment()
    emotion: Emotion = Emotion()
    aspects: tuple[Aspect, ...] = ()
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    cashtags: tuple[str, ...] = ()
    emojis: tuple[str, ...] = ()
    entities: tuple[Entity, ...] = ()
    neardup_keys: tuple[str, ...] = ()
    model_version: str = ""


@dataclass(frozen=True)
class EnrichedPost:
    post: Post | None
    enrichment: Enrichment
    content_hash: str
