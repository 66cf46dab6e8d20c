"""GET /v1/analytics/timeseries and /v1/analytics/summary."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dengar.v1 import insights_pb2
from dengar_gateway.entrypoints.deps import Deps, ReadPrincipal
from dengar_gateway.entrypoints.mapping import summary_out, time_series_out, to_timestamp
from dengar_gateway.entrypoints.params import QueryTime, check_range, query_error
from dengar_gateway.entrypoints.problems import problem_responses
from dengar_gateway.entrypoints.schemas import SummaryOut, TimeSeriesOut

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

_METRICS = {"volume": insights_pb2.METRIC_VOLUME, "sentiment": insights_pb2.METRIC_SENTIMENT}
_INTERVALS = {"hour": insights_pb2.INTERVAL_HOUR, "day": insights_pb2.INTERVAL_DAY}
_INTERVAL_S = {"hour": 3600, "day": 86400}
# A chart with more points than this is a mistake (an hourly series over years).
MAX_BUCKETS = 1_000  # the insights service refuses more; fail early with a clear 400

From = Annotated[QueryTime, Query(alias="from", description="Start, inclusive (RFC 3339).")]
To = Annotated[QueryTime, Query(alias="to", description="End, exclusive (RFC 3339).")]


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
) -> TimeSeriesOut:
    check_range(start, end)
    if (end - start).total_seconds() / _INTERVAL_S[interval] > MAX_BUCKETS:
        raise query_error("interval", f"the range spans more than {MAX_BUCKETS} {interval}s; "
                                      "use a coarser interval or a shorter range", interval)
    response = await deps.backends.get_time_series(insights_pb2.GetTimeSeriesRequest(
        tenant_id=principal.tenant_id, metric=_METRICS[metric], interval=_INTERVALS[interval],
        start_time=to_timestamp(start), end_time=to_timestamp(end)))
    return time_series_out(response, metric=metric, interval=interval, start=start, end=end)


@router.get(
    "/summary", response_model=SummaryOut, summary="Totals over a time range",
    description="Volume, sentiment split, the most negative aspects, platforms and languages. "
                "Requires `read`.",
    responses=problem_responses(400, 401, 403, 422, 429, 502, 503),
)
async def summary(
    deps: Deps, principal: ReadPrincipal, start: From, end: To,
    top: Annotated[int, Query(ge=1, le=100, description="How many negative aspects to list.")] = 10,
) -> SummaryOut:
    check_range(start, end)
    response = await deps.backends.get_summary(insights_pb2.GetSummaryRequest(
        tenant_id=principal.tenant_id, start_time=to_timestamp(start), end_time=to_timestamp(end)))
    return summary_out(response, start=start, end=end, top=top)
