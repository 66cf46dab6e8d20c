"""Value types of an enrichment that more than one service reads (pure, no wire format).

NLP produces them and insights stores what they say; both use these types so that the shape of an
aspect, an entity or a post's signals is written down once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Aspect:
    """An aspect of the business a text talks about (``delivery``), its polarity, and how sure."""

    name: str
    polarity: str
    confidence: float = 0.0


@dataclass(frozen=True)
class Entity:
    """A brand or product found in a text, with its character span."""

    id: str
    kind: str
    surface: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Signals:
    """What a post points at: hashtags, @mentions, links and their domains, cashtags and emojis."""

    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    cashtags: tuple[str, ...] = ()
    emojis: tuple[str, ...] = ()
