"""gRPC test doubles of the collector, insights and NLP services, for gateway tests. They speak
the real dengar.v1 protos over real gRPC servers; the end-to-end suite runs the real services."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
from grpc import aio

from dengar.v1 import (
    collector_pb2,
    collector_pb2_grpc,
    common_pb2,
    insights_pb2,
    insights_pb2_grpc,
    nlp_pb2,
    nlp_pb2_grpc,
)
from dengar_common.ids import mention_id

SERVICE_NAMES = ["dengar.v1.CollectorService", "dengar.v1.InsightsService", "dengar.v1.NlpService"]


@dataclass
class Call:
    method: str
    request: Any
    metadata: dict[str, str]


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    # Set to make every call fail with this status.
    fail: grpc.StatusCode | None = None
    delay_s: float = 0.0
    # Set on the first call, so a test can wait for a request to be in flight.
    called: asyncio.Event = field(default_factory=asyncio.Event)

    async def record(self, method: str, request: Any, context: aio.ServicerContext) -> None:
        md = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        self.calls.append(Call(method, request, md))
        self.called.set()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail is not None:
            await context.abort(self.fail, f"injected {self.fail.name}")

    def of(self, method: str) -> list[Any]:
        return [c.request for c in self.calls if c.method == method]


class FakeCollector(collector_pb2_grpc.CollectorServiceServicer):
    """Accepts every post except those whose text is "collector-reject"."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    async def IngestPosts(self, request: collector_pb2.IngestPostsRequest,
                          context: aio.ServicerContext) -> collector_pb2.IngestPostsResponse:
        await self.rec.record("IngestPosts", request, context)
        resp = collector_pb2.IngestPostsResponse()
        for i, post in enumerate(request.posts):
            if post.text == "collector-reject":
                resp.rejected += 1
                resp.errors.add(index=i, field="text", message="rejected by the collector")
            else:
                resp.accepted += 1
                resp.post_ids.append(post.id)
        return resp


def make_mention(tenant_id: str, external_id: str, text: str, *,
                 label: int = common_pb2.SENTIMENT_NEGATIVE) -> insights_pb2.Mention:
    mid = mention_id(tenant_id, "x", external_id)
    post = common_pb2.Post(id=mid, tenant_id=tenant_id, platform=common_pb2.PLATFORM_X,
                           external_id=external_id, text=text, url=f"https://x.com/a/status/{external_id}",
                           author=common_pb2.Author(id="u1", handle="ann", followers=5),
                           engagement=common_pb2.Engagement(likes=3))
    post.created_at.FromDatetime(datetime(2024, 5, 1, 12, tzinfo=UTC))
    enrichment = common_pb2.Enrichment(
        language="en", language_confidence=0.99,
        sentiment=common_pb2.SentimentResult(label=label, negative=0.8, neutral=0.15, positive=0.05),
        emotion=common_pb2.EmotionResult(label="anger", scores={"anger": 0.7, "joy": 0.1}),
        aspects=[common_pb2.AspectResult(name="delivery", polarity=common_pb2.SENTIMENT_NEGATIVE,
                                         confidence=0.9)],
        hashtags=["late"], entities=[common_pb2.EntityMatch(id="acme", kind="brand", surface="Acme",
                                                            start=0, end=4)])
    return insights_pb2.Mention(id=mid, tenant_id=tenant_id, post=post, enrichment=enrichment)


class FakeInsights(insights_pb2_grpc.InsightsServiceServicer):
    """Serves ``mentions[tenant]``; pages of ``page_size`` with the offset as the page token."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.mentions: dict[str, list[insights_pb2.Mention]] = {}

    async def SearchMentions(self, request: insights_pb2.SearchMentionsRequest,
                             context: aio.ServicerContext) -> insights_pb2.SearchMentionsResponse:
        await self.rec.record("SearchMentions", request, context)
        if request.page_token and not request.page_token.isdigit():
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "invalid page token")
        items = self.mentions.get(request.tenant_id, [])
        start = int(request.page_token or 0)
        end = start + (request.page_size or 50)
        return insights_pb2.SearchMentionsResponse(
            mentions=items[start:end], next_page_token=str(end) if end < len(items) else "")

    async def GetMention(self, request: insights_pb2.GetMentionRequest,
                         context: aio.ServicerContext) -> insights_pb2.Mention:
        await self.rec.record("GetMention", request, context)
        for m in self.mentions.get(request.tenant_id, []):
            if m.id == request.id:
                return m
        await context.abort(grpc.StatusCode.NOT_FOUND, f"mention {request.id} not found")
        raise AssertionError("unreachable")

    async def GetTimeSeries(self, request: insights_pb2.GetTimeSeriesRequest,
                            context: aio.ServicerContext) -> insights_pb2.GetTimeSeriesResponse:
        await self.rec.record("GetTimeSeries", request, context)
        resp = insights_pb2.GetTimeSeriesResponse(total=6)
        for i, (neg, neu, pos) in enumerate([(1, 1, 0), (0, 2, 2)]):
            p = resp.points.add(volume=neg + neu + pos, negative=neg, neutral=neu, positive=pos)
            p.bucket_start.FromDatetime(datetime(2024, 5, 1 + i, tzinfo=UTC))
        return resp

    async def GetSummary(self, request: insights_pb2.GetSummaryRequest,
                         context: aio.ServicerContext) -> insights_pb2.GetSummaryResponse:
        await self.rec.record("GetSummary", request, context)
        return insights_pb2.GetSummaryResponse(
            volume=10, negative=5, neutral=3, positive=2,
            aspects=[insights_pb2.AspectSummary(name="delivery", negative=4, neutral=1, positive=0),
                     insights_pb2.AspectSummary(name="price", negative=1, positive=3),
                     insights_pb2.AspectSummary(name="staff", positive=2)],
            platforms=[insights_pb2.CountItem(key="x", count=7),
                       insights_pb2.CountItem(key="PLATFORM_REDDIT", count=3)],
            languages=[insights_pb2.CountItem(key="en", count=8), insights_pb2.CountItem(key="id", count=2)])


class FakeNlp(nlp_pb2_grpc.NlpServiceServicer):
    """Negative when a text says "bad", positive when it says "good", else neutral."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    async def Analyze(self, request: nlp_pb2.AnalyzeRequest,
                      context: aio.ServicerContext) -> nlp_pb2.AnalyzeResponse:
        await self.rec.record("Analyze", request, context)
        resp = nlp_pb2.AnalyzeResponse()
        for text in request.texts:
            label = (common_pb2.SENTIMENT_NEGATIVE if "bad" in text else common_pb2.SENTIMENT_POSITIVE
                     if "good" in text else common_pb2.SENTIMENT_NEUTRAL)
            r = resp.results.add(language="en", language_confidence=0.9, model_version="fake-1",
                                 hashtags=[w[1:] for w in text.split() if w.startswith("#")])
            r.sentiment.CopyFrom(common_pb2.SentimentResult(label=label, negative=0.1, neutral=0.2,
                                                            positive=0.7))
            if request.include_embedding:
                r.embedding.extend([0.25, -0.5])
        return resp
