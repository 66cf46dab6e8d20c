"""GetTopics: proto <-> domain conversion around ``TopicsEngine``.

``TopicsRpc`` is mixed into the InsightsService servicer, like ``grpc_insight_engine``'s part. Bad
input raises ``InvalidArgument`` naming the field (INVALID_ARGUMENT through the server
interceptor, which checks the tenant id too).
"""

from __future__ import annotations

from typing import Any

from grpc import aio

from dengar.v1 import insights_pb2
from dengar_insights.domain.insight.emerging import TopicSummary
from dengar_insights.entrypoints.grpc_insight_engine import period_of, query_id_of, to_ts
from dengar_insights.service_layer.topics import TopicsEngine, TopicsRequest

DEFAULT_LIMIT = 10


def topic_proto(t: TopicSummary) -> insights_pb2.EmergingTopic:
    out = insights_pb2.EmergingTopic(
        id=t.id, keywords=list(t.keywords), volume=t.volume, share=t.share,
        negative=t.sentiment.get("negative", 0), neutral=t.sentiment.get("neutral", 0),
        positive=t.sentiment.get("positive", 0),
        aspects=[insights_pb2.CountItem(key=a, count=n) for a, n in t.aspects],
        representatives=[insights_pb2.TopicRepresentative(id=r.id, snippet=r.snippet)
                         for r in t.representatives],
        previous_volume=t.previous_volume, change=t.change, status=t.status, cohesion=t.cohesion)
    if t.relative_change is not None:
        out.relative_change = t.relative_change
    return out


class TopicsRpc:
    """The topics method of InsightsService (mixed into its servicer)."""

    def __init__(self, engine: TopicsEngine) -> None:
        self._topics = engine

    async def GetTopics(self, request: insights_pb2.GetTopicsRequest,
                        context: aio.ServicerContext[Any, Any]) -> insights_pb2.GetTopicsResponse:
        start, end = period_of(request)
        result = await self._topics.topics(TopicsRequest(
            tenant_id=request.tenant_id, start=start, end=end,
            query_id=query_id_of(request.query_id), limit=request.limit or DEFAULT_LIMIT))
        return insights_pb2.GetTopicsResponse(
            start_time=to_ts(result.start), end_time=to_ts(result.end),
            previous_start_time=to_ts(result.previous_start),
            topics=[topic_proto(t) for t in result.topics], volume=result.volume,
            previous_volume=result.previous_volume, sampled=result.sampled,
            previous_sampled=result.previous_sampled, estimated=result.estimated)
