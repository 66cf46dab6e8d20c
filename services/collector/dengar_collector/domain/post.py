"""The fields of a post that the collector's rules read (validation, query matching).

Posts travel as ``dengar.v1.Post`` messages between the collector's ports (connectors, file imports,
webhooks, the bus); the domain never sees those messages, only this view of them, built at the
boundary (``service_layer.post_proto``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The Platform enum number of a post that names none (proto3 default).
PLATFORM_UNSPECIFIED = 0


@dataclass(frozen=True, slots=True)
class PostTime:
    """A timestamp as sent: seconds and nanos, unchecked (validation judges them)."""

    seconds: int
    nanos: int = 0


@dataclass(frozen=True, slots=True)
class AuthorFields:
    handle: str = ""
    followers: int = 0


@dataclass(frozen=True, slots=True)
class Engagement:
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    views: int = 0


@dataclass(frozen=True, slots=True)
class PostFields:
    """One post as received. ``platform`` is the Platform enum number (unknown numbers are kept so
    that validation can name them); ``byte_size`` is the post's serialised size."""

    platform: int
    external_id: str
    text: str = ""
    title: str = ""
    created_at: PostTime | None = None
    author: AuthorFields = field(default_factory=AuthorFields)
    engagement: Engagement = field(default_factory=Engagement)
    lang_hint: str = ""
    url: str = ""
    byte_size: int = 0
