"""The insight engine use case: spikes explained by their drivers, period comparison, the brief.

It depends only on the two ports below (``RollupReads``, ``MentionReads``) and on the pure domain
(``domain/insight``). What it reads, and why the cost does not grow with the tenant's post count:

* series and totals come from the rollups: one indexed range read per scope over the analysed
  buckets plus their history (``spikes.py``: a week of hours, five weeks of days), and totals over
  whole hours/days of the windows compared;
* mentions are read only as bounded samples of a window (``Limits.sample_cap``, 2,000 per window,
  spread over the window by the adapter) for the term, hashtag, author, entity and near-duplicate
  drivers, the top terms and the coordinated-posting clusters; aspect, platform and language
  drivers use exact rollup counts;
* evidence mentions are fetched by id (at most ``max_explained_spikes`` x ``max_drivers`` x 3).

So a brief costs O(buckets + windows x sample_cap), whatever the number of stored posts.

Validation errors are ``InvalidArgument`` naming the request field (gRPC names: ``start_time``,
``end_time``, ``interval``, ``metric``, ``lang``, ``limit``, ``time_zone``,
``evidence_per_driver``). The engine cannot tell an unknown ``query_id`` from one without
mentions; callers (the gateway) check ids against the collector.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dengar_common.errors import InvalidArgument
from dengar_insights.domain.insight.brief import Card, ExplainedSpike, build_brief
from dengar_insights.domain.insight.compare import Comparison, compare, previous_period
from dengar_insights.domain.insight.drivers import (
    ASPECT,
    DEFAULT_DRIVER_PARAMS,
    Driver,
    MentionFeatures,
    attach_evidence,
    explain,
    rank_drivers,
    rollup_feature_counts,
    top_terms,
    typical_mentions,
)
from dengar_insights.domain.insight.duplicates import DuplicateCluster, coordinated_duplicates
from dengar_insights.domain.insight.narrative import EN, LANGS
from dengar_insights.domain.insight.spikes import (
    DEFAULT_PARAMS,
    METRICS,
    NEGATIVE,
    NET_SENTIMENT,
    POSITIVE,
    VOLUME,
    BucketCounts,
    Confidence,
    Spike,
    SpikeReport,
    baseline_window,
    default_baseline_length,
    detect_spikes,
)
from dengar_insights.domain.rollups import DAY, HOUR, INTERVALS, Totals, bucket_count, floor_time

BRAND, COMPETITOR = "brand", "competitor"
# Top terms of each compared period (sample counts); a term outside one period's top list counts
# 0 there.
TOP_TERMS = 50

# A stored mention as the adapter returns it for evidence (rendered by the entrypoint).
MentionDoc = Mapping[str, Any]


# -- ports ----------------------------------------------------------------------------------------


class RollupReads(Protocol):
    """Rollup reads; every one is a range read on an index that starts with ``tenant_id``."""

    async def buckets(self, tenant_id: str, interval: str, start: datetime, end: datetime,
                      query_id: str | None) -> list[BucketCounts]:
        """The buckets of ``interval`` starting in [start, end), tenant-wide or of one query."""
        ...

    async def totals(self, tenant_id: str, start: datetime, end: datetime, scope: str | None,
                     query_ids: Sequence[str] = ()) -> tuple[Totals, dict[str, Totals]]:
        """Exact totals of [start, end) widened to whole hours: of the scope (tenant-wide when
        None, else that query's) and of each of ``query_ids``."""
        ...


class MentionReads(Protocol):
    """Bounded mention reads."""

    async def sample(self, tenant_id: str, start: datetime, end: datetime, query_id: str | None,
                     limit: int) -> list[MentionFeatures]:
        """At most ``limit`` mentions created in [start, end), spread over the window."""
        ...

    async def by_ids(self, tenant_id: str, ids: Sequence[str]) -> dict[str, MentionDoc]:
        """The tenant's mentions with these ids (absent ones are missing)."""
        ...


# -- requests and results --------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What one request may cost."""

    # Analysed buckets of a spike series.
    max_buckets: int = 1000
    # The longest compared/brief period.
    max_period: timedelta = timedelta(days=366)
    # Mentions read per window (spike, baseline, period); the adapter spreads them over it.
    sample_cap: int = 2000
    # Spikes explained per request (the most impactful); the others come without drivers.
    max_explained_spikes: int = 10
    max_drivers: int = 10
    max_evidence: int = 3
    # Brand/competitor queries whose own spikes a tenant-wide brief looks for.
    max_brief_queries: int = 5
    max_cards: int = 50
    # A brief is hourly up to this period length, daily beyond.
    brief_hourly_up_to: timedelta = timedelta(days=7)


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class QueryRef:
    id: str
    name: str = ""
    role: str = ""


@dataclass(frozen=True)
class SpikesRequest:
    tenant_id: str
    start: datetime
    end: datetime
    interval: str = DAY
    metric: str = VOLUME
    query_id: str | None = None
    evidence_per_driver: int = 3


@dataclass(frozen=True)
class SpikeFinding:
    """A spike, what drove it, and the baseline window its drivers were measured against."""

    explained: ExplainedSpike
    baseline_start: datetime
    baseline_end: datetime


@dataclass(frozen=True)
class SpikesResult:
    spikes: tuple[SpikeFinding, ...]
    confidence: Confidence
    unjudged: int
    # Evidence mentions of every driver, by id.
    evidence: Mapping[str, MentionDoc] = field(default_factory=dict)


@dataclass(frozen=True)
class CompareRequest:
    tenant_id: str
    start: datetime
    end: datetime
    query_id: str | None = None
    queries: tuple[QueryRef, ...] = ()


@dataclass(frozen=True)
class BriefRequest:
    tenant_id: str
    start: datetime
    end: datetime
    query_id: str | None = None
    lang: str = EN
    limit: int = 10
    time_zone: str = "UTC"
    queries: tuple[QueryRef, ...] = ()


@dataclass(frozen=True)
class BriefResult:
    cards: tuple[Card, ...]
    lang: str


@dataclass(frozen=True)
class _Compared:
    comparison: Comparison
    current: Totals
    previous: Totals
    current_sample: list[MentionFeatures]
    previous_sample: list[MentionFeatures]


# -- validation ------------------------------------------------------------------------------------


def _check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidArgument("start_time and end_time must be time-zone aware", field="start_time")
    if end <= start:
        raise InvalidArgument("end_time must be after start_time", field="end_time")


def _sov_queries(queries: Sequence[QueryRef]) -> list[str]:
    """Brand queries first, then competitors, de-duplicated, as share of voice compares them."""
    out: list[str] = []
    for role in (BRAND, COMPETITOR):
        out.extend(q.id for q in queries if q.role == role and q.id not in out)
    return out


def _overlaps(a: Spike, b: Spike) -> bool:
    return a.start < b.end and b.start < a.end


def _impact(s: Spike) -> float:
    if s.metric == NET_SENTIMENT:
        return s.volume * abs(s.observed - s.expected) * min(abs(s.score), 20.0)
    return max(s.excess, 0.0) * min(abs(s.score), 20.0)


def _tone(s: Spike) -> str:
    """The overall sentiment of a spike's mentions that its card's filters select."""
    if s.metric in (NEGATIVE, POSITIVE):
        return s.metric
    if s.metric == NET_SENTIMENT:
        return NEGATIVE if s.observed < s.expected else POSITIVE
    return ""


def _merge_intervals(fine: Sequence[tuple[str | None, Spike]],
                     coarse: Sequence[tuple[str | None, Spike]]) -> list[tuple[str | None, Spike]]:
    """Fine (hourly) and coarse (daily) spikes of the same scopes without repeats: see
    ``InsightEngine._brief_spikes``."""
    def kin(a: Spike, b: Spike) -> bool:
        return _overlaps(a, b) and (a.metric == NET_SENTIMENT) == (b.metric == NET_SENTIMENT)

    dropped: set[int] = set()
    out: list[tuple[str | None, Spike]] = []
    for scope, wave in coarse:
        inside = [i for i, (q, s) in enumerate(fine) if q == scope and kin(wave, s)]
        bursts = sum(abs(fine[i][1].excess) for i in inside)
        if not inside or abs(wave.excess) >= 2 * bursts:
            out.append((scope, wave))
            dropped.update(inside)
    return [f for i, f in enumerate(fine) if i not in dropped] + out


# -- the use case ----------------------------------------------------------------------------------


class InsightEngine:
    """Spikes, comparisons and briefs of one tenant, from rollups and bounded samples."""

    def __init__(self, rollups: RollupReads, mentions: MentionReads, *,
                 limits: Limits = DEFAULT_LIMITS) -> None:
        self._rollups = rollups
        self._mentions = mentions
        self.limits = limits

    # -- spikes ----------------------------------------------------------------------------------

    async def spikes(self, req: SpikesRequest) -> SpikesResult:
        """The spikes of ``req.metric`` in [start, end), the most impactful ones explained."""
        _check_range(req.start, req.end)
        if req.interval not in INTERVALS:
            raise InvalidArgument(f"unknown interval {req.interval!r}", field="interval")
        if req.metric not in METRICS:
            raise InvalidArgument(f"unknown metric {req.metric!r}", field="metric")
        if not 0 <= req.evidence_per_driver <= self.limits.max_evidence:
            raise InvalidArgument(f"evidence_per_driver must be 0-{self.limits.max_evidence}",
                                  field="evidence_per_driver")
        n = bucket_count(req.start, req.end, req.interval)
        if n > self.limits.max_buckets:
            raise InvalidArgument(f"the range spans {n} {req.interval} buckets; at most "
                                  f"{self.limits.max_buckets} allowed", field="interval")
        series = await self._series(req.tenant_id, req.interval, req.start, req.end, req.query_id)
        report = self._detect(series, req.interval, req.metric, req.start, req.end)
        chosen = set(sorted(report.spikes, key=lambda s: -_impact(s))
                     [:self.limits.max_explained_spikes])
        explained = await asyncio.gather(*(
            self._explain(req.tenant_id, req.query_id, s) for s in report.spikes if s in chosen))
        by_spike = {e.spike: e for e, _ in explained}
        findings = []
        for s in report.spikes:
            es = by_spike.get(s, ExplainedSpike(s, (), req.query_id))
            if req.evidence_per_driver < self.limits.max_evidence:
                es = replace(es, drivers=tuple(
                    replace(d, evidence_ids=d.evidence_ids[:req.evidence_per_driver])
                    for d in es.drivers))
            bs, be = baseline_window(s, default_baseline_length(s.interval))
            findings.append(SpikeFinding(es, bs, be))
        ids = list(dict.fromkeys(i for f in findings for d in f.explained.drivers
                                 for i in d.evidence_ids))
        evidence = await self._mentions.by_ids(req.tenant_id, ids) if ids else {}
        return SpikesResult(spikes=tuple(findings), confidence=report.confidence,
                            unjudged=report.unjudged, evidence=evidence)

    def _history_start(self, start: datetime, interval: str) -> datetime:
        period = DEFAULT_PARAMS.period(interval)
        cycles = DEFAULT_PARAMS.seasonal_cycles
        floor, history = floor_time(start, interval), cycles * period * INTERVALS[interval]
        # A window near the start of the calendar has no history before it (a datetime cannot even
        # hold it): the history is then whatever there is.
        first = datetime.min.replace(tzinfo=floor.tzinfo)
        return first if floor - first < history else floor - history

    async def _series(self, tenant: str, interval: str, start: datetime, end: datetime,
                      query_id: str | None) -> list[BucketCounts]:
        """The buckets of [start, end) and the history before them that the detector needs."""
        return await self._rollups.buckets(tenant, interval, self._history_start(start, interval),
                                           end, query_id)

    def _detect(self, series: Sequence[BucketCounts], interval: str, metric: str,
                start: datetime, end: datetime) -> SpikeReport:
        # History begins at the first bucket with any mention: the zeros before a new brand's
        # first post are no baseline, and counting them as one would invent confidence.
        first = min((b.start for b in series if b.volume > 0), default=start)
        begin = max(self._history_start(start, interval), min(floor_time(first, interval), start))
        return detect_spikes(series, interval, metric, start=begin, end=end, analyse_from=start)

    async def _explain(self, tenant: str, query_id: str | None,
                       spike: Spike) -> tuple[ExplainedSpike, list[MentionFeatures]]:
        """The spike's drivers against the baseline window (a seasonal cycle before it), and the
        window's sample (for the coordinated-posting check)."""
        ws, we = spike.start, spike.end
        bs, be = baseline_window(spike, default_baseline_length(spike.interval))
        cap = self.limits.sample_cap
        tone = _tone(spike)
        (tw, _), (tb, _), window, baseline = await asyncio.gather(
            self._rollups.totals(tenant, ws, we, query_id),
            self._rollups.totals(tenant, bs, be, query_id),
            self._mentions.sample(tenant, ws, we, query_id, cap),
            self._mentions.sample(tenant, bs, be, query_id, cap))
        drivers = explain(window, baseline, exact_window=rollup_feature_counts(tw),
                          exact_baseline=rollup_feature_counts(tb), window_volume=tw.volume or None,
                          baseline_volume=tb.volume or None,
                          baseline_scale=(we - ws) / (be - bs),
                          sentiment=tone or None,
                          params=replace(DEFAULT_DRIVER_PARAMS, evidence=self.limits.max_evidence))
        typical = typical_mentions([m for m in window if not tone or m.sentiment == tone],
                                   self.limits.max_evidence)
        return ExplainedSpike(spike, tuple(drivers[:self.limits.max_drivers]), query_id,
                              evidence_ids=typical), window

    # -- comparison ------------------------------------------------------------------------------

    def _check_period(self, start: datetime, end: datetime) -> None:
        _check_range(start, end)
        if end - start > self.limits.max_period:
            raise InvalidArgument(f"the period is longer than {self.limits.max_period.days} days",
                                  field="start_time")

    async def compare(self, req: CompareRequest) -> Comparison:
        """This period against the previous one of equal length."""
        self._check_period(req.start, req.end)
        found = await self._compare(req.tenant_id, req.start, req.end, req.query_id,
                                    _sov_queries(req.queries))
        return found.comparison

    async def _compare(self, tenant: str, start: datetime, end: datetime, query_id: str | None,
                       sov: Sequence[str]) -> _Compared:
        prev_start, _ = previous_period(start, end)
        cap = self.limits.sample_cap
        (cur, cur_q), (prev, prev_q), cur_sample, prev_sample = await asyncio.gather(
            self._rollups.totals(tenant, start, end, query_id, sov),
            self._rollups.totals(tenant, prev_start, start, query_id, sov),
            self._mentions.sample(tenant, start, end, query_id, cap),
            self._mentions.sample(tenant, prev_start, start, query_id, cap))
        cmp = compare(start, end, cur, prev,
                      queries_current=[(q, cur_q.get(q, Totals())) for q in sov],
                      queries_previous=[(q, prev_q.get(q, Totals())) for q in sov],
                      terms_current=top_terms(cur_sample, TOP_TERMS),
                      terms_previous=top_terms(prev_sample, TOP_TERMS))
        return _Compared(cmp, cur, prev, cur_sample, prev_sample)

    # -- brief -----------------------------------------------------------------------------------

    async def brief(self, req: BriefRequest) -> BriefResult:
        """The ranked insight cards of [start, end) (see domain/insight/brief.py for ranking)."""
        self._check_period(req.start, req.end)
        if req.lang not in LANGS:
            raise InvalidArgument(f"unknown lang {req.lang!r}: expected one of {', '.join(LANGS)}",
                                  field="lang")
        if not 1 <= req.limit <= self.limits.max_cards:
            raise InvalidArgument(f"limit must be 1-{self.limits.max_cards}", field="limit")
        tz = _zone(req.time_zone)
        names = {q.id: q.name for q in req.queries if q.name}
        sov = _sov_queries(req.queries)
        # Hours find bursts (an outage over lunch), days find waves that last (a fee hike
        # complained about for days, a few extra mentions an hour); a short period reads both.
        period = req.end - req.start
        intervals = [DAY] if period > self.limits.brief_hourly_up_to else \
            [HOUR, DAY] if period >= 2 * INTERVALS[DAY] else [HOUR]
        scopes: list[str | None] = [req.query_id] if req.query_id else \
            [None, *sov[:self.limits.max_brief_queries]]

        candidates = await self._brief_spikes(req.tenant_id, scopes, intervals, req.start, req.end)
        chosen = sorted(candidates, key=lambda c: -_impact(c[1]))[:self.limits.max_explained_spikes]
        explained = await asyncio.gather(*(self._explain(req.tenant_id, q, s) for q, s in chosen))

        c = await self._compare(req.tenant_id, req.start, req.end, req.query_id, sov)
        rising = self._rising_aspects(c.current, c.previous, c.current_sample, c.previous_sample)

        pool: dict[str, MentionFeatures] = {m.id: m for m in c.current_sample}
        for _, window in explained:
            pool.update((m.id, m) for m in window)
        clusters: list[DuplicateCluster] = coordinated_duplicates(
            sorted(pool.values(), key=lambda m: (m.created_at, m.id)))
        clusters = [c for c in clusters if req.start <= c.start < req.end]

        counts = [e for e, _ in explained if e.spike.metric != NET_SENTIMENT]
        shifts = [e for e, _ in explained if e.spike.metric == NET_SENTIMENT]
        cards = build_brief(lang=req.lang, start=req.start, end=req.end, spikes=counts,
                            shifts=shifts, rising_aspects=rising, comparison=c.comparison if sov else None,
                            clusters=clusters, query_id=req.query_id, names=names,
                            limit=req.limit, tz=tz)
        return BriefResult(cards=tuple(cards), lang=req.lang)

    async def _brief_spikes(self, tenant: str, scopes: Sequence[str | None],
                            intervals: Sequence[str], start: datetime,
                            end: datetime) -> list[tuple[str | None, Spike]]:
        """Candidate spikes of every scope and interval, one series read per scope and interval,
        without repeats.

        Within a scope and interval: a volume spike whose excess is mostly (at least half) that
        of the negative or positive spikes overlapping it says less than they do and goes;
        otherwise the volume spike is the event (a fee-hike wave of mostly neutral complaints
        with a small negative bump inside it) and the polar spikes inside it go. A net-sentiment
        shift that overlaps a count spike of the same direction repeats it.

        Across intervals: a daily spike whose excess is at least twice that of the hourly spikes
        of its scope inside it is a wave that they are only bursts of, and replaces them;
        otherwise the hourly spikes say when, more precisely, and the daily one goes.

        Across scopes: a tenant-wide spike that overlaps one of a named query's spikes of the
        same metric (even one that gave way to another of its scope) is that query's spike,
        which names its subject.
        """
        jobs = [(i, q) for i in intervals for q in scopes]
        serieses = await asyncio.gather(*(self._series(tenant, i, start, end, q) for i, q in jobs))
        found: dict[str, list[tuple[str | None, Spike]]] = {i: [] for i in intervals}
        named: list[Spike] = []
        for (interval, scope), series in zip(jobs, serieses, strict=True):
            by_metric = {m: self._detect(series, interval, m, start, end).spikes for m in METRICS}
            if scope is not None:
                named += [s for spikes in by_metric.values() for s in spikes]
            polar = [*by_metric[NEGATIVE], *by_metric[POSITIVE]]
            volume = [s for s in by_metric[VOLUME]
                      if sum(max(p.excess, 0.0) for p in polar if _overlaps(s, p))
                      < 0.5 * s.excess]
            keep = [p for p in polar if not any(_overlaps(p, v) for v in volume)] + volume
            for s in by_metric[NET_SENTIMENT]:
                same = by_metric[NEGATIVE] if s.observed < s.expected else by_metric[POSITIVE]
                if not any(_overlaps(s, p) for p in same):
                    keep.append(s)
            found[interval] += [(scope, s) for s in keep]
        merged = found[intervals[0]]
        for interval in intervals[1:]:
            merged = _merge_intervals(merged, found[interval])
        return [(q, s) for q, s in merged
                if q is not None or not any(n.metric == s.metric and _overlaps(n, s)
                                            for n in named)]

    def _rising_aspects(self, cur: Totals, prev: Totals, cur_sample: Sequence[MentionFeatures],
                        prev_sample: Sequence[MentionFeatures]) -> list[Driver]:
        """Aspect:polarity values that grew against the previous period (exact rollup counts),
        with evidence and characteristic terms from the samples."""
        now, then = rollup_feature_counts(cur), rollup_feature_counts(prev)
        found = rank_drivers({ASPECT: now[ASPECT]}, {ASPECT: then[ASPECT]},
                             window_mentions=cur.volume or None,
                             baseline_mentions=prev.volume or None)
        return attach_evidence(found, cur_sample, self.limits.max_evidence, prev_sample)


def _zone(name: str) -> tzinfo:
    if not name or name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgument(f"unknown time zone {name!r}", field="time_zone") from exc


__all__ = [
    "DEFAULT_LIMITS", "BriefRequest", "BriefResult", "CompareRequest", "InsightEngine", "Limits",
    "MentionDoc", "MentionReads", "QueryRef", "RollupReads", "SpikeFinding", "SpikesRequest",
    "SpikesResult",
]
