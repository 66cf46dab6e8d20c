"""Use cases that read mentions and rollups: search, get a mention, time series, summary, share of voice.

Time series, summaries and share of voice are served only from the rollups (never by scanning
mentions), in UTC buckets. A time series returns whole buckets: every bucket that overlaps
[start, end), zero-filled. A summary is exact to the hour: the range is widened to whole hours,
whole days inside it are read from daily buckets and the partial days at its edges from hourly
buckets. Share-of-voice totals are counted like a summary, its optional series like a time series.
Restricted to one listening query, each reads that query's counters (``queries.<id>``) from the
same rollup documents, and only those; restricted to one category, that category's counters
(``categories.<id>``).

Requests arrive with their enums already named (``"sentiment"``, ``"hour"``); everything else is
validated here and refused with ``InvalidArgument`` naming the request field.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dengar_common.errors import InvalidArgument, NotFound
from dengar_common.post_contract import SENTIMENT_LABELS
from dengar_insights.domain import workflow
from dengar_insights.domain.categories import check_category_id
from dengar_insights.domain.mention import normalise_language
from dengar_insights.domain.rollups import (
    DAY,
    HOUR,
    Scope,
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
    TIME_DESC,
    SearchQuery,
    cursor_after,
    decode_cursor,
    encode_cursor,
    page_size,
)
from dengar_insights.domain.share import MAX_COMPARED_QUERIES, VoiceShare, share_of_voice
from dengar_insights.domain.terms import query_terms
from dengar_insights.service_layer.ports import Doc, MentionRepository, RollupRepository

MAX_BUCKETS = 1000
# Collector query ids are short ("q_" + 16 hex); anything much longer is not one.
MAX_QUERY_ID_CHARS = 128
# Categories one search may filter on (a tenant has at most 50 by default).
MAX_FILTER_CATEGORIES = 50
# Unspecified interval: hourly while that stays readable, daily beyond.
AUTO_HOURLY_MAX_BUCKETS = 48

VOLUME = "volume"
# Mentions per message of an export stream.
EXPORT_BATCH = 200
SENTIMENT = "sentiment"


# -- requests ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchRequest:
    tenant_id: str
    start: datetime | None = None
    end: datetime | None = None
    sentiments: Sequence[str] = ()
    platforms: Sequence[str] = ()
    languages: Sequence[str] = ()
    aspects: Sequence[str] = ()
    # Free text; every searchable word must occur.
    query: str = ""
    sort: str = TIME_DESC
    query_ids: Sequence[str] = ()
    page_size: int = 0
    page_token: str = ""
    category_ids: Sequence[str] = ()
    # The monitoring inbox's filters.
    states: Sequence[str] = ()
    assignees: Sequence[str] = ()
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class RangeRequest:
    """A read of the rollups over [start, end); both are required (None is refused)."""

    tenant_id: str
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class SeriesRequest(RangeRequest):
    metric: str = VOLUME
    # None: hourly for short ranges, daily beyond.
    interval: str | None = None
    # "": every mention of the tenant.
    query_id: str = ""
    # "": every mention of the tenant; not together with query_id.
    category_id: str = ""


@dataclass(frozen=True)
class SummaryRequest(RangeRequest):
    query_id: str = ""
    category_id: str = ""


@dataclass(frozen=True)
class ShareRequest(RangeRequest):
    query_ids: Sequence[str] = ()
    # None: totals only, no series.
    interval: str | None = None


# -- results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MentionPage:
    mentions: list[Doc]
    next_page_token: str = ""


@dataclass(frozen=True)
class SeriesPoint:
    bucket_start: datetime
    volume: int
    # Zero unless the sentiment split was asked for.
    negative: int = 0
    neutral: int = 0
    positive: int = 0


@dataclass(frozen=True)
class TimeSeries:
    points: list[SeriesPoint]
    total: int


@dataclass(frozen=True)
class AspectCounts:
    name: str
    negative: int
    neutral: int
    positive: int


@dataclass(frozen=True)
class Summary:
    volume: int
    negative: int
    neutral: int
    positive: int
    # Most negative first.
    aspects: list[AspectCounts]
    # Largest first.
    platforms: list[tuple[str, int]]
    languages: list[tuple[str, int]]


@dataclass(frozen=True)
class ShareOfVoice:
    items: list[VoiceShare]
    total: int
    # Per item, in the same order, when an interval was asked for.
    series: list[list[SeriesPoint]] = field(default_factory=list)


# -- validation -------------------------------------------------------------------------------------


def required_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if start is None or end is None:
        raise InvalidArgument("start_time and end_time are required",
                              field="start_time" if start is None else "end_time")
    if end <= start:
        raise InvalidArgument("end_time must be after start_time", field="end_time")
    return start, end


def checked_query_id(value: str, field_name: str) -> str:
    query_id = value.strip()
    if not query_id:
        raise InvalidArgument(f"{field_name} must not be blank", field=field_name)
    if len(query_id) > MAX_QUERY_ID_CHARS:
        raise InvalidArgument(f"{field_name} is longer than {MAX_QUERY_ID_CHARS} characters",
                              field=field_name)
    return query_id


def optional_query_id(value: str) -> str | None:
    """The ``query_id`` of a time series or summary: empty means every mention."""
    return checked_query_id(value, "query_id") if value else None


def checked_query_ids(values: Sequence[str], *, required: bool) -> list[str]:
    ids = [checked_query_id(v, "query_ids") for v in values]
    if required and not ids:
        raise InvalidArgument("query_ids: at least one listening query is required", field="query_ids")
    if len(ids) > MAX_COMPARED_QUERIES:
        raise InvalidArgument(f"query_ids: at most {MAX_COMPARED_QUERIES} allowed, got {len(ids)}",
                              field="query_ids")
    return ids


def rollup_scope(query_id: str, category_id: str) -> Scope:
    """The counters a time series or summary reads: the tenant's, one query's or one category's."""
    if query_id and category_id:
        raise InvalidArgument("give query_id or category_id, not both", field="category_id")
    if category_id:
        return Scope(category_id=check_category_id(category_id.strip()))
    return Scope(query_id=optional_query_id(query_id))


def checked_category_ids(values: Sequence[str]) -> tuple[str, ...]:
    ids = {check_category_id(v.strip(), "category_ids") for v in values}
    if len(ids) > MAX_FILTER_CATEGORIES:
        raise InvalidArgument(f"category_ids: at most {MAX_FILTER_CATEGORIES} allowed",
                              field="category_ids")
    return tuple(sorted(ids))


def search_query(req: SearchRequest) -> SearchQuery:
    """The request as a validated, normalised SearchQuery."""
    terms = query_terms(req.query)
    if req.query.strip() and not terms:
        raise InvalidArgument("query has no searchable words", field="query")
    return SearchQuery(
        start=req.start, end=req.end,
        sentiments=tuple(sorted(set(req.sentiments))), platforms=tuple(sorted(set(req.platforms))),
        languages=tuple(sorted({normalise_language(x) for x in req.languages if x.strip()})),
        aspects=tuple(sorted({x.strip() for x in req.aspects if x.strip()})),
        terms=tuple(terms), sort=req.sort,
        query_ids=tuple(sorted(set(checked_query_ids(req.query_ids, required=False)))),
        category_ids=checked_category_ids(req.category_ids),
        states=workflow.check_filter(req.states, "workflow_states", workflow.check_state),
        assignees=workflow.check_filter(req.assignees, "assignees", workflow.check_assignee),
        tags=workflow.check_filter(req.tags, "tags", workflow.check_tag),
    )


def _point(start: datetime, counters: Mapping[str, Any], *, with_sentiment: bool) -> SeriesPoint:
    """One series point from a bucket's counters (tenant-wide or one query's)."""
    volume = int(counters.get("volume", 0))
    if not with_sentiment:
        return SeriesPoint(start, volume)
    sent = counters.get("sentiment") or {}
    negative, neutral, positive = (int(sent.get(label, 0)) for label in SENTIMENT_LABELS)
    return SeriesPoint(start, volume, negative, neutral, positive)


# -- the use cases ----------------------------------------------------------------------------------


class InsightsQueries:
    """Reads over one store; ``max_buckets`` bounds the buckets one request may return."""

    def __init__(self, mentions: MentionRepository, rollups: RollupRepository, *,
                 max_buckets: int = MAX_BUCKETS) -> None:
        self._mentions = mentions
        self._rollups = rollups
        self._max_buckets = max_buckets

    async def search(self, req: SearchRequest) -> MentionPage:
        query = search_query(req)
        size = page_size(req.page_size)
        after = decode_cursor(req.page_token, query) if req.page_token else None
        # One extra row tells whether another page exists without a count query.
        docs = await self._mentions.search(req.tenant_id, query, after, size + 1)
        token = encode_cursor(cursor_after(query, docs[size - 1])) if len(docs) > size else ""
        return MentionPage(docs[:size], token)

    def export(self, req: SearchRequest, batch: int = EXPORT_BATCH) -> AsyncIterator[list[Doc]]:
        """Every mention matching ``req`` (its page size and token ignored), in batches, from one
        store cursor; InvalidArgument before the first batch for bad filters."""
        query = search_query(req)
        return self._mentions.iter_search(req.tenant_id, query, max(1, min(batch, 1000)))

    async def get_mention(self, tenant_id: str, mention_id: str) -> Doc:
        if not mention_id:
            raise InvalidArgument("id is required", field="id")
        doc = await self._mentions.get(tenant_id, mention_id)
        if doc is None:
            # The same answer whether the id is unknown or belongs to another tenant.
            raise NotFound(f"mention {mention_id} not found")
        return doc

    async def time_series(self, req: SeriesRequest) -> TimeSeries:
        start, end = required_range(req.start, req.end)
        if req.metric not in (VOLUME, SENTIMENT):
            raise InvalidArgument(f"unknown metric {req.metric}", field="metric")
        scope = rollup_scope(req.query_id, req.category_id)
        if req.interval is None:
            interval = HOUR if bucket_count(start, end, HOUR) <= AUTO_HOURLY_MAX_BUCKETS else DAY
        else:
            interval = req.interval
        self._check_buckets(start, end, interval)

        by_start = await self._buckets(req.tenant_id, interval, start, end, scope.fields())
        points = []
        for t in bucket_starts(start, end, interval):
            points.append(_point(t, scope.part(by_start.get(t, {})),
                                 with_sentiment=req.metric == SENTIMENT))
        return TimeSeries(points, sum(p.volume for p in points))

    async def summary(self, req: SummaryRequest) -> Summary:
        start, end = required_range(req.start, req.end)
        scope = rollup_scope(req.query_id, req.category_id)
        totals = sum_docs(await self._summary_docs(req.tenant_id, start, end, scope.fields()),
                          scope=scope)
        return Summary(
            volume=totals.volume, negative=totals.sentiment["negative"],
            neutral=totals.sentiment["neutral"], positive=totals.sentiment["positive"],
            aspects=[AspectCounts(name, c["negative"], c["neutral"], c["positive"])
                     for name, c in totals.aspects_by_negative()],
            platforms=sorted_counts(totals.platforms), languages=sorted_counts(totals.languages))

    async def share_of_voice(self, req: ShareRequest) -> ShareOfVoice:
        start, end = required_range(req.start, req.end)
        query_ids = checked_query_ids(req.query_ids, required=True)
        # Two ids that read the same counters would count one query twice in the total.
        keys = [query_key(q) for q in query_ids]
        if len(set(keys)) != len(keys):
            raise InvalidArgument("query_ids must not repeat a query", field="query_ids")
        if req.interval is not None:
            self._check_buckets(start, end, req.interval)
        fields = [query_counters_path(q) for q in query_ids]

        docs = await self._summary_docs(req.tenant_id, start, end, fields)
        items, total = share_of_voice([(q, sum_docs(docs, q)) for q in query_ids])
        series: list[list[SeriesPoint]] = []
        if req.interval is not None:
            by_start = await self._buckets(req.tenant_id, req.interval, start, end, fields)
            starts = bucket_starts(start, end, req.interval)
            series = [[_point(t, query_part(by_start.get(t, {}), q), with_sentiment=True) for t in starts]
                      for q in query_ids]
        return ShareOfVoice(items, total, series)

    # -- shared by the rollup reads ----------------------------------------------------------------

    def _check_buckets(self, start: datetime, end: datetime, interval: str) -> None:
        n = bucket_count(start, end, interval)
        if n > self._max_buckets:
            raise InvalidArgument(f"range spans {n} {interval} buckets; at most {self._max_buckets} allowed",
                                  reason="too-many-buckets")

    async def _buckets(self, tenant: str, interval: str, start: datetime, end: datetime,
                       fields: list[str] | None) -> dict[datetime, Doc]:
        """The rollup documents of every bucket overlapping [start, end), by bucket start."""
        docs = await self._rollups.read(tenant, interval, floor_time(start, interval), end, fields)
        return {d["bucket_start"]: d for d in docs}

    async def _summary_docs(self, tenant: str, start: datetime, end: datetime,
                            fields: list[str] | None) -> list[Doc]:
        """The fewest rollup documents that cover [start, end) widened to whole hours."""
        docs: list[Doc] = []
        for span in summary_spans(start, end):
            if bucket_count(span.start, span.end, span.interval) > 10 * self._max_buckets:
                raise InvalidArgument("time range is too long", reason="too-many-buckets")
            docs.extend(await self._rollups.read(tenant, span.interval, span.start, span.end, fields))
        return docs
