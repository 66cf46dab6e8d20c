"""Share of voice: each listening query's part of the mentions of a set of queries (pure).

The inputs are per-query totals read from the rollups. A mention tagged with two of the compared
queries counts for both, so the total is the sum of the items' volumes, not the number of distinct
mentions, and the shares always sum to 1 (when anything was counted at all).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dengar_insights.domain.rollups import Totals

# The most queries one comparison may name; also the most a mention search may filter by.
MAX_COMPARED_QUERIES = 50


@dataclass(frozen=True)
class VoiceShare:
    query_id: str
    volume: int
    negative: int
    neutral: int
    positive: int
    share: float
    net_sentiment: float


def net_sentiment(positive: int, negative: int, volume: int) -> float:
    """(positive - negative) / volume, in [-1, 1]; 0 for no volume."""
    if volume <= 0:
        return 0.0
    return max(-1.0, min(1.0, (positive - negative) / volume))


def share_of_voice(totals: Sequence[tuple[str, Totals]]) -> tuple[list[VoiceShare], int]:
    """The items in the given order, and the total they share."""
    total = sum(t.volume for _, t in totals)
    items = []
    for query_id, t in totals:
        neg, neu, pos = t.sentiment["negative"], t.sentiment["neutral"], t.sentiment["positive"]
        items.append(VoiceShare(
            query_id=query_id, volume=t.volume, negative=neg, neutral=neu, positive=pos,
            share=t.volume / total if total > 0 else 0.0,
            net_sentiment=net_sentiment(pos, neg, t.volume)))
    return items, total
