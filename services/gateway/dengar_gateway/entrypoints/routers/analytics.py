"""GET /v1/analytics/timeseries, /v1/analytics/summary and /v1/analytics/share-of-voice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dengar.v1 import collector_pb2, insights_pb2
from dengar_gateway.entrypoints.deps import Deps, ReadPrincipal
from dengar_gateway.entrypoints.listening import list_queries
from dengar_gateway.entrypoints.mapping import (
    share_of_voice_out,
    summary_out,
    time_series_out,
    to_timestamp,
)
from dengar_gateway.entrypoints.params import (
    CATEGORY_ID_PATTERN,
    MAX_QUERY_ID_CHARS,
    MAX_QUERY_IDS,
    QueryTime,
    check_range,
    query_error,
    query_ids,
)
from dengar_gateway.entrypoints.problems import ApiProblem, problem_responses
from dengar_gateway.entrypoints.schemas import ShareOfVoiceOut, SummaryOut, TimeSeriesOut

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

_METRICS = {"volume": insights_pb2.METRIC_VOLUME, "sentiment": insights_pb2.METRIC_SENTIMENT}
_INTERVALS = {"hour": insights_pb2.INTERVAL_HOUR, "day": insights_pb2.INTERVAL_DAY}
_INTERVAL_S = {"hour": 3600, "day": 86400}
# A chart with more points than this is a mistake (an hourly series over years).
MAX_BUCKETS = 1_000  # the insights service refuses more; fail early with a clear 400

From = Annotated[QueryTime, Query(alias="from", description="Start, inclusive (RFC 3339).")]
To = Annotated[QueryTime, Query(alias="to", description="End, exclusive (RFC 3339).")]
OneQuery = Annotated[str | None, Query(
    min_length=1, max_length=MAX_QUERY_ID_CHARS,
    description="Count only the mentions tagged with this listening query.")]
OneCategory = Annotated[str | None, Query(
    pattern=CATEGORY_ID_PATTERN,
    description="Count only the mentions in this category (see /v1/categories); not with `query_id`.")]


def _one_scope(query_id: str | None, category_id: str | None) -> None:
    if query_id is not None and category_id is not None:
        raise query_error("category_id", "give query_id or category_id, not both", category_id)
# ListQueries pages; far beyond any tenant's query limit, so the loop ends on a broken backend.


@router.get(
    "/timeseries", response_model=TimeSeriesOut, summary="Mention volume or sentiment over time",
    description="Counts per hour or day bucket (UTC). `metric=sentiment` adds the negative, neutral "
                f"and positive counts of each bucket. At most {MAX_BUCKETS} buckets. Requires `read`.",
    responses=problem_responses(400, 401, 403, 422, 429, 502, 503),
)
async def time_series(
    deps: Deps, principal: ReadPrincipal, start: From, end: To,
    metric: Annotated[Literal["volume", "sentiment"], Query()] = "volume",
    interval: Annotated[Literal["hour", "day"], Query()] = "day",
    query_id: OneQuery = None,
    category_id: OneCategory = None,
) -> TimeSeriesOut:
    check_range(start, end)
    _check_buckets(start, end, interval)
    _one_scope(query_id, category_id)
    request = insights_pb2.GetTimeSeriesRequest(
        tenant_id=principal.tenant_id, metric=_METRICS[metric], interval=_INTERVALS[interval],
        start_time=to_timestamp(start), end_time=to_timestamp(end), query_id=query_id or "",
        category_id=category_id or "")
    response = await deps.backends.call(deps.backends.insights.GetTimeSeries, request)
    return time_series_out(response, metric=metric, interval=interval, start=start, end=end,
                           query_id=query_id, category_id=category_id)


def _check_buckets(start: datetime, end: datetime, interval: str) -> None:
    if (end - start).total_seconds() / _INTERVAL_S[interval] > MAX_BUCKETS:
        raise query_error("interval", f"the range spans more than {MAX_BUCKETS} {interval}s; "
                                      "use a coarser interval or a shorter range", interval)


@router.get(
    "/summary", response_model=SummaryOut, summary="Totals over a time range",
    description="Volume, sentiment split, the most negative aspects, platforms and languages. "
                "Requires `read`.",
    responses=problem_responses(400, 401, 403, 422, 429, 502, 503),
)
async def summary(
    deps: Deps, principal: ReadPrincipal, start: From, end: To,
    top: Annotated[int, Query(ge=1, le=100, description="How many negative aspects to list.")] = 10,
    query_id: OneQuery = None,
    category_id: OneCategory = None,
) -> SummaryOut:
    check_range(start, end)
    _one_scope(query_id, category_id)
    response = await deps.backends.call(deps.backends.insights.GetSummary, insights_pb2.GetSummaryRequest(
        tenant_id=principal.tenant_id, start_time=to_timestamp(start), end_time=to_timestamp(end),
        query_id=query_id or "", category_id=category_id or ""))
    return summary_out(response, start=start, end=end, top=top, query_id=query_id,
                       category_id=category_id)


@router.get(
    "/share-of-voice", response_model=ShareOfVoiceOut, summary="Share of voice of brands and competitors",
    description=(
        "Each listening query's share of the mentions tagged with any of the compared queries, with "
        "its sentiment split and net sentiment ((positive - negative) / volume). A mention that "
        "matches two of the queries counts for both, so the shares always add up to 1. Items come "
        "in the order of `query_id` (repeatable or comma-separated, at most "
        f"{MAX_QUERY_IDS}); without it, every enabled `brand` and `competitor` query of the tenant "
        "is compared, brands first. `interval` adds a series per query (at most "
        f"{MAX_BUCKETS} buckets). Requires `read`."
    ),
    responses=problem_responses(400, 401, 403, 422, 429, 502, 503),
)
async def share_of_voice(
    deps: Deps, principal: ReadPrincipal, start: From, end: To,
    query_id: Annotated[list[str] | None, Query(description="Listening query ids to compare.")] = None,
    interval: Annotated[Literal["hour", "day"] | None, Query(
        description="Also return a series per query, in buckets of this size.")] = None,
) -> ShareOfVoiceOut:
    check_range(start, end)
    if interval is not None:
        _check_buckets(start, end, interval)
    tenant = principal.tenant_id
    ids = query_ids(query_id)
    if ids:
        known = {q.id: q for q in await list_queries(deps, tenant, collector_pb2.QUERY_ROLE_UNSPECIFIED)}
    else:
        compared = [q for role in (collector_pb2.QUERY_ROLE_BRAND, collector_pb2.QUERY_ROLE_COMPETITOR)
                    for q in await list_queries(deps, tenant, role) if q.enabled]
        if len(compared) > MAX_QUERY_IDS:
            raise ApiProblem(400, f"the tenant has {len(compared)} enabled brand and competitor "
                                  f"queries; at most {MAX_QUERY_IDS} can be compared: choose them "
                                  "with query_id")
        known = {q.id: q for q in compared}
        ids = list(known)
    if not ids:
        # Nothing to compare yet (no brand or competitor query): an empty answer, not an error.
        return ShareOfVoiceOut(start=start, end=end, interval=interval, total=0, items=[])
    request = insights_pb2.GetShareOfVoiceRequest(
        tenant_id=tenant, start_time=to_timestamp(start), end_time=to_timestamp(end), query_ids=ids,
        interval=_INTERVALS[interval] if interval else insights_pb2.INTERVAL_UNSPECIFIED)
    response = await deps.backends.call(deps.backends.insights.GetShareOfVoice, request)
    return share_of_voice_out(response, known, start=start, end=end, interval=interval)
