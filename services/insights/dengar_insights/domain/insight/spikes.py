"""Spike detection on a bucketed series (hourly or daily), robust and seasonal-aware.

Input: per bucket the counts read from the rollups (``BucketCounts``: volume, negative, positive);
missing buckets are zero. The metric chooses the series: ``volume``, ``negative`` and ``positive``
are counts; ``net_sentiment`` ((positive - negative) / volume) is a ratio and has its own rule.

Count metrics, for every bucket ``t`` of the analysed range, from the buckets *before* it only:

* **Seasonal baseline** when the history holds at least ``min_seasonal_cycles`` (3) earlier
  buckets of the same phase (the same hour of day for hourly series, the same weekday for daily
  ones, up to ``seasonal_cycles`` (7) of them): expected = their median, spread = 1.4826 x their
  MAD. This is what keeps a regular lunchtime peak from being a spike every day.
* Otherwise a **trailing baseline** of the last ``window`` buckets (24 hours, 14 days), when it
  holds at least ``min_history`` (6) hours or ``min_history_days`` (3) days: expected = median,
  spread = 1.4826 x MAD (the confidence of what it finds is then ``medium``, a partial window).
* Otherwise **no baseline**: the bucket is not judged and the report's confidence is ``low``. No
  baseline is invented for a series that is too new.

The spread is floored by the Poisson noise of the expected count (sqrt(max(expected, 1))) and by
``rel_spread`` (10%) of it, so a flat series whose MAD is 0 does not turn every wobble into a spike.
A bucket is *unusual* when all of: score = (observed - expected) / spread >= ``z_threshold`` (3.5);
observed >= ``min_count`` (10, so 3 -> 9 is no spike); observed - expected >= ``min_excess`` (5);
observed >= ``min_ratio`` (1.5) x expected. Unusual buckets are replaced by their expected value in
the history that later buckets' trailing baselines read, so a long spike does not become its own
baseline; the seasonal baseline reads the raw history (its median over several cycles is robust to
one unusual cycle, and a new series' first busy hours, judged against quiet night hours, must not
make every later busy hour a spike). Unusual buckets
separated by at most ``merge_gap`` (1) ordinary bucket merge into one spike, whose observed and
expected are sums over its buckets and whose score is the highest bucket score.

``net_sentiment``: the baseline is pooled (volume-weighted) over the trailing window, p = positive
share, n = negative share, net0 = p - n. A bucket's net sentiment has, under the baseline, the
standard error sqrt((p + n - net0^2) / volume + drift^2), where ``drift`` (0.05) allows for the
ordinary bucket-to-bucket wander. A bucket is a shift when |score| >= ``z_threshold``, its volume
>= ``min_count`` and |net - net0| >= ``min_net_shift`` (0.2). Shifts merge like spikes, but only
with the same sign; observed is the pooled net of the merged buckets. There is no seasonal rule for
ratios: sentiment shares have little daily rhythm, and their noise depends on volume, which the
standard error already accounts for.

Callers should read the history before the analysed range too (``start`` < ``analyse_from``): a
week before it for hourly series, five weeks for daily ones, so that every analysed bucket has its
seasonal baseline; the cost is bounded by that number of buckets, never by the tenant's post count.

Severity: ``high`` when score >= 8 and the ratio observed/expected >= 3 (for net sentiment: a shift
>= 0.5); ``medium`` when score >= 5 and ratio >= 2 (shift >= 0.3); ``low`` otherwise. Confidence of
a spike: ``high`` when all its buckets had a seasonal baseline or a full trailing window, else
``medium``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from dengar_insights.domain.rollups import HOUR, INTERVALS, floor_time

VOLUME = "volume"
NEGATIVE = "negative"
POSITIVE = "positive"
NET_SENTIMENT = "net_sentiment"
METRICS = (VOLUME, NEGATIVE, POSITIVE, NET_SENTIMENT)

Confidence = Literal["low", "medium", "high"]
Severity = Literal["low", "medium", "high"]
Basis = Literal["seasonal", "trailing", "none"]

_MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class BucketCounts:
    """One rollup bucket's counters that the metrics are made of."""

    start: datetime
    volume: int = 0
    negative: int = 0
    positive: int = 0


@dataclass(frozen=True)
class SpikeParams:
    """Detector parameters; see the module docstring for how each is used."""

    window_hours: int = 24
    window_days: int = 14
    min_history: int = 6
    # Days are fewer and steadier than hours: three give a median a week-old series can use.
    min_history_days: int = 3
    seasonal_cycles: int = 7
    min_seasonal_cycles: int = 3
    z_threshold: float = 3.5
    min_count: int = 10
    min_excess: float = 5.0
    min_ratio: float = 1.5
    rel_spread: float = 0.10
    merge_gap: int = 1
    drift: float = 0.05
    min_net_shift: float = 0.2

    def window(self, interval: str) -> int:
        return self.window_hours if interval == HOUR else self.window_days

    def history(self, interval: str) -> int:
        """The fewest trailing buckets a baseline is made of."""
        return self.min_history if interval == HOUR else self.min_history_days

    def period(self, interval: str) -> int:
        """Buckets per seasonal cycle: a day of hours, a week of days."""
        return 24 if interval == HOUR else 7


DEFAULT_PARAMS = SpikeParams()


@dataclass(frozen=True)
class Judgement:
    """One bucket as the detector saw it (expected/score None when it could not be judged)."""

    start: datetime
    observed: float
    volume: int
    expected: float | None
    spread: float | None
    score: float | None
    basis: Basis
    unusual: bool
    # Whether the baseline was seasonal or a full trailing window (else a partial one).
    full: bool = False


@dataclass(frozen=True)
class Spike:
    """A run of unusual buckets: [start, end), with sums (or pooled net sentiment) over the run."""

    metric: str
    interval: str
    start: datetime
    end: datetime
    peak: datetime
    observed: float
    expected: float
    score: float
    severity: Severity
    confidence: Confidence
    volume: int

    @property
    def ratio(self) -> float:
        """observed / expected for counts (expected floored at 1); unused for net sentiment."""
        return self.observed / max(self.expected, 1.0)

    @property
    def excess(self) -> float:
        return self.observed - self.expected


@dataclass(frozen=True)
class SpikeReport:
    """Spikes of one series, every bucket's judgement, and how far the result can be trusted.

    ``confidence`` is ``low`` when some analysed bucket had too little history to be judged (a new
    brand), ``medium`` when some had only a partial trailing window, else ``high``.
    """

    metric: str
    interval: str
    spikes: tuple[Spike, ...]
    buckets: tuple[Judgement, ...] = field(repr=False)
    confidence: Confidence
    unjudged: int


def fill_series(counts: Iterable[BucketCounts], interval: str, start: datetime,
                end: datetime) -> list[BucketCounts]:
    """One entry per bucket starting in [floor(start), end), zero where none was given.

    Counts outside the range are dropped; two entries for the same bucket are added up.
    """
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}")
    step = INTERVALS[interval]
    first = floor_time(start, interval)
    acc: dict[datetime, list[int]] = {}
    for c in counts:
        b = floor_time(c.start, interval)
        if first <= b < end:
            cur = acc.setdefault(b, [0, 0, 0])
            cur[0] += c.volume
            cur[1] += c.negative
            cur[2] += c.positive
    out = []
    t = first
    while t < end:
        v, n, p = acc.get(t, (0, 0, 0))
        out.append(BucketCounts(t, v, n, p))
        t += step
    return out


def metric_value(c: BucketCounts, metric: str) -> float:
    if metric == VOLUME:
        return float(c.volume)
    if metric == NEGATIVE:
        return float(c.negative)
    if metric == POSITIVE:
        return float(c.positive)
    if metric == NET_SENTIMENT:
        return (c.positive - c.negative) / c.volume if c.volume > 0 else 0.0
    raise ValueError(f"unknown metric {metric!r}")


def _median_mad(values: Sequence[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=float)
    med = float(np.median(arr))
    return med, float(np.median(np.abs(arr - med))) * _MAD_TO_SD


def _count_baseline(history: Sequence[float], interval: str, p: SpikeParams,
                    raw: Sequence[float] | None = None) -> tuple[float, float, Basis, bool] | None:
    """(expected, spread, basis, full) from the history before a bucket, or None.

    ``history`` is cleaned (unusual buckets replaced by their expected value) and feeds the
    trailing baseline; the seasonal one reads ``raw`` (default: ``history``), whose median over
    several cycles needs no cleaning and must not inherit a too-low expected value that a trailing
    baseline gave a new series' first busy hours.
    """
    period = p.period(interval)
    same_phase = history if raw is None else raw
    seasonal = [same_phase[-k * period] for k in range(1, p.seasonal_cycles + 1)
                if k * period <= len(same_phase)]
    if len(seasonal) >= p.min_seasonal_cycles:
        expected, spread = _median_mad(seasonal)
        basis: Basis = "seasonal"
        full = True
    else:
        trailing = history[-p.window(interval):]
        if len(trailing) < p.history(interval):
            return None
        expected, spread = _median_mad(trailing)
        basis = "trailing"
        full = len(trailing) >= p.window(interval)
    spread = max(spread, math.sqrt(max(expected, 1.0)), p.rel_spread * expected)
    return expected, spread, basis, full


def _severity_counts(score: float, ratio: float) -> Severity:
    if score >= 8 and ratio >= 3:
        return "high"
    if score >= 5 and ratio >= 2:
        return "medium"
    return "low"


def _severity_net(score: float, shift: float) -> Severity:
    if abs(score) >= 8 and abs(shift) >= 0.5:
        return "high"
    if abs(score) >= 5 and abs(shift) >= 0.3:
        return "medium"
    return "low"


def _runs(flags: Sequence[int], gap: int) -> list[tuple[int, int]]:
    """[first, last] index pairs of flagged buckets (same non-zero sign) at most ``gap`` apart."""
    runs: list[tuple[int, int]] = []
    for i, f in enumerate(flags):
        if not f:
            continue
        if runs and i - runs[-1][1] - 1 <= gap and flags[runs[-1][1]] == f:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def detect_spikes(counts: Iterable[BucketCounts], interval: str, metric: str, *,
                  start: datetime, end: datetime, analyse_from: datetime | None = None,
                  params: SpikeParams = DEFAULT_PARAMS) -> SpikeReport:
    """Spikes of ``metric`` among the buckets in [analyse_from, end).

    ``counts``: rollup buckets from ``start`` (history first: give at least ``seasonal_cycles``
    periods before ``analyse_from`` for the seasonal baseline) to ``end``; missing ones are zero.
    ``analyse_from`` defaults to ``start`` (every bucket with enough history is judged).
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    series = fill_series(counts, interval, start, end)
    first = floor_time(analyse_from if analyse_from is not None else start, interval)
    if metric == NET_SENTIMENT:
        judged = _judge_net(series, interval, first, params)
    else:
        judged = _judge_counts(series, interval, metric, first, params)
    analysed = [j for j in judged if j.start >= first]
    spikes = _merge(analysed, interval, metric, params)
    unjudged = sum(1 for j in analysed if j.basis == "none")
    if unjudged or not analysed:
        conf: Confidence = "low"
    elif any(not j.full for j in analysed):
        conf = "medium"
    else:
        conf = "high"
    return SpikeReport(metric=metric, interval=interval, spikes=tuple(spikes),
                       buckets=tuple(analysed), confidence=conf, unjudged=unjudged)


def _judge_counts(series: Sequence[BucketCounts], interval: str, metric: str, first: datetime,
                  p: SpikeParams) -> list[Judgement]:
    cleaned: list[float] = []
    raw: list[float] = []
    out: list[Judgement] = []
    for c in series:
        obs = metric_value(c, metric)
        base = _count_baseline(cleaned, interval, p, raw)
        raw.append(obs)
        if base is None:
            out.append(Judgement(c.start, obs, c.volume, None, None, None, "none", False))
            cleaned.append(obs)
            continue
        expected, spread, basis, full = base
        score = (obs - expected) / spread
        unusual = (c.start >= first and score >= p.z_threshold and obs >= p.min_count
                   and obs - expected >= p.min_excess and obs >= p.min_ratio * expected)
        out.append(Judgement(c.start, obs, c.volume, expected, spread, score, basis, unusual, full))
        cleaned.append(expected if unusual else obs)
    return out


def _judge_net(series: Sequence[BucketCounts], interval: str, first: datetime,
               p: SpikeParams) -> list[Judgement]:
    window = p.window(interval)
    # Cleaned history as (volume, positive, negative); a shifted bucket is left out of later ones.
    hist: list[tuple[int, int, int]] = []
    out: list[Judgement] = []
    for c in series:
        obs = metric_value(c, NET_SENTIMENT)
        trailing = hist[-window:]
        vol = sum(h[0] for h in trailing)
        if sum(1 for h in trailing if h[0] > 0) < p.history(interval) or vol <= 0:
            out.append(Judgement(c.start, obs, c.volume, None, None, None, "none", False))
            hist.append((c.volume, c.positive, c.negative))
            continue
        pos = sum(h[1] for h in trailing) / vol
        neg = sum(h[2] for h in trailing) / vol
        net0 = pos - neg
        var = max(pos + neg - net0 * net0, 1e-6)
        se = math.sqrt(var / max(c.volume, 1) + p.drift ** 2)
        score = (obs - net0) / se if c.volume > 0 else 0.0
        unusual = (c.start >= first and abs(score) >= p.z_threshold and c.volume >= p.min_count
                   and abs(obs - net0) >= p.min_net_shift)
        out.append(Judgement(c.start, obs, c.volume, net0, se, score, "trailing", unusual,
                             len(trailing) >= window))
        hist.append((0, 0, 0) if unusual else (c.volume, c.positive, c.negative))
    return out


def _merge(judged: Sequence[Judgement], interval: str, metric: str,
           p: SpikeParams) -> list[Spike]:
    step = INTERVALS[interval]
    flags = [0 if not j.unusual else (1 if (j.score or 0) >= 0 else -1) for j in judged]
    spikes = []
    for a, b in _runs(flags, p.merge_gap):
        run = [j for j in judged[a:b + 1] if j.unusual]
        peak = max(run, key=lambda j: abs(j.score or 0.0))
        score = peak.score or 0.0
        volume = sum(j.volume for j in run)
        full = all(j.full for j in run)
        if metric == NET_SENTIMENT:
            observed = sum(j.observed * j.volume for j in run) / max(volume, 1)
            expected = sum((j.expected or 0.0) * j.volume for j in run) / max(volume, 1)
            severity = _severity_net(score, observed - expected)
        else:
            observed = sum(j.observed for j in run)
            expected = sum(j.expected or 0.0 for j in run)
            severity = _severity_counts(score, observed / max(expected, 1.0))
        spikes.append(Spike(metric=metric, interval=interval, start=judged[a].start,
                            end=judged[b].start + step, peak=peak.start, observed=observed,
                            expected=expected, score=score, severity=severity,
                            confidence="high" if full else "medium", volume=volume))
    return spikes


def baseline_window(spike: Spike | tuple[datetime, datetime],
                    min_length: timedelta | None = None) -> tuple[datetime, datetime]:
    """The window just before a spike (or a [start, end) pair) that its drivers are measured against.

    By default it has the spike's length. ``min_length`` extends it backwards to at least that
    long: a one-hour spike's previous hour often holds too few mentions for any driver to be
    significant, while a day (for hourly spikes) or a week (for daily ones) does. Driver counts
    are then scaled back to the spike's length (see drivers.rank_drivers' ``baseline_scale``).
    """
    s, e = (spike.start, spike.end) if isinstance(spike, Spike) else spike
    length: timedelta = e - s
    if min_length is not None and length < min_length:
        length = min_length
    return s - length, s


def default_baseline_length(interval: str) -> timedelta:
    """The baseline length recommended for drivers of a spike at ``interval``: a seasonal cycle."""
    return timedelta(days=1) if interval == HOUR else timedelta(days=7)


def series_from_rollups(docs: Iterable[Mapping[str, object]]) -> list[BucketCounts]:
    """BucketCounts of rollup documents (tenant-wide, or one query's part with ``bucket_start``)."""
    out = []
    for d in docs:
        start = d.get("bucket_start")
        if not isinstance(start, datetime):
            continue
        sent = d.get("sentiment")
        sent_map: Mapping[str, object] = sent if isinstance(sent, Mapping) else {}
        vol = d.get("volume", 0)
        out.append(BucketCounts(start, _int(vol), _int(sent_map.get("negative", 0)),
                                _int(sent_map.get("positive", 0))))
    return out


def _int(v: object) -> int:
    return int(v) if isinstance(v, int | float) else 0

