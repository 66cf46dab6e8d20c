"""The InsightsService gRPC API: protobuf requests in, use cases of service_layer/queries.py, protobuf out.

Errors are raised as ``DomainError``s (the server interceptor turns them into status codes and
validates ``tenant_id`` before any method runs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from grpc import aio

from dengar.v1 import insights_pb2, insights_pb2_grpc
from dengar_common.enums import PLATFORM_NAMES, SENTIMENT_NAMES
from dengar_common.errors import InvalidArgument
from dengar_insights.domain.rollups import DAY, HOUR
from dengar_insights.domain.search import ENGAGEMENT_DESC, TIME_ASC, TIME_DESC
from dengar_insights.entrypoints.grpc_backfill import BackfillRpc
from dengar_insights.entrypoints.grpc_inbox import InboxRpc
from dengar_insights.entrypoints.grpc_insight_engine import InsightEngineRpc
from dengar_insights.entrypoints.grpc_stream import StreamRpc
from dengar_insights.entrypoints.grpc_topics import TopicsRpc
from dengar_insights.entrypoints.grpc_voices import VoicesRpc
from dengar_insights.entrypoints.protos import mention_to_proto, optional_time, timestamp
from dengar_insights.service_layer import queries
from dengar_insights.service_layer.inbox import Inbox
from dengar_insights.service_layer.insight_engine import InsightEngine
from dengar_insights.service_layer.ports import BackfillRepository
from dengar_insights.service_layer.queries import InsightsQueries, SeriesPoint
from dengar_insights.service_layer.stream import MentionStream
from dengar_insights.service_layer.topics import TopicsEngine
from dengar_insights.service_layer.voices import Voices

_SORTS = {
    insights_pb2.SORT_ORDER_UNSPECIFIED: TIME_DESC,
    insights_pb2.SORT_ORDER_TIME_DESC: TIME_DESC,
    insights_pb2.SORT_ORDER_TIME_ASC: TIME_ASC,
    insights_pb2.SORT_ORDER_ENGAGEMENT_DESC: ENGAGEMENT_DESC,
}
_INTERVALS = {insights_pb2.INTERVAL_HOUR: HOUR, insights_pb2.INTERVAL_DAY: DAY}
_METRICS = {insights_pb2.METRIC_UNSPECIFIED: queries.VOLUME, insights_pb2.METRIC_VOLUME: queries.VOLUME,
            insights_pb2.METRIC_SENTIMENT: queries.SENTIMENT}


def _time(msg: Any, field: str) -> datetime | None:
    try:
        return optional_time(msg, field)
    except ValueError as exc:
        raise InvalidArgument(f"{field} is out of range", field=field) from exc


def _named(values: Any, names: dict[int, str], field: str, what: str) -> list[str]:
    out = []
    for value in values:
        if value not in names:
            raise InvalidArgument(f"unknown {what} {value}", field=field)
        out.append(names[value])
    return out


def _interval(value: int) -> str | None:
    """None for an unspecified interval."""
    if value == insights_pb2.INTERVAL_UNSPECIFIED:
        return None
    if value not in _INTERVALS:
        raise InvalidArgument(f"unknown interval {value}", field="interval")
    return _INTERVALS[value]


def search_request(request: insights_pb2.SearchMentionsRequest) -> queries.SearchRequest:
    if request.sort not in _SORTS:
        raise InvalidArgument(f"unknown sort {request.sort}", field="sort")
    return queries.SearchRequest(
        tenant_id=request.tenant_id, start=_time(request, "start_time"), end=_time(request, "end_time"),
        sentiments=_named(request.sentiments, SENTIMENT_NAMES, "sentiments", "sentiment"),
        platforms=_named(request.platforms, PLATFORM_NAMES, "platforms", "platform"),
        languages=list(request.languages), aspects=list(request.aspects), query=request.query,
        sort=_SORTS[request.sort], query_ids=list(request.query_ids), page_size=request.page_size,
        page_token=request.page_token, category_ids=list(request.category_ids),
        states=list(request.workflow_states), assignees=list(request.assignees), tags=list(request.tags))


def _fill(out: insights_pb2.TimeSeriesPoint, p: SeriesPoint) -> None:
    out.bucket_start.CopyFrom(timestamp(p.bucket_start))
    out.volume, out.negative, out.neutral, out.positive = p.volume, p.negative, p.neutral, p.positive


class InsightsServicer(BackfillRpc, InsightEngineRpc, VoicesRpc, TopicsRpc, InboxRpc, StreamRpc,
                       insights_pb2_grpc.InsightsServiceServicer):
    def __init__(self, use_cases: InsightsQueries, engine: InsightEngine, voices: Voices,
                 topics: TopicsEngine, *, backfills: BackfillRepository | None = None,
                 inbox: Inbox | None = None, stream: MentionStream | None = None) -> None:
        InboxRpc.__init__(self, inbox, search_request)
        StreamRpc.__init__(self, stream)
        InsightEngineRpc.__init__(self, engine)
        VoicesRpc.__init__(self, voices)
        TopicsRpc.__init__(self, topics)
        self._queries = use_cases
        self.backfills = backfills

    async def SearchMentions(self, request: insights_pb2.SearchMentionsRequest,
                             context: aio.ServicerContext[Any, Any]) -> insights_pb2.SearchMentionsResponse:
        page = await self._queries.search(search_request(request))
        return insights_pb2.SearchMentionsResponse(mentions=[mention_to_proto(d) for d in page.mentions],
                                                   next_page_token=page.next_page_token)

    async def ExportMentions(self, request: insights_pb2.SearchMentionsRequest,
                             context: aio.ServicerContext[Any, Any]
                             ) -> AsyncIterator[insights_pb2.ExportMentionsResponse]:
        # Each batch waits for the client to take the previous one (gRPC flow control), so a slow
        # reader holds one batch here, not the export.
        async for batch in self._queries.export(search_request(request)):
            yield insights_pb2.ExportMentionsResponse(mentions=[mention_to_proto(d) for d in batch])

    async def GetMention(self, request: insights_pb2.GetMentionRequest,
                         context: aio.ServicerContext[Any, Any]) -> insights_pb2.Mention:
        return mention_to_proto(await self._queries.get_mention(request.tenant_id, request.id))

    async def GetTimeSeries(self, request: insights_pb2.GetTimeSeriesRequest,
                            context: aio.ServicerContext[Any, Any]) -> insights_pb2.GetTimeSeriesResponse:
        if request.metric not in _METRICS:
            raise InvalidArgument(f"unknown metric {request.metric}", field="metric")
        series = await self._queries.time_series(queries.SeriesRequest(
            tenant_id=request.tenant_id, start=_time(request, "start_time"),
            end=_time(request, "end_time"), metric=_METRICS[request.metric],
            interval=_interval(request.interval), query_id=request.query_id,
            category_id=request.category_id))
        resp = insights_pb2.GetTimeSeriesResponse(total=series.total)
        for p in series.points:
            _fill(resp.points.add(), p)
        return resp

    async def GetSummary(self, request: insights_pb2.GetSummaryRequest,
                         context: aio.ServicerContext[Any, Any]) -> insights_pb2.GetSummaryResponse:
        s = await self._queries.summary(queries.SummaryRequest(
            tenant_id=request.tenant_id, start=_time(request, "start_time"),
            end=_time(request, "end_time"), query_id=request.query_id,
            category_id=request.category_id))
        resp = insights_pb2.GetSummaryResponse(volume=s.volume, negative=s.negative, neutral=s.neutral,
                                               positive=s.positive)
        for a in s.aspects:
            resp.aspects.add(name=a.name, negative=a.negative, neutral=a.neutral, positive=a.positive)
        for key, count in s.platforms:
            resp.platforms.add(key=key, count=count)
        for key, count in s.languages:
            resp.languages.add(key=key, count=count)
        return resp

    async def GetShareOfVoice(self, request: insights_pb2.GetShareOfVoiceRequest,
                              context: aio.ServicerContext[Any, Any]
                              ) -> insights_pb2.GetShareOfVoiceResponse:
        sov = await self._queries.share_of_voice(queries.ShareRequest(
            tenant_id=request.tenant_id, start=_time(request, "start_time"),
            end=_time(request, "end_time"), query_ids=list(request.query_ids),
            interval=_interval(request.interval)))
        resp = insights_pb2.GetShareOfVoiceResponse(total=sov.total)
        for item in sov.items:
            resp.items.add(query_id=item.query_id, volume=item.volume, share=item.share,
                           negative=item.negative, neutral=item.neutral, positive=item.positive,
                           net_sentiment=item.net_sentiment)
        for out, points in zip(resp.items, sov.series, strict=False):
            for p in points:
                _fill(out.points.add(), p)
        return resp
