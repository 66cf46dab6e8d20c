"""The public JSON shapes of REST API v1 (requests other than posts, and responses)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from dengar_common.post_contract import MAX_TEXT_CHARS, SENTIMENT_LABELS
from dengar_common.postjson import ItemError
from dengar_gateway.domain.keys import Scope

# Literal of a tuple is Literal of its members: the labels are the post contract's.
SentimentLabel = Literal[SENTIMENT_LABELS]  # type: ignore[valid-type]  # Literal of the contract's tuple: one source of the labels
# NlpService.Analyze takes at most this many texts per call.
MAX_ANALYZE_TEXTS = 100


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- posts -------------------------------------------------------------------------------------

class IngestResult(_Out):
    accepted: int = Field(description="Posts handed to the pipeline.")
    rejected: int = Field(description="Posts refused, each with at least one entry in `errors`.")
    errors: list[ItemError] = Field(description="Why items were rejected, by index in `posts`.")
    ids: list[str] = Field(description="Dengar ids of the accepted posts, in request order.")


# --- mentions and analysis ---------------------------------------------------------------------

class AuthorOut(_Out):
    id: str
    handle: str
    display_name: str
    followers: int
    verified: bool
    location: str


class EngagementOut(_Out):
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    views: int = 0


class SentimentOut(_Out):
    label: SentimentLabel
    scores: dict[str, float] = Field(description="Probability of negative, neutral and positive.")


class EmotionOut(_Out):
    label: str = Field(description="anger, joy, optimism or sadness.")
    scores: dict[str, float]


class AspectOut(_Out):
    name: str = Field(description="Aspect taxonomy id, e.g. `delivery`, `price`.")
    polarity: SentimentLabel
    confidence: float


class EntityOut(_Out):
    id: str
    kind: str = Field(description="`brand` or `product`.")
    surface: str = Field(description="The text as it appears in the post.")
    start: int
    end: int


class AnalysisOut(_Out):
    """What the NLP pipeline found in one text."""

    language: str = Field(description="ISO 639-1 code, or `und`.")
    language_confidence: float
    sentiment: SentimentOut | None
    emotion: EmotionOut | None
    aspects: list[AspectOut]
    entities: list[EntityOut]
    hashtags: list[str]
    mentions: list[str]
    urls: list[str]
    domains: list[str]
    cashtags: list[str]
    emojis: list[str]
    model_version: str
    embedding: list[float] | None = Field(
        default=None, exclude_if=lambda v: v is None,
        description="Only present when `include_embedding` was true.")


class NoteOut(_Out):
    author: str = Field(description="Name of the API key that wrote the note.")
    text: str
    created_at: datetime | None


class WorkflowOut(_Out):
    """A mention's place in the monitoring inbox."""

    state: str = Field(description="open, in_progress, resolved or ignored.")
    assignee: str = Field(description="Free-form user id; empty when unassigned.")
    tags: list[str]
    notes: list[NoteOut] = Field(description="Append-only, oldest first.")
    version: int = Field(description="Bumped by every change; send it back as `If-Match` or "
                                     "`version` to change the workflow only if nobody else did.")
    updated_at: datetime | None
    updated_by: str = Field(description="Name of the API key of the last change.")


class MentionOut(_Out):
    """A collected post with its enrichment (enrichment fields are null or empty until the NLP
    stage has processed the post)."""

    id: str
    platform: str
    external_id: str
    text: str
    title: str
    url: str
    created_at: datetime | None
    collected_at: datetime | None
    updated_at: datetime | None
    author: AuthorOut | None
    engagement: EngagementOut
    in_reply_to: str
    quote_of: str
    repost_of: str
    country: str
    metadata: dict[str, str]
    query_ids: list[str]
    category_ids: list[str] = Field(default_factory=list,
                                    description="The tenant's categories the mention belongs to.")
    language: str | None
    language_confidence: float | None
    sentiment: SentimentOut | None
    emotion: EmotionOut | None
    aspects: list[AspectOut]
    entities: list[EntityOut]
    hashtags: list[str]
    mentions: list[str]
    urls: list[str]
    domains: list[str]
    cashtags: list[str]
    emojis: list[str]
    trace_id: str = Field(default="", description="Trace id of the pipeline run that last wrote the mention.")
    workflow: WorkflowOut | None = Field(default=None, description="The monitoring inbox's workflow.")


class MentionPage(_Out):
    data: list[MentionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class AnalyzeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[Annotated[str, Field(max_length=MAX_TEXT_CHARS)]] = Field(
        min_length=1, max_length=MAX_ANALYZE_TEXTS,
        description=f"1 to {MAX_ANALYZE_TEXTS} texts of at most {MAX_TEXT_CHARS} characters.")
    include_embedding: bool = Field(False, description="Also return the sentence embedding.")


class AnalyzeOut(_Out):
    results: list[AnalysisOut] = Field(description="One per input text, in order.")


# --- analytics ---------------------------------------------------------------------------------

class TimeSeriesPointOut(_Out):
    bucket_start: datetime
    volume: int
    negative: int | None = Field(None, exclude_if=lambda v: v is None,
                                 description="Only for `metric=sentiment`.")
    neutral: int | None = Field(None, exclude_if=lambda v: v is None)
    positive: int | None = Field(None, exclude_if=lambda v: v is None)


class TimeSeriesOut(_Out):
    metric: Literal["volume", "sentiment"]
    interval: Literal["hour", "day"]
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    query_id: str | None = Field(None, exclude_if=lambda v: v is None,
                                 description="The listening query counted, when one was asked for.")
    category_id: str | None = Field(None, exclude_if=lambda v: v is None,
                                    description="The category counted, when one was asked for.")
    total: int
    points: list[TimeSeriesPointOut]


class SentimentSplit(_Out):
    negative: int
    neutral: int
    positive: int


class AspectCounts(_Out):
    name: str
    negative: int
    neutral: int
    positive: int


class PlatformCount(_Out):
    platform: str
    count: int


class LanguageCount(_Out):
    language: str
    count: int


class SummaryOut(_Out):
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    query_id: str | None = Field(None, exclude_if=lambda v: v is None,
                                 description="The listening query counted, when one was asked for.")
    category_id: str | None = Field(None, exclude_if=lambda v: v is None,
                                    description="The category counted, when one was asked for.")
    volume: int
    sentiment: SentimentSplit
    top_negative_aspects: list[AspectCounts] = Field(
        description="Aspects with negative mentions, most negative first.")
    platforms: list[PlatformCount]
    languages: list[LanguageCount]


class ShareOfVoiceItemOut(_Out):
    query_id: str
    name: str | None = Field(description="The listening query's name; null if it no longer exists.")
    role: Literal["brand", "competitor", "topic"] | None
    volume: int = Field(description="Mentions tagged with this query.")
    share: float = Field(description="`volume` / `total`; 0 when `total` is 0.")
    sentiment: SentimentSplit
    net_sentiment: float = Field(description="(positive - negative) / volume, in [-1, 1].")
    points: list[TimeSeriesPointOut] | None = Field(
        None, exclude_if=lambda v: v is None, description="Only when `interval` was given.")


class ShareOfVoiceOut(_Out):
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    interval: Literal["hour", "day"] | None
    total: int = Field(description="Sum of the items' volumes: a mention tagged with two of the "
                                   "queries counts for both.")
    items: list[ShareOfVoiceItemOut]


# --- keys --------------------------------------------------------------------------------------

class KeyCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[Scope] = Field(min_length=1, description="Any of `ingest`, `read`, `admin`.")
    name: str = Field("", max_length=100, description="A label to recognise the key by.")


class KeyOut(_Out):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class KeyCreatedOut(KeyOut):
    key: str = Field(description="The secret API key. It is shown only this once.")


class KeyList(_Out):
    data: list[KeyOut]
