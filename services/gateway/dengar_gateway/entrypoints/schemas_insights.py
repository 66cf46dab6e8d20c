"""The JSON shapes of /v1/insights (spikes, period comparison, the brief)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dengar_gateway.entrypoints.schemas import MentionOut

Level = Literal["low", "medium", "high"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DriverOut(_Out):
    kind: str = Field(description="aspect (value `name:polarity`), term, hashtag, platform, language, "
                                  "author, entity, near_duplicate or category (value: the id of one "
                                  "of the tenant's categories, see /v1/categories).")
    value: str
    count: int = Field(description="Mentions with the value in the spike window (a sample count for "
                                   "terms, hashtags, authors, entities and near-duplicates).")
    baseline_count: int = Field(description="The same in the baseline window, scaled to the spike "
                                            "window's length.")
    lift: float | None = Field(description="count / baseline_count; null when the baseline count is 0.")
    score: float = Field(description="Log-odds z-score with an informative prior: how unusual the growth is.")
    terms: list[str] = Field(description="For non-term drivers: the terms that rose most among its mentions.")
    evidence: list[MentionOut] = Field(description="Up to 3 of the most typical mentions.")


class SpikeOut(_Out):
    start: datetime
    end: datetime
    peak: datetime
    observed: float
    expected: float
    score: float = Field(description="The highest bucket's robust z-score.")
    severity: Level
    confidence: Level
    volume: int = Field(description="Mentions in the spike window.")
    baseline_start: datetime
    baseline_end: datetime
    drivers: list[DriverOut]


class SpikesOut(_Out):
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    interval: Literal["hour", "day"]
    metric: Literal["volume", "negative", "positive", "net_sentiment"]
    query_id: str | None = None
    confidence: Level = Field(description="low when part of the range had too little history to be "
                                          "judged (no baseline is invented).")
    unjudged_buckets: int
    spikes: list[SpikeOut]


class DeltaOut(_Out):
    current: float
    previous: float
    absolute: float
    relative: float | None = Field(description="(current - previous) / |previous|; null when previous is 0.")


class NamedDeltaOut(DeltaOut):
    name: str


class QueryDeltaOut(_Out):
    query_id: str
    name: str | None
    share: DeltaOut
    volume: DeltaOut


class AspectDeltaOut(_Out):
    name: str
    polarity: dict[str, DeltaOut]


class CompareOut(_Out):
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    previous_from: datetime
    query_id: str | None = None
    volume: DeltaOut
    sentiment: dict[str, DeltaOut]
    sentiment_share: dict[str, DeltaOut]
    net_sentiment: DeltaOut
    share_of_voice: list[QueryDeltaOut] = Field(description="The tenant's brand and competitor queries.")
    aspects: list[AspectDeltaOut]
    terms: list[NamedDeltaOut] = Field(description="Top terms of both periods (sample counts), most "
                                                   "grown first.")


class CardDriverOut(_Out):
    """One driver of a card, with the ids of its evidence (the card's filters list them)."""

    kind: str = Field(description="aspect, term, hashtag, platform, language, author, entity, "
                                  "near_duplicate or category.")
    value: str = Field(description='For an aspect, "name:polarity".')
    count: int = Field(description="Mentions with this value in the window (sample counts for terms "
                                   "and authors).")
    baseline_count: int
    lift: float | None = Field(description="count / baseline count scaled to the window; null when new.")
    score: float = Field(description="Log-odds z-score with an informative prior: how unusual.")
    terms: list[str]
    evidence_mention_ids: list[str]


class CardOut(_Out):
    type: Literal["spike", "sentiment_shift", "rising_aspect", "share_of_voice_change",
                  "coordinated_duplicates"]
    title: str
    narrative: str
    impact: float = Field(description="size x unusualness: the ranking key.")
    metrics: dict[str, float | int | str]
    drivers: list[CardDriverOut]
    evidence_mention_ids: list[str]
    filters: dict[str, str] = Field(
        description="Query parameters of GET /v1/mentions that list the evidence.")


class BriefOut(_Out):
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    query_id: str | None = None
    lang: Literal["en", "id"]
    cards: list[CardOut]


class TopicMentionOut(_Out):
    id: str
    snippet: str = Field(description="The mention's text, whitespace collapsed, at most 280 characters.")


class TopicOut(_Out):
    id: str = Field(description="Stable across consecutive windows of the same tenant and scope.")
    keywords: list[str] = Field(description="Most distinctive words first (c-TF-IDF; English and "
                                            "Indonesian stop words removed).")
    volume: int = Field(description="Mentions of the topic in the window (estimated when sampled).")
    share: float = Field(description="Of the window's clustered mentions.")
    sentiment: dict[str, int] = Field(description="negative, neutral and positive counts.")
    aspects: dict[str, int] = Field(description="The most frequent aspects among its mentions.")
    representatives: list[TopicMentionOut] = Field(description="Its most typical mentions.")
    previous_volume: int = Field(description="The continued topic's volume in the previous window "
                                             "(0 when it is new).")
    change: int
    relative_change: float | None = Field(description="change / previous_volume; null when new.")
    status: Literal["new", "growing", "stable", "fading"] = Field(
        description="fading with volume 0: a previous topic with nothing like it now.")
    cohesion: float = Field(description="Mean cosine similarity of its mentions to the centroid.")


class TopicsOut(_Out):
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    previous_from: datetime
    query_id: str | None = None
    volume: int = Field(description="Mentions with an embedding in the window.")
    previous_volume: int
    sampled: int = Field(description="How many of them were clustered (a deterministic sample "
                                     "beyond 10,000 per window).")
    estimated: bool = Field(description="True when counts are scaled up from a sample.")
    topics: list[TopicOut]
