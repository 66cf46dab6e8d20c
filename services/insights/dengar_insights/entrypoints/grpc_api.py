"""The InsightsService gRPC API: search and read mentions, time series and summaries.

Time series and summaries are served only from the rollups (never by scanning mentions), in UTC
buckets. A time series returns whole buckets: every bucket that overlaps [start, end), zero-filled.
A summary is exact to the hour: the range is widened to whole hours, whole days inside it are read
from daily buckets and the partial days at its edges from hourly buckets.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc import aio
from pymongo.errors import PyMongoError

from dengar.v1 import insights_pb2, insights_pb2_grpc
from dengar_common.enums import PLATFORM_NAMES, SENTIMENT_NAMES
from dengar_common.ids import is_valid_tenant_id
from dengar_insights.adapters.mentions import MentionRepository
from dengar_insights.adapters.rollups import RollupRepository
from dengar_insights.domain.mention import normalise_language, to_proto
from dengar_insights.domain.rollups import (
    DAY,
    HOUR,
    SENTIMENT_LABELS,
    bucket_count,
    bucket_starts,
    floor_time,
    sorted_counts,
    sum_docs,
    summary_spans,
)
from dengar_insights.domain.search import (
    ENGAGEMENT_DESC,
    TIME_ASC,
    TIME_DESC,
    InvalidCursor,
    InvalidQuery,
    SearchQuery,
    cursor_after,
    decode_cursor,
    encode_cursor,
    page_size,
)
from dengar_insights.domain.terms import query_terms

logger = logging.getLogger(__name__)

MAX_BUCKETS = 1000
# Unspecified interval: hourly while that stays readable, daily beyond.
AUTO_HOURLY_MAX_BUCKETS = 48

_SORTS = {
    insights_pb2.SORT_ORDER_UNSPECIFIED: TIME_DESC,
    insights_pb2.SORT_ORDER_TIME_DESC: TIME_DESC,
    insights_pb2.SORT_ORDER_TIME_ASC: TIME_ASC,
    insights_pb2.SORT_ORDER_ENGAGEMENT_DESC: ENGAGEMENT_DESC,
}
_INTERVALS = {insights_pb2.INTERVAL_HOUR: HOUR, insights_pb2.INTERVAL_DAY: DAY}

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Handler = Callable[[Any, Req, aio.ServicerContext], Awaitable[Resp]]


class BadRequest(ValueError):
    """Turned into INVALID_ARGUMENT."""


def _rpc(fn: Handler[Req, Resp]) -> Handler[Req, Resp]:
    """Map validation errors to INVALID_ARGUMENT and store outages to UNAVAILABLE."""

    @functools.wraps(fn)
    async def wrapper(self: Any, request: Req, context: aio.ServicerContext) -> Resp:
        try:
            return await fn(self, request, context)
        except (BadRequest, InvalidQuery, InvalidCursor) as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except PyMongoError as exc:
            logger.warning("%s failed on the store: %s", fn.__name__, exc)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "store unavailable, retry later")
        raise AssertionError("unreachable: abort raises")

    return wrapper


def _tenant(tenant_id: str) -> str:
    if not tenant_id or not is_valid_tenant_id(tenant_id):
        raise BadRequest("tenant_id is missing or invalid")
    return tenant_id


def _time(msg: Any, field: str) -> datetime | None:
    if not msg.HasField(field):
        return None
    try:
        dt: datetime = getattr(msg, field).ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise BadRequest(f"{field} is out of range") from exc
    return dt


def _required_range(msg: Any) -> tuple[datetime, datetime]:
    start, end = _time(msg, "start_time"), _time(msg, "end_time")
    if start is None or end is None:
        raise BadRequest("start_time and end_time are required")
    if end <= start:
        raise BadRequest("end_time must be after start_time")
    return start, end


def build_query(request: insights_pb2.SearchMentionsRequest) -> SearchQuery:
    """The request as a validated SearchQuery; BadRequest/InvalidQuery when it is not valid."""
    if request.sort not in _SORTS:
        raise BadRequest(f"unknown sort {request.sort}")
    sentiments = []
    for s in request.sentiments:
        if s not in SENTIMENT_NAMES:
            raise BadRequest(f"unknown sentiment {s}")
        sentiments.append(SENTIMENT_NAMES[s])
    platforms = []
    for p in request.platforms:
        if p not in PLATFORM_NAMES:
            raise BadRequest(f"unknown platform {p}")
        platforms.append(PLATFORM_NAMES[p])
    terms = query_terms(request.query)
    if request.query.strip() and not terms:
        raise BadRequest("query has no searchable words")
    return SearchQuery(
        start=_time(request, "start_time"), end=_time(request, "end_time"),
        sentiments=tuple(sorted(set(sentiments))), platforms=tuple(sorted(set(platforms))),
        languages=tuple(sorted({normalise_language(x) for x in request.languages if x.strip()})),
        aspects=tuple(sorted({x.strip() for x in request.aspects if x.strip()})),
        terms=tuple(terms), sort=_SORTS[request.sort],
    )


def _ts(dt: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(dt)
    return ts


class InsightsServicer(insights_pb2_grpc.InsightsServiceServicer):
    def __init__(self, mentions: MentionRepository, rollups: RollupRepository, *,
                 max_buckets: int = MAX_BUCKETS) -> None:
        self._mentions = mentions
        self._rollups = rollups
        self._max_buckets = max_buckets

    @_rpc
    async def SearchMentions(self, request: insights_pb2.SearchMentionsRequest,
                             context: aio.ServicerContext) -> insights_pb2.SearchMentionsResponse:
        tenant = _tenant(request.tenant_id)
        query = build_query(request)
        size = page_size(request.page_size)
        after = decode_cursor(request.page_token, query) if request.page_token else None
        # One extra row tells whether another page exists without a count query.
        docs = await self._mentions.search(tenant, query, after, size + 1)
        resp = insights_pb2.SearchMentionsResponse(mentions=[to_proto(d) for d in docs[:size]])
        if len(docs) > size:
            resp.next_page_token = encode_cursor(cursor_after(query, docs[size - 1]))
        return resp

    @_rpc
    async def GetMention(self, request: insights_pb2.GetMentionRequest,
                         context: aio.ServicerContext) -> insights_pb2.Mention:
        tenant = _tenant(request.tenant_id)
        if not request.id:
            raise BadRequest("id is required")
        doc = await self._mentions.get(tenant, request.id)
        if doc is None:
            await _not_found(context, request.id)
        return to_proto(doc)

    @_rpc
    async def GetTimeSeries(self, request: insights_pb2.GetTimeSeriesRequest,
                            context: aio.ServicerContext) -> insights_pb2.GetTimeSeriesResponse:
        tenant = _tenant(request.tenant_id)
        start, end = _required_range(request)
        metric = request.metric or insights_pb2.METRIC_VOLUME
        if metric not in (insights_pb2.METRIC_VOLUME, insights_pb2.METRIC_SENTIMENT):
            raise BadRequest(f"unknown metric {request.metric}")
        if request.interval == insights_pb2.INTERVAL_UNSPECIFIED:
            interval = HOUR if bucket_count(start, end, HOUR) <= AUTO_HOURLY_MAX_BUCKETS else DAY
        elif request.interval in _INTERVALS:
            interval = _INTERVALS[request.interval]
        else:
            raise BadRequest(f"unknown interval {request.interval}")
        n = bucket_count(start, end, interval)
        if n > self._max_buckets:
            raise BadRequest(f"range spans {n} {interval} buckets; at most {self._max_buckets} allowed")

        first = floor_time(start, interval)
        docs = await self._rollups.read(tenant, interval, first, end)
        by_start = {d["bucket_start"]: d for d in docs}
        resp = insights_pb2.GetTimeSeriesResponse()
        for t in bucket_starts(start, end, interval):
            doc = by_start.get(t, {})
            point = resp.points.add(bucket_start=_ts(t), volume=int(doc.get("volume", 0)))
            if metric == insights_pb2.METRIC_SENTIMENT:
                sent = doc.get("sentiment") or {}
                point.negative, point.neutral, point.positive = (
                    int(sent.get(label, 0)) for label in SENTIMENT_LABELS)
            resp.total += point.volume
        return resp

    @_rpc
    async def GetSummary(self, request: insights_pb2.GetSummaryRequest,
                         context: aio.ServicerContext) -> insights_pb2.GetSummaryResponse:
        tenant = _tenant(request.tenant_id)
        start, end = _required_range(request)
        docs: list[dict[str, Any]] = []
        for span in summary_spans(start, end):
            if bucket_count(span.start, span.end, span.interval) > 10 * self._max_buckets:
                raise BadRequest("time range is too long")
            docs.extend(await self._rollups.read(tenant, span.interval, span.start, span.end))
        totals = sum_docs(docs)
        resp = insights_pb2.GetSummaryResponse(
            volume=totals.volume, negative=totals.sentiment["negative"],
            neutral=totals.sentiment["neutral"], positive=totals.sentiment["positive"])
        for name, counts in totals.aspects_by_negative():
            resp.aspects.add(name=name, negative=counts["negative"], neutral=counts["neutral"],
                             positive=counts["positive"])
        for key, count in sorted_counts(totals.platforms):
            resp.platforms.add(key=key, count=count)
        for key, count in sorted_counts(totals.languages):
            resp.languages.add(key=key, count=count)
        return resp


async def _not_found(context: aio.ServicerContext, mention_id: str) -> NoReturn:
    # The same answer whether the id is unknown or belongs to another tenant.
    await context.abort(grpc.StatusCode.NOT_FOUND, f"mention {mention_id} not found")
    raise AssertionError("unreachable: abort raises")

