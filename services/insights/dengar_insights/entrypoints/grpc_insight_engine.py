"""GetSpikes, ComparePeriods and GetBrief: proto <-> domain conversion around ``InsightEngine``.

``InsightEngineRpc`` is mixed into the InsightsService servicer; the composition root sets its
``insight_engine``. Bad input raises ``InvalidArgument`` naming the field (the server interceptor
turns it into INVALID_ARGUMENT); the tenant id is checked by that interceptor too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from grpc import aio

from dengar.v1 import insights_pb2
from dengar_common.errors import InvalidArgument
from dengar_insights.domain.insight.brief import Card
from dengar_insights.domain.insight.compare import Comparison, Delta
from dengar_insights.domain.insight.drivers import NEARDUP, Driver
from dengar_insights.domain.insight.spikes import NEGATIVE, NET_SENTIMENT, POSITIVE, VOLUME
from dengar_insights.domain.rollups import DAY, HOUR
from dengar_insights.entrypoints.protos import mention_to_proto
from dengar_insights.service_layer.insight_engine import (
    BriefRequest,
    CompareRequest,
    InsightEngine,
    MentionDoc,
    QueryRef,
    SpikesRequest,
)

# Collector query ids are short ("q_" + 16 hex); anything much longer is not one.
MAX_QUERY_ID_CHARS = 128
MAX_QUERY_REFS = 200

_INTERVALS = {insights_pb2.INTERVAL_UNSPECIFIED: DAY, insights_pb2.INTERVAL_HOUR: HOUR,
              insights_pb2.INTERVAL_DAY: DAY}
_METRICS = {insights_pb2.SPIKE_METRIC_UNSPECIFIED: VOLUME, insights_pb2.SPIKE_METRIC_VOLUME: VOLUME,
            insights_pb2.SPIKE_METRIC_NEGATIVE: NEGATIVE, insights_pb2.SPIKE_METRIC_POSITIVE: POSITIVE,
            insights_pb2.SPIKE_METRIC_NET_SENTIMENT: NET_SENTIMENT}
# The wire name of a driver kind where it differs from the domain's.
_KIND_NAMES = {NEARDUP: "near_duplicate"}


def to_ts(dt: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(dt.astimezone(UTC))
    return ts


def _time(msg: Any, field: str) -> datetime:
    if not msg.HasField(field):
        raise InvalidArgument(f"{field} is required", field=field)
    try:
        value: datetime = getattr(msg, field).ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidArgument(f"{field} is out of range", field=field) from exc
    return value


def period_of(msg: Any) -> tuple[datetime, datetime]:
    start, end = _time(msg, "start_time"), _time(msg, "end_time")
    if end <= start:
        raise InvalidArgument("end_time must be after start_time", field="end_time")
    return start, end


def query_id_of(value: str, field: str = "query_id") -> str | None:
    query_id = value.strip()
    if not value:
        return None
    if not query_id:
        raise InvalidArgument(f"{field} must not be blank", field=field)
    if len(query_id) > MAX_QUERY_ID_CHARS:
        raise InvalidArgument(f"{field} is longer than {MAX_QUERY_ID_CHARS} characters", field=field)
    return query_id


def _query_refs(values: Any) -> tuple[QueryRef, ...]:
    if len(values) > MAX_QUERY_REFS:
        raise InvalidArgument(f"at most {MAX_QUERY_REFS} queries", field="queries")
    out = []
    for q in values:
        query_id = query_id_of(q.id, "queries.id")
        if query_id is None:
            raise InvalidArgument("queries.id is required", field="queries.id")
        out.append(QueryRef(id=query_id, name=q.name.strip(), role=q.role.strip().lower()))
    return tuple(out)


# -- domain -> proto -------------------------------------------------------------------------------


def driver_proto(d: Driver, evidence: Mapping[str, MentionDoc] | None = None
                 ) -> insights_pb2.Driver:
    out = insights_pb2.Driver(kind=_KIND_NAMES.get(d.kind, d.kind), value=d.value, count=d.count,
                              baseline_count=d.baseline_count, score=d.score,
                              evidence_mention_ids=list(d.evidence_ids), terms=list(d.terms))
    if d.lift is not None:
        out.lift = d.lift
    if evidence is not None:
        out.evidence.extend(mention_to_proto(evidence[i]) for i in d.evidence_ids if i in evidence)
    return out


def delta_proto(d: Delta, out: insights_pb2.Delta | None = None) -> insights_pb2.Delta:
    msg = out if out is not None else insights_pb2.Delta()
    msg.current, msg.previous, msg.absolute = d.current, d.previous, d.absolute
    if d.relative is not None:
        msg.relative = d.relative
    return msg


def comparison_proto(c: Comparison) -> insights_pb2.ComparePeriodsResponse:
    resp = insights_pb2.ComparePeriodsResponse(
        start_time=to_ts(c.start), end_time=to_ts(c.end), previous_start_time=to_ts(c.previous_start))
    delta_proto(c.volume, resp.volume)
    delta_proto(c.net_sentiment, resp.net_sentiment)
    for field, values in (("sentiment", c.sentiment), ("sentiment_share", c.sentiment_share),
                          ("share_of_voice", c.share_of_voice),
                          ("share_of_voice_volume", c.share_of_voice_volume)):
        target = getattr(resp, field)
        for key, d in values.items():
            delta_proto(d, target[key])
    for name, pols in c.aspects.items():
        item = resp.aspects.add(name=name)
        for pol, d in pols.items():
            delta_proto(d, item.polarity[pol])
    for term, d in sorted(c.terms.items(), key=lambda kv: (-kv[1].absolute, kv[0])):
        resp.terms.add(name=term, delta=delta_proto(d))
    return resp


def _metric_value(value: float | int | str | None) -> insights_pb2.MetricValue | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return insights_pb2.MetricValue(int_value=int(value))
    if isinstance(value, int):
        return insights_pb2.MetricValue(int_value=value)
    if isinstance(value, float):
        return insights_pb2.MetricValue(number_value=value)
    return insights_pb2.MetricValue(text_value=str(value))


def card_proto(card: Card) -> insights_pb2.InsightCard:
    out = insights_pb2.InsightCard(
        type=card.type, title=card.title, narrative=card.narrative, impact=card.impact,
        drivers=[driver_proto(d) for d in card.drivers],
        evidence_mention_ids=list(card.evidence_mention_ids), filters=dict(card.filters))
    for key, value in card.metrics.items():
        mv = _metric_value(value)
        if mv is not None:
            out.metrics[key].CopyFrom(mv)
    return out


# -- the servicer part -----------------------------------------------------------------------------


class InsightEngineRpc:
    """The insight engine's methods of InsightsService (mixed into its servicer)."""

    def __init__(self, engine: InsightEngine) -> None:
        self._insight_engine = engine

    async def GetSpikes(self, request: insights_pb2.GetSpikesRequest,
                        context: aio.ServicerContext[Any, Any]) -> insights_pb2.GetSpikesResponse:
        start, end = period_of(request)
        if request.interval not in _INTERVALS:
            raise InvalidArgument(f"unknown interval {request.interval}", field="interval")
        if request.metric not in _METRICS:
            raise InvalidArgument(f"unknown metric {request.metric}", field="metric")
        evidence = request.evidence_per_driver if request.evidence_per_driver else 3
        req = SpikesRequest(
            tenant_id=request.tenant_id, start=start, end=end,
            interval=_INTERVALS[request.interval], metric=_METRICS[request.metric],
            query_id=query_id_of(request.query_id), evidence_per_driver=evidence)
        result = await self._insight_engine.spikes(req)
        resp = insights_pb2.GetSpikesResponse(confidence=result.confidence,
                                              unjudged_buckets=result.unjudged)
        for f in result.spikes:
            s = f.explained.spike
            resp.spikes.add(
                start_time=to_ts(s.start), end_time=to_ts(s.end), observed=s.observed,
                expected=s.expected, score=s.score, severity=s.severity, confidence=s.confidence,
                drivers=[driver_proto(d, result.evidence) for d in f.explained.drivers],
                peak_time=to_ts(s.peak), volume=s.volume, baseline_start_time=to_ts(f.baseline_start),
                baseline_end_time=to_ts(f.baseline_end))
        return resp

    async def ComparePeriods(self, request: insights_pb2.ComparePeriodsRequest,
                             context: aio.ServicerContext[Any, Any]
                             ) -> insights_pb2.ComparePeriodsResponse:
        start, end = period_of(request)
        req = CompareRequest(
            tenant_id=request.tenant_id, start=start, end=end, query_id=query_id_of(request.query_id),
            queries=_query_refs(request.queries))
        comparison = await self._insight_engine.compare(req)
        return comparison_proto(comparison)

    async def GetBrief(self, request: insights_pb2.GetBriefRequest,
                       context: aio.ServicerContext[Any, Any]) -> insights_pb2.GetBriefResponse:
        start, end = period_of(request)
        req = BriefRequest(
            tenant_id=request.tenant_id, start=start, end=end, query_id=query_id_of(request.query_id),
            lang=request.lang.strip().lower() or "en", limit=request.limit or 10,
            time_zone=request.time_zone.strip() or "UTC", queries=_query_refs(request.queries))
        result = await self._insight_engine.brief(req)
        return insights_pb2.GetBriefResponse(cards=[card_proto(c) for c in result.cards],
                                             lang=result.lang)
