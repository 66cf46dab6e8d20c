"""GET /v1/insights/spikes, /v1/insights/compare, /v1/insights/brief and /v1/insights/topics.

The gateway checks what insights cannot: that a ``query_id`` is one of the caller's listening
queries (the collector knows them; another tenant's id is a 404 exactly like a missing one), and it
passes the tenant's queries along so that narratives name brands and share of voice compares the
brand and competitor queries. Everything else is validated here first (422 naming the parameter)
and again by the insights service.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dengar.v1 import collector_pb2, insights_pb2
from dengar_gateway.entrypoints.deps import Deps, ReadPrincipal
from dengar_gateway.entrypoints.listening import list_queries
from dengar_gateway.entrypoints.mapping import QUERY_ROLE_NAMES, from_timestamp, mention_out, to_timestamp
from dengar_gateway.entrypoints.params import MAX_QUERY_ID_CHARS, QueryTime, check_range, query_error
from dengar_gateway.entrypoints.problems import Answer, ApiProblem, answering, problem_responses
from dengar_gateway.entrypoints.schemas_insights import (
    AspectDeltaOut,
    BriefOut,
    CardDriverOut,
    CardOut,
    CompareOut,
    DeltaOut,
    DriverOut,
    NamedDeltaOut,
    QueryDeltaOut,
    SpikeOut,
    SpikesOut,
    TopicMentionOut,
    TopicOut,
    TopicsOut,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/insights", tags=["insights"])

# The insights service's limits (service_layer/insight_engine.Limits), checked here first so that
# the answer is a 422 naming the parameter.
MAX_BUCKETS = 1_000
MAX_PERIOD = timedelta(days=366)
_INTERVALS = {"hour": insights_pb2.INTERVAL_HOUR, "day": insights_pb2.INTERVAL_DAY}
_INTERVAL_S = {"hour": 3600, "day": 86400}
_METRICS = {"volume": insights_pb2.SPIKE_METRIC_VOLUME, "negative": insights_pb2.SPIKE_METRIC_NEGATIVE,
            "positive": insights_pb2.SPIKE_METRIC_POSITIVE,
            "net_sentiment": insights_pb2.SPIKE_METRIC_NET_SENTIMENT}
_DIGITS = 4

From = Annotated[QueryTime, Query(alias="from", description="Start, inclusive (RFC 3339).")]
To = Annotated[QueryTime, Query(alias="to", description="End, exclusive (RFC 3339).")]
OneQuery = Annotated[str | None, Query(
    min_length=1, max_length=MAX_QUERY_ID_CHARS,
    description="Only the mentions tagged with this listening query (404 when it is not one of yours).")]
Lang = Annotated[Literal["en", "id"], Query(description="Language of titles and narratives.")]


def check_period(start: datetime, end: datetime) -> None:
    check_range(start, end)
    if end - start > MAX_PERIOD:
        raise query_error("from", f"the period is longer than {MAX_PERIOD.days} days", start.isoformat())


def _no_such_query(query_id: str) -> ApiProblem:
    return ApiProblem(404, f"no listening query {query_id}", errors=[
        {"location": "query", "field": "query_id", "message": "no such listening query"}])


_NO_SUCH_QUERY = Answer(404, detail="no such listening query", errors_field="query_id",
                        errors_location="query")


async def check_query_exists(deps: Deps, tenant: str, query_id: str | None) -> None:
    if query_id is None:
        return
    # Unknown, malformed and another tenant's ids all answer the same 404.
    with answering({"NOT_FOUND": _NO_SUCH_QUERY, "INVALID_ARGUMENT": _NO_SUCH_QUERY}):
        found = await deps.backends.call(deps.backends.queries.GetQuery,
                                         collector_pb2.GetQueryRequest(tenant_id=tenant, id=query_id))
    if found.tenant_id and found.tenant_id != tenant:
        logger.error("collector returned query %s of another tenant; hidden", query_id)
        raise _no_such_query(query_id)


async def _queries(deps: Deps, tenant: str, query_id: str | None) -> list[insights_pb2.QueryRef]:
    """The tenant's listening queries (one listing), checking ``query_id`` is among them."""
    out = await list_queries(deps, tenant)
    if query_id is not None and all(q.id != query_id for q in out):
        raise _no_such_query(query_id)
    return [insights_pb2.QueryRef(id=q.id, name=q.name, role=QUERY_ROLE_NAMES.get(q.role, ""))
            for q in out if q.enabled or q.id == query_id]


def _r(x: float) -> float:
    return round(x, _DIGITS)


def _delta(d: insights_pb2.Delta) -> DeltaOut:
    return DeltaOut(current=_r(d.current), previous=_r(d.previous), absolute=_r(d.absolute),
                    relative=_r(d.relative) if d.HasField("relative") else None)


def own_mentions(mentions: list[insights_pb2.Mention], tenant: str) -> list[insights_pb2.Mention]:
    # Defence in depth, as for /v1/mentions: another tenant's mention never reaches this caller.
    return [m for m in mentions if not m.tenant_id or m.tenant_id == tenant]


@router.get(
    "/spikes", response_model=SpikesOut, summary="Spikes and what drove them",
    description=(
        "Unusual buckets of a series (robust median/MAD baseline, seasonal when a week of history "
        "exists; see the insights service's domain/insight/spikes.py), merged into spikes. Each "
        "spike has its drivers: the aspects, terms (English and Indonesian), hashtags, platforms, "
        "languages, authors, entities and near-duplicate clusters that grew most against the "
        "window just before it, each with up to 3 typical evidence mentions. `confidence` is "
        f"`low` when there was too little history to judge. At most {MAX_BUCKETS} buckets. "
        "Requires `read`."),
    responses=problem_responses(401, 403, 404, 422, 429, 502, 503),
)
async def spikes(
    deps: Deps, principal: ReadPrincipal, start: From, end: To,
    interval: Annotated[Literal["hour", "day"], Query()] = "day",
    metric: Annotated[Literal["volume", "negative", "positive", "net_sentiment"], Query()] = "volume",
    query_id: OneQuery = None,
) -> SpikesOut:
    check_range(start, end)
    if (end - start).total_seconds() / _INTERVAL_S[interval] > MAX_BUCKETS:
        raise query_error("interval", f"the range spans more than {MAX_BUCKETS} {interval}s; use a "
                                      "coarser interval or a shorter range", interval)
    tenant = principal.tenant_id
    await check_query_exists(deps, tenant, query_id)
    resp = await deps.backends.call(deps.backends.insights.GetSpikes, insights_pb2.GetSpikesRequest(
        tenant_id=tenant, start_time=to_timestamp(start), end_time=to_timestamp(end),
        interval=_INTERVALS[interval], metric=_METRICS[metric], query_id=query_id or ""))
    out = []
    for s in resp.spikes:
        drivers = [DriverOut(kind=d.kind, value=d.value, count=d.count, baseline_count=d.baseline_count,
                             lift=_r(d.lift) if d.HasField("lift") else None, score=_r(d.score),
                             terms=list(d.terms),
                             evidence=[mention_out(m) for m in own_mentions(list(d.evidence), tenant)])
                   for d in s.drivers]
        out.append(SpikeOut(
            start=from_timestamp(s.start_time), end=from_timestamp(s.end_time),
            peak=from_timestamp(s.peak_time), observed=_r(s.observed), expected=_r(s.expected),
            score=_r(s.score), severity=s.severity, confidence=s.confidence,  # type: ignore[arg-type]  # proto str into a Literal field, validated by pydantic
            volume=s.volume, baseline_start=from_timestamp(s.baseline_start_time),
            baseline_end=from_timestamp(s.baseline_end_time), drivers=drivers))
    return SpikesOut(start=start, end=end, interval=interval, metric=metric, query_id=query_id,
                     confidence=resp.confidence or "low", unjudged_buckets=resp.unjudged_buckets,  # type: ignore[arg-type]  # proto str into a Literal field, validated by pydantic
                     spikes=out)


@router.get(
    "/compare", response_model=CompareOut, summary="This period against the previous one",
    description=(
        "Volume, sentiment split, net sentiment, share of voice (of the tenant's brand and "
        "competitor queries), aspects by sentiment and top terms of [from, to) against the previous "
        "period of equal length, each with absolute and relative deltas (relative is null when the "
        f"previous value is 0). At most {MAX_PERIOD.days} days. Requires `read`."),
    responses=problem_responses(401, 403, 404, 422, 429, 502, 503),
)
async def compare(deps: Deps, principal: ReadPrincipal, start: From, end: To,
                  query_id: OneQuery = None) -> CompareOut:
    check_period(start, end)
    tenant = principal.tenant_id
    queries = await _queries(deps, tenant, query_id)
    resp = await deps.backends.call(deps.backends.insights.ComparePeriods, insights_pb2.ComparePeriodsRequest(
        tenant_id=tenant, start_time=to_timestamp(start), end_time=to_timestamp(end),
        query_id=query_id or "", queries=queries))
    names: Mapping[str, str] = {q.id: q.name for q in queries}
    return CompareOut(
        start=start, end=end, previous_from=from_timestamp(resp.previous_start_time), query_id=query_id,
        volume=_delta(resp.volume), net_sentiment=_delta(resp.net_sentiment),
        sentiment={k: _delta(v) for k, v in sorted(resp.sentiment.items())},
        sentiment_share={k: _delta(v) for k, v in sorted(resp.sentiment_share.items())},
        # Brands first, then competitors, as /v1/analytics/share-of-voice lists them (a proto map
        # has no order).
        share_of_voice=[QueryDeltaOut(query_id=q, name=names.get(q), share=_delta(resp.share_of_voice[q]),
                                      volume=_delta(resp.share_of_voice_volume[q]))
                        for q in _sov_order(queries, resp.share_of_voice)],
        aspects=[AspectDeltaOut(name=a.name, polarity={p: _delta(d) for p, d in sorted(a.polarity.items())})
                 for a in resp.aspects],
        terms=[NamedDeltaOut(name=t.name, **_delta(t.delta).model_dump()) for t in resp.terms])


def _sov_order(queries: list[insights_pb2.QueryRef], present: Mapping[str, object]) -> list[str]:
    ordered = [q.id for role in ("brand", "competitor") for q in queries if q.role == role]
    ordered += sorted(set(present) - set(ordered))
    return [q for q in dict.fromkeys(ordered) if q in present]


def _metric(v: insights_pb2.MetricValue) -> float | int | str:
    kind = v.WhichOneof("value")
    if kind == "int_value":
        return v.int_value
    if kind == "number_value":
        return _r(v.number_value)
    return v.text_value


@router.get(
    "/brief", response_model=BriefOut, summary="The insight brief",
    description=(
        "Ranked insight cards for a period: spikes with their drivers, sentiment shifts, rising "
        "aspects, share-of-voice changes and coordinated near-duplicate posting, each with a "
        "narrative in English or Indonesian (`lang`), its metrics, drivers, evidence mention ids and "
        "the `GET /v1/mentions` filters that list its evidence. Ranked by impact = size x "
        f"unusualness. At most {MAX_PERIOD.days} days. Requires `read`."),
    responses=problem_responses(401, 403, 404, 422, 429, 502, 503),
)
async def brief(deps: Deps, principal: ReadPrincipal, start: From, end: To,
                query_id: OneQuery = None, lang: Lang = "en",
                limit: Annotated[int, Query(ge=1, le=50, description="At most this many cards.")] = 10,
                ) -> BriefOut:
    check_period(start, end)
    tenant = principal.tenant_id
    queries = await _queries(deps, tenant, query_id)
    resp = await deps.backends.call(deps.backends.insights.GetBrief, insights_pb2.GetBriefRequest(
        tenant_id=tenant, start_time=to_timestamp(start), end_time=to_timestamp(end),
        query_id=query_id or "", lang=lang, limit=limit, queries=queries))
    cards = [CardOut(
        type=c.type, title=c.title, narrative=c.narrative, impact=_r(c.impact),  # type: ignore[arg-type]  # proto str into a Literal field, validated by pydantic
        metrics={k: _metric(v) for k, v in sorted(c.metrics.items())},
        drivers=[CardDriverOut(kind=d.kind, value=d.value, count=d.count, baseline_count=d.baseline_count,
                               lift=_r(d.lift) if d.HasField("lift") else None, score=_r(d.score),
                               terms=list(d.terms), evidence_mention_ids=list(d.evidence_mention_ids))
                 for d in c.drivers],
        evidence_mention_ids=list(c.evidence_mention_ids), filters=dict(c.filters)) for c in resp.cards]
    return BriefOut(start=start, end=end, query_id=query_id, lang=lang, cards=cards)


@router.get(
    "/topics", response_model=TopicsOut, summary="Emerging topics",
    description=(
        "What the window's mentions are about: mentions clustered by meaning (their sentence "
        "embeddings), each topic with keywords, volume, share, sentiment split, top aspects and "
        "representative mentions, and its growth against the previous window of equal length "
        "(`status` new, growing, stable or fading; a topic of the previous window with nothing "
        "like it now is fading with volume 0). Topic ids stay the same across consecutive "
        "windows of the same scope (tenant-wide or one `query_id`). Beyond 10,000 mentions a "
        "window is clustered on a deterministic sample and counts are scaled (`estimated`). "
        "Ranked by the larger of volume and previous volume. "
        f"At most {MAX_PERIOD.days} days. Requires `read`."),
    responses=problem_responses(401, 403, 404, 422, 429, 502, 503),
)
async def topics(deps: Deps, principal: ReadPrincipal, start: From, end: To,
                 query_id: OneQuery = None,
                 limit: Annotated[int, Query(ge=1, le=50, description="At most this many topics.")] = 10,
                 ) -> TopicsOut:
    check_period(start, end)
    tenant = principal.tenant_id
    await check_query_exists(deps, tenant, query_id)
    resp = await deps.backends.call(deps.backends.insights.GetTopics, insights_pb2.GetTopicsRequest(
        tenant_id=tenant, start_time=to_timestamp(start), end_time=to_timestamp(end),
        query_id=query_id or "", limit=limit))
    out = [TopicOut(
        id=t.id, keywords=list(t.keywords), volume=t.volume, share=_r(t.share),
        sentiment={"negative": t.negative, "neutral": t.neutral, "positive": t.positive},
        aspects={a.key: a.count for a in t.aspects},
        representatives=[TopicMentionOut(id=r.id, snippet=r.snippet) for r in t.representatives],
        previous_volume=t.previous_volume, change=t.change,
        relative_change=_r(t.relative_change) if t.HasField("relative_change") else None,
        status=t.status, cohesion=_r(t.cohesion))  # type: ignore[arg-type]  # proto str into a Literal field, validated by pydantic
        for t in resp.topics]
    return TopicsOut(start=start, end=end, previous_from=from_timestamp(resp.previous_start_time),
                     query_id=query_id, volume=resp.volume, previous_volume=resp.previous_volume,
                     sampled=resp.sampled, estimated=resp.estimated, topics=out)
