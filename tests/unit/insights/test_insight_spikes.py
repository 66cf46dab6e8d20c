"""Spike detection on synthetic series with known answers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from dengar_insights.domain.insight.spikes import (
    BucketCounts,
    SpikeParams,
    baseline_window,
    default_baseline_length,
    detect_spikes,
    fill_series,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def hourly(values: list[int], negative: list[int] | None = None) -> list[BucketCounts]:
    neg = negative or [0] * len(values)
    return [BucketCounts(T0 + i * H, v, n, 0) for i, (v, n) in enumerate(zip(values, neg, strict=True))]


def daily_shape(day: int) -> list[int]:
    """A day with a lunchtime and an evening peak, a little day-to-day noise."""
    base = [5, 4, 3, 3, 3, 4, 8, 15, 20, 22, 25, 40, 80, 75, 35, 25, 24, 30, 55, 60, 40, 25, 12, 8]
    return [b + (day * 7 + h) % 3 for h, b in enumerate(base)]


def test_planted_spike_is_found_once_with_its_numbers() -> None:
    values = [20 + (i % 5) for i in range(72)]
    values[60] = 95
    rep = detect_spikes(hourly(values), "hour", "volume", start=T0, end=T0 + 72 * H)
    assert len(rep.spikes) == 1
    s = rep.spikes[0]
    assert (s.start, s.end) == (T0 + 60 * H, T0 + 61 * H)
    assert s.observed == 95
    assert 20 <= s.expected <= 24
    assert s.score > 8 and s.severity == "high" and s.confidence == "high"
    assert baseline_window(s) == (T0 + 59 * H, T0 + 60 * H)


def test_consecutive_unusual_buckets_merge_into_one_spike() -> None:
    values = [20 + (i % 5) for i in range(72)]
    values[50:54] = [90, 120, 20, 80]  # one ordinary bucket inside: still one event (merge_gap=1)
    rep = detect_spikes(hourly(values), "hour", "volume", start=T0, end=T0 + 72 * H)
    assert len(rep.spikes) == 1
    s = rep.spikes[0]
    assert (s.start, s.end, s.peak) == (T0 + 50 * H, T0 + 54 * H, T0 + 51 * H)
    assert s.observed == 90 + 120 + 80
    no_gap = detect_spikes(hourly(values), "hour", "volume", start=T0, end=T0 + 72 * H,
                           params=SpikeParams(merge_gap=0))
    assert len(no_gap.spikes) == 2


def test_daily_seasonality_gives_no_false_spike_but_finds_an_off_peak_burst() -> None:
    values = [v for day in range(14) for v in daily_shape(day)]
    rep = detect_spikes(hourly(values), "hour", "volume", start=T0, end=T0 + len(values) * H,
                        analyse_from=T0 + 7 * 24 * H)
    assert rep.spikes == ()
    assert rep.confidence == "high"
    assert {j.basis for j in rep.buckets} == {"seasonal"}
    # The same 80 that is normal at 12:00 is a spike at 03:00.
    values[12 * 24 + 3] = 80
    rep = detect_spikes(hourly(values), "hour", "volume", start=T0, end=T0 + len(values) * H,
                        analyse_from=T0 + 7 * 24 * H)
    assert [s.start for s in rep.spikes] == [T0 + (12 * 24 + 3) * H]


def test_flat_series_has_no_spike_and_full_confidence() -> None:
    rep = detect_spikes(hourly([50] * 96), "hour", "volume", start=T0, end=T0 + 96 * H)
    assert rep.spikes == ()
    # A flat series has MAD 0; the Poisson floor keeps ordinary noise ordinary.
    values = [50] * 96
    values[80] = 62
    rep = detect_spikes(hourly(values), "hour", "volume", start=T0, end=T0 + 96 * H)
    assert rep.spikes == ()


def test_sparse_series_small_counts_are_no_spike() -> None:
    values = [0] * 96
    for i, v in ((5, 1), (30, 2), (55, 3), (70, 9), (90, 1)):
        values[i] = v  # 3 -> 9 is no spike: below min_count
    rep = detect_spikes(hourly(values), "hour", "volume", start=T0, end=T0 + 96 * H)
    assert rep.spikes == ()
    values[80] = 30  # a real burst in a quiet series still is one
    rep = detect_spikes(hourly(values), "hour", "volume", start=T0, end=T0 + 96 * H)
    assert [s.start for s in rep.spikes] == [T0 + 80 * H]


def test_missing_buckets_are_zero() -> None:
    given = [BucketCounts(T0 + i * D, 30) for i in range(20) if i % 4 != 1]
    filled = fill_series(given, "day", T0, T0 + 20 * D)
    assert len(filled) == 20
    assert [c.volume for c in filled[:6]] == [30, 0, 30, 30, 30, 0]
    rep = detect_spikes(given, "day", "volume", start=T0, end=T0 + 20 * D)
    assert len(rep.buckets) == 20
    assert rep.buckets[5].observed == 0


def test_new_brand_without_history_has_low_confidence_and_no_invented_baseline() -> None:
    counts = [BucketCounts(T0 + i * H, v) for i, v in enumerate([0, 2, 60, 80])]
    rep = detect_spikes(counts, "hour", "volume", start=T0, end=T0 + 4 * H)
    assert rep.confidence == "low"
    assert rep.spikes == ()
    assert rep.unjudged == 4
    assert all(j.expected is None and j.score is None for j in rep.buckets)


def test_partial_trailing_window_is_medium_confidence() -> None:
    values = [20, 21, 19, 22, 20, 21, 20, 90]
    rep = detect_spikes(hourly(values), "hour", "volume", start=T0, end=T0 + 8 * H,
                        analyse_from=T0 + 6 * H)
    assert rep.confidence == "medium"
    assert [s.confidence for s in rep.spikes] == ["medium"]


def test_daily_weekday_seasonality() -> None:
    # Saturdays are always busy: no spike on the fourth busy Saturday, a spike on a busy Tuesday.
    values = [60 if (T0 + i * D).weekday() == 5 else 20 + i % 3 for i in range(35)]
    counts = [BucketCounts(T0 + i * D, v) for i, v in enumerate(values)]
    rep = detect_spikes(counts, "day", "volume", start=T0, end=T0 + 35 * D, analyse_from=T0 + 21 * D)
    assert rep.spikes == ()
    values[30] = 60 if (T0 + 30 * D).weekday() != 5 else values[30]
    counts = [BucketCounts(T0 + i * D, v) for i, v in enumerate(values)]
    rep = detect_spikes(counts, "day", "volume", start=T0, end=T0 + 35 * D, analyse_from=T0 + 21 * D)
    assert [s.start for s in rep.spikes] == [T0 + 30 * D]


def test_negative_metric_spike() -> None:
    vol = [40] * 48
    neg = [8 + i % 3 for i in range(48)]
    vol[40], neg[40] = 70, 45
    rep = detect_spikes(hourly(vol, neg), "hour", "negative", start=T0, end=T0 + 48 * H)
    assert [(s.start, s.observed) for s in rep.spikes] == [(T0 + 40 * H, 45)]


def test_net_sentiment_shift_needs_volume() -> None:
    counts = [BucketCounts(T0 + i * H, 40, 10, 20) for i in range(48)]
    counts[40] = BucketCounts(T0 + 40 * H, 50, 40, 2)      # net 0.25 -> -0.76
    counts[44] = BucketCounts(T0 + 44 * H, 4, 4, 0)        # all negative, but 4 posts
    rep = detect_spikes(counts, "hour", "net_sentiment", start=T0, end=T0 + 48 * H)
    assert len(rep.spikes) == 1
    s = rep.spikes[0]
    assert s.start == T0 + 40 * H and s.score < 0
    assert math.isclose(s.expected, 0.25) and math.isclose(s.observed, -38 / 50)
    # z is about -7.9 (se 0.13 at 50 posts): below 8, so medium despite the size of the shift.
    assert s.severity == "medium" and -8 < s.score < -5


def test_unknown_metric_and_interval() -> None:
    with pytest.raises(ValueError):
        detect_spikes([], "hour", "likes", start=T0, end=T0 + H)
    with pytest.raises(ValueError):
        fill_series([], "week", T0, T0 + H)


def test_baseline_window_can_be_extended_to_a_cycle() -> None:
    span = (T0 + 50 * H, T0 + 52 * H)
    assert baseline_window(span) == (T0 + 48 * H, T0 + 50 * H)
    assert baseline_window(span, default_baseline_length("hour")) == (T0 + 26 * H, T0 + 50 * H)
    assert default_baseline_length("day") == 7 * D


def test_an_empty_range_is_low_confidence() -> None:
    rep = detect_spikes([], "day", "volume", start=T0, end=T0)
    assert (rep.spikes, rep.buckets, rep.confidence) == ((), (), "low")


def test_a_new_series_with_a_daily_rhythm_is_judged_by_its_raw_seasonal_history() -> None:
    # A new brand whose first posts come at night: its first busy hours are unusual against the
    # quiet trailing hours, but once three days exist, the same hours of the earlier days (as
    # they were, not as the trailing baseline expected them) are the baseline.
    day = [1] * 7 + [12] * 12 + [1] * 5
    rep = detect_spikes(hourly(day * 6), "hour", "volume", start=T0, end=T0 + 144 * H)
    assert all(s.start < T0 + 72 * H for s in rep.spikes)
    values = day * 6
    values[5 * 24 + 10] = 60
    rep = detect_spikes(hourly(values), "hour", "volume", start=T0, end=T0 + 144 * H)
    assert T0 + (5 * 24 + 10) * H in [s.start for s in rep.spikes]


def test_days_need_three_of_history() -> None:
    days = [BucketCounts(T0 + i * D, v) for i, v in enumerate([100, 110, 95, 260])]
    rep = detect_spikes(days, "day", "volume", start=T0, end=T0 + 4 * D)
    assert [s.start for s in rep.spikes] == [T0 + 3 * D]
    assert rep.confidence == "low" and rep.unjudged == 3
    short = detect_spikes(days[1:], "day", "volume", start=T0 + D, end=T0 + 4 * D)
    assert short.spikes == () and short.unjudged == 3
