"""Builders for enriched posts, shared by the insights unit tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from dengar.v1 import common_pb2
from dengar_common.enums import platform_name
from dengar_common.ids import mention_id

PostFactory = Callable[..., common_pb2.EnrichedPost]


def build_enriched(tenant: str = "acme", external_id: str = "1", *, platform: int = common_pb2.PLATFORM_X,
                   text: str = "Pengiriman cepat sekali", sentiment: int = common_pb2.SENTIMENT_POSITIVE,
                   created_at: datetime = datetime(2026, 11, 22, 5, 30, tzinfo=UTC),
                   collected_at: datetime | None = None, language: str = "id",
                   aspects: tuple[tuple[str, int], ...] = (("delivery", common_pb2.SENTIMENT_POSITIVE),),
                   likes: int = 0, reposts: int = 0, replies: int = 0, quotes: int = 0,
                   **post_fields: Any) -> common_pb2.EnrichedPost:
    post = common_pb2.Post(
        id=mention_id(tenant, platform_name(platform), external_id), tenant_id=tenant,
        platform=platform, external_id=external_id, text=text,
        author=common_pb2.Author(id="u1", handle="budi", followers=10),
        engagement=common_pb2.Engagement(likes=likes, reposts=reposts, replies=replies, quotes=quotes),
        **post_fields)
    post.created_at.FromDatetime(created_at)
    post.collected_at.FromDatetime(collected_at or created_at)
    enr = common_pb2.Enrichment(
        language=language, language_confidence=0.9,
        sentiment=common_pb2.SentimentResult(label=sentiment, negative=0.1, neutral=0.2, positive=0.7),
        aspects=[common_pb2.AspectResult(name=n, polarity=p, confidence=0.8) for n, p in aspects],
        hashtags=["#Promo"], mentions=["@toko_id"], model_version="test",
        emotion=common_pb2.EmotionResult(label="joy", scores={"joy": 0.75, "anger": 0.25}))
    return common_pb2.EnrichedPost(post=post, enrichment=enr)


@pytest.fixture
def make_enriched() -> PostFactory:
    return build_enriched
