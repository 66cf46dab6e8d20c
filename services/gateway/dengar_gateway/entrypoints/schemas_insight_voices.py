"""The JSON shapes of /v1/insights/authors, /posts and /campaigns."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dengar_gateway.entrypoints.schemas import MentionOut

RankBy = Literal["volume", "reach", "engagement"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SentimentCountsOut(_Out):
    negative: int
    neutral: int
    positive: int


class TopAuthorOut(_Out):
    platform: str
    id: str | None = Field(description="The platform's author id; null when it gave only a handle.")
    handle: str = Field(description="As of the author's latest mention in the period.")
    display_name: str
    verified: bool
    followers: int = Field(description="The largest follower count seen in the period.")
    mentions: int
    engagement: int = Field(description="Sum of the mentions' engagement scores "
                                        "(likes + 2 x reposts + replies + quotes).")
    sentiment: SentimentCountsOut
    net_sentiment: float = Field(description="(positive - negative) / mentions.")
    sample_mention_ids: list[str] = Field(description="Up to 3 of the author's most engaging "
                                                      "mentions of the period.")


class TopAuthorsOut(_Out):
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    query_id: str | None = None
    rank_by: RankBy
    authors: list[TopAuthorOut]


class TopPostsOut(_Out):
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    query_id: str | None = None
    posts: list[MentionOut] = Field(description="Highest engagement score first.")


class CampaignPostOut(_Out):
    mention_id: str
    author: str = Field(description="Handle, or author id when there is none.")
    text: str
    created_at: datetime
    platform: str


class CampaignOut(_Out):
    cluster: str = Field(description="The cluster's near-duplicate key.")
    posts: int = Field(description="Posts in the densest span (at most 3 hours).")
    authors: int = Field(description="Distinct authors in that span.")
    start: datetime
    end: datetime
    first_post: CampaignPostOut
    sample_text: str
    common_terms: list[str] = Field(description="Words that most copies share.")
    platforms: list[str]
    query_ids: list[str]
    evidence_mention_ids: list[str]
    filters: dict[str, str] = Field(
        description="Query parameters of GET /v1/mentions that list the evidence.")


class CampaignsOut(_Out):
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    query_id: str | None = None
    sampled_mentions: int = Field(description="Mentions of the period examined (a bounded sample "
                                              "spread over it).")
    campaigns: list[CampaignOut]
