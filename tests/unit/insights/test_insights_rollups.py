"""The rollup contribution of a mention and the delta applied when it changes (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from dengar_insights.domain.rollups import (
    DAY,
    EMPTY,
    HOUR,
    Contribution,
    Span,
    bucket_count,
    bucket_id,
    bucket_starts,
    contribution_of,
    delta,
    parse_bucket_id,
    sorted_counts,
    sum_docs,
    summary_spans,
)

T = datetime(2026, 11, 22, 5, 30, 12, tzinfo=UTC)


def contrib(sentiment: str = "negative", aspects: dict[str, str] | None = None, *, at: datetime = T,
            platform: str = "x", language: str = "id", tenant: str = "acme") -> Contribution:
    return contribution_of(tenant, at, sentiment=sentiment, aspects=aspects or {}, platform=platform,
                           language=language)


def test_contribution_buckets_and_counters() -> None:
    c = contrib("negative", {"delivery": "negative", "price": "positive"})
    assert c.buckets == ("acme|hour|2026-11-22T05", "acme|day|2026-11-22")
    assert set(c.counters) == {"volume", "sentiment.negative", "aspects.delivery.negative",
                               "aspects.price.positive", "platform.x", "language.id"}


def test_contribution_is_canonical() -> None:
    a = contrib(aspects={"a": "negative", "b": "neutral"})
    b = contrib(aspects={"b": "neutral", "a": "negative"})
    assert a == b
    assert Contribution.from_doc(a.to_doc()) == a
    assert Contribution.from_doc(None) == EMPTY


def test_keys_cannot_become_paths_or_operators() -> None:
    c = contrib(aspects={"after.sales": "negative", "$where": "neutral"}, language="")
    assert "aspects.after_sales.negative" in c.counters
    assert "aspects._where.neutral" in c.counters
    assert "language.und" in c.counters


def test_new_mention_adds_one_everywhere() -> None:
    c = contrib("positive", {"delivery": "positive"})
    d = delta(EMPTY, c)
    assert set(d) == set(c.buckets)
    for incs in d.values():
        assert incs == {"volume": 1, "sentiment.positive": 1, "aspects.delivery.positive": 1,
                        "platform.x": 1, "language.id": 1}


def test_duplicate_changes_nothing() -> None:
    c = contrib("neutral", {"price": "negative"})
    assert delta(c, c) == {}
    assert delta(EMPTY, EMPTY) == {}


def test_sentiment_change_moves_one_count() -> None:
    old = contrib("negative", {"delivery": "negative"})
    new = contrib("positive", {"delivery": "negative"})
    d = delta(old, new)
    assert set(d) == set(old.buckets)
    for incs in d.values():
        assert incs == {"sentiment.negative": -1, "sentiment.positive": 1}


def test_aspect_added_and_removed() -> None:
    d = delta(contrib(aspects={"price": "negative"}), contrib(aspects={"delivery": "positive"}))
    for incs in d.values():
        assert incs == {"aspects.price.negative": -1, "aspects.delivery.positive": 1}


def test_moving_in_time_moves_between_buckets() -> None:
    old = contrib(at=T)
    new = contrib(at=T + timedelta(hours=1))
    d = delta(old, new)
    # Same day: the day bucket is untouched; the volume moves from hour 05 to hour 06.
    assert set(d) == {"acme|hour|2026-11-22T05", "acme|hour|2026-11-22T06"}
    assert d["acme|hour|2026-11-22T05"]["volume"] == -1
    assert d["acme|hour|2026-11-22T06"]["volume"] == 1


def test_chained_deltas_sum_to_the_final_contribution() -> None:
    steps = [EMPTY, contrib("negative"), contrib("positive", {"x": "neutral"}), contrib("positive")]
    totals: dict[str, dict[str, int]] = {}
    for old, new in pairwise(steps):
        for bucket, incs in delta(old, new).items():
            acc = totals.setdefault(bucket, {})
            for k, v in incs.items():
                acc[k] = acc.get(k, 0) + v
    final = {b: {k: v for k, v in c.items() if v} for b, c in totals.items()}
    assert final == {b: dict(c) for b, c in steps[-1].expand().items()}


def test_bucket_ids_round_trip() -> None:
    bid = bucket_id("acme", HOUR, T)
    assert parse_bucket_id(bid) == ("acme", HOUR, datetime(2026, 11, 22, 5, tzinfo=UTC))
    assert parse_bucket_id(bucket_id("acme", DAY, T))[2] == datetime(2026, 11, 22, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_bucket_id("acme|week|2026-11-22")


def test_bucket_ranges() -> None:
    start, end = datetime(2026, 11, 22, 5, 30, tzinfo=UTC), datetime(2026, 11, 22, 8, tzinfo=UTC)
    assert [t.hour for t in bucket_starts(start, end, HOUR)] == [5, 6, 7]
    assert bucket_count(start, end, HOUR) == 3
    assert bucket_count(start, end + timedelta(seconds=1), HOUR) == 4
    assert bucket_count(start, end, DAY) == 1
    assert bucket_count(end, start, HOUR) == 0


def test_summary_spans_use_days_inside_and_hours_at_the_edges() -> None:
    start = datetime(2026, 11, 20, 22, 15, tzinfo=UTC)
    end = datetime(2026, 11, 23, 1, 10, tzinfo=UTC)
    assert summary_spans(start, end) == [
        Span(HOUR, datetime(2026, 11, 20, 22, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)),
        Span(DAY, datetime(2026, 11, 21, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)),
        Span(HOUR, datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 23, 2, tzinfo=UTC)),
    ]
    short = summary_spans(T, T + timedelta(hours=3))
    assert short == [Span(HOUR, datetime(2026, 11, 22, 5, tzinfo=UTC), datetime(2026, 11, 22, 9, tzinfo=UTC))]
    aligned = summary_spans(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
    assert aligned == [Span(DAY, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))]


def test_summing_rollup_documents() -> None:
    docs = [
        {"volume": 2, "sentiment": {"negative": 2}, "aspects": {"price": {"negative": 1}},
         "platform": {"x": 2}, "language": {"id": 2}},
        {"volume": 3, "sentiment": {"negative": 1, "positive": 2},
         "aspects": {"price": {"positive": 1}, "delivery": {"negative": 2}, "gone": {"neutral": 0}},
         "platform": {"x": 1, "reddit": 2}, "language": {"en": 2}},
    ]
    t = sum_docs(docs)
    assert t.volume == 5 and t.sentiment["negative"] == 3 and t.sentiment["positive"] == 2
    assert [name for name, _ in t.aspects_by_negative()] == ["delivery", "price"]
    assert sorted_counts(t.platforms) == [("x", 3), ("reddit", 2)]
    # Ties are broken by key.
    assert sorted_counts(t.languages) == [("en", 2), ("id", 2)]
