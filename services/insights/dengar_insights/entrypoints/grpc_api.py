"""The InsightsService gRPC API: search and read mentions, time series, summaries, share of voice.

Time series, summaries and share of voice are served only from the rollups (never by scanning
mentions), in UTC buckets. A time series returns whole buckets: every bucket that overlaps
[start, end), zero-filled. A summary is exact to the hour: the range is widened to whole hours,
whole days inside it are read from daily buckets and the partial days at its edges from hourly
buckets. Share-of-voice totals are counted like a summary, its optional series like a time series.
Restricted to one listening query, each reads that query's counters (``queries.<id>``) from the
same rollup documents, and only those.
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
    query_counters_path,
    query_key,
    query_part,
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
from dengar_insights.domain.share import MAX_COMPARED_QUERIES, share_of_voice
from dengar_insights.domain.terms import query_terms
from dengar_insights.entrypoints.grpc_insight_engine import InsightEngineRpc

logger = logging.getLogger(__name__)

MAX_BUCKETS = 1000
# Collector query ids are short ("q_" + 16 hex); anything much longer is not one.
MAX_QUERY_ID_CHARS = 128
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


def _query_id(value: str, field: str) -> str:
    query_id = value.strip()
    if not query_id:
        raise BadRequest(f"{field} must not be blank")
    if len(query_id) > MAX_QUERY_ID_CHARS:
        raise BadRequest(f"{field} is longer than {MAX_QUERY_ID_CHARS} characters")
    return query_id


def _optional_query_id(value: str) -> str | None:
    """GetTimeSeries/GetSummary ``query_id``: empty means every mention."""
    return _query_id(value, "query_id") if value else None


def _query_ids(values: Any, *, required: bool) -> list[str]:
    ids = [_query_id(v, "query_ids") for v in values]
    if required and not ids:
        raise BadRequest("query_ids: at least one listening query is required")
    if len(ids) > MAX_COMPARED_QUERIES:
        raise BadRequest(f"query_ids: at most {MAX_COMPARED_QUERIES} allowed, got {len(ids)}")
    return ids


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
        query_ids=tuple(sorted(set(_query_ids(request.query_ids, required=False)))),
    )


def _ts(dt: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(dt)
    return ts


class InsightsServicer(InsightEngineRpc, insights_pb2_grpc.InsightsServiceServicer):
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
        query_id = _optional_query_id(request.query_id)
        if request.interval == insights_pb2.INTERVAL_UNSPECIFIED:
            interval = HOUR if bucket_count(start, end, HOUR) <= AUTO_HOURLY_MAX_BUCKETS else DAY
            self._check_buckets(start, end, interval)
        else:
            interval = self._interval(request.interval, start, end)

        fields = None if query_id is None else [query_counters_path(query_id)]
        by_start = await self._buckets(tenant, interval, start, end, fields)
        resp = insights_pb2.GetTimeSeriesResponse()
        for t in bucket_starts(start, end, interval):
            doc = by_start.get(t, {})
            point = _point(resp.points.add(), t, doc if query_id is None else query_part(doc, query_id),
                           with_sentiment=metric == insights_pb2.METRIC_SENTIMENT)
            resp.total += point.volume
        return resp

    @_rpc
    async def GetSummary(self, request: insights_pb2.GetSummaryRequest,
                         context: aio.ServicerContext) -> insights_pb2.GetSummaryResponse:
        tenant = _tenant(request.tenant_id)
        start, end = _required_range(request)
        query_id = _optional_query_id(request.query_id)
        fields = None if query_id is None else [query_counters_path(query_id)]
        totals = sum_docs(await self._summary_docs(tenant, start, end, fields), query_id)
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

    @_rpc
    async def GetShareOfVoice(self, request: insights_pb2.GetShareOfVoiceRequest,
                              context: aio.ServicerContext) -> insights_pb2.GetShareOfVoiceResponse:
        tenant = _tenant(request.tenant_id)
        start, end = _required_range(request)
        query_ids = _query_ids(request.query_ids, required=True)
        # Two ids that read the same counters would count one query twice in the total.
        keys = [query_key(q) for q in query_ids]
        if len(set(keys)) != len(keys):
            raise BadRequest("query_ids must not repeat a query")
        interval = (None if request.interval == insights_pb2.INTERVAL_UNSPECIFIED
                    else self._interval(request.interval, start, end))
        fields = [query_counters_path(q) for q in query_ids]

        docs = await self._summary_docs(tenant, start, end, fields)
        items, total = share_of_voice([(q, sum_docs(docs, q)) for q in query_ids])
        resp = insights_pb2.GetShareOfVoiceResponse(total=total)
        for item in items:
            resp.items.add(query_id=item.query_id, volume=item.volume, share=item.share,
                           negative=item.negative, neutral=item.neutral, positive=item.positive,
                           net_sentiment=item.net_sentiment)
        if interval is not None:
            by_start = await self._buckets(tenant, interval, start, end, fields)
            for t in bucket_starts(start, end, interval):
                doc = by_start.get(t, {})
                for query_id, out in zip(query_ids, resp.items, strict=True):
                    _point(out.points.add(), t, query_part(doc, query_id), with_sentiment=True)
        return resp

    # -- shared by the rollup reads ----------------------------------------------------------------

    def _interval(self, value: int, start: datetime, end: datetime) -> str:
        """A requested interval, refused when unknown or when it makes too many buckets."""
        if value not in _INTERVALS:
            raise BadRequest(f"unknown interval {value}")
        interval = _INTERVALS[value]
        self._check_buckets(start, end, interval)
        return interval

    def _check_buckets(self, start: datetime, end: datetime, interval: str) -> None:
        n = bucket_count(start, end, interval)
        if n > self._max_buckets:
            raise BadRequest(f"range spans {n} {interval} buckets; at most {self._max_buckets} allowed")

    async def _buckets(self, tenant: str, interval: str, start: datetime, end: datetime,
                       fields: list[str] | None) -> dict[datetime, dict[str, Any]]:
        """The rollup documents of every bucket overlapping [start, end), by bucket start."""
        docs = await self._rollups.read(tenant, interval, floor_time(start, interval), end, fields)
        return {d["bucket_start"]: d for d in docs}

    async def _summary_docs(self, tenant: str, start: datetime, end: datetime,
                            fields: list[str] | None) -> list[dict[str, Any]]:
        """The fewest rollup documents that cover [start, end) widened to whole hours."""
        docs: list[dict[str, Any]] = []
        for span in summary_spans(start, end):
            if bucket_count(span.start, span.end, span.interval) > 10 * self._max_buckets:
                raise BadRequest("time range is too long")
            docs.extend(await self._rollups.read(tenant, span.interval, span.start, span.end, fields))
        return docs


def _point(point: insights_pb2.TimeSeriesPoint, start: datetime, counters: Any, *,
           with_sentiment: bool) -> insights_pb2.TimeSeriesPoint:
    """Fill one series point from a bucket's counters (tenant-wide or one query's)."""
    point.bucket_start.CopyFrom(_ts(start))
    point.volume = int(counters.get("volume", 0))
    if with_sentiment:
        sent = counters.get("sentiment") or {}
        point.negative, point.neutral, point.positive = (
            int(sent.get(label, 0)) for label in SENTIMENT_LABELS)
    return point


async def _not_found(context: aio.ServicerContext, mention_id: str) -> NoReturn:
    # The same answer whether the id is unknown or belongs to another tenant.
    await context.abort(grpc.StatusCode.NOT_FOUND, f"mention {mention_id} not found")
    raise AssertionError("unreachable: abort raises")

