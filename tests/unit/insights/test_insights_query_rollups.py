"""Per-listening-query rollup counters: contributions, deltas, reading back, share of voice (pure)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from dengar_insights.domain.rollups import (
    EMPTY,
    Contribution,
    Totals,
    contribution_of,
    delta,
    query_part,
    sum_docs,
)
from dengar_insights.domain.search import SearchQuery
from dengar_insights.domain.share import net_sentiment, share_of_voice
from dengar_insights.entrypoints.protos import prepare_enriched

T = datetime(2026, 11, 22, 5, 30, 12, tzinfo=UTC)
OWN = {"volume", "sentiment.negative", "aspects.delivery.negative", "platform.x", "language.id"}


def contrib(*query_ids: str, sentiment: str = "negative") -> Contribution:
    return contribution_of("acme", T, sentiment=sentiment, aspects={"delivery": "negative"},
                           platform="x", language="id", query_ids=query_ids)


def test_every_tag_repeats_the_mention_counters_under_its_query() -> None:
    c = contrib("q_brand", "q_rival")
    expected = OWN | {f"queries.{q}.{k}" for q in ("q_brand", "q_rival") for k in OWN}
    assert set(c.counters) == expected
    # Untagged mentions keep exactly the tenant-wide counters they always had.
    assert set(contrib().counters) == OWN


def test_tags_are_canonical_and_safe() -> None:
    assert contrib("b", "a", "a") == contrib("a", "b")
    odd = contrib("q.1", "$x", "  ")
    assert {c.split(".")[1] for c in odd.counters if c.startswith("queries.")} == {"q_1", "_x"}


def test_new_tagged_mention_adds_one_per_query_and_once_tenant_wide() -> None:
    d = delta(EMPTY, contrib("a", "b"))
    for incs in d.values():
        assert incs["volume"] == 1 and incs["queries.a.volume"] == 1 and incs["queries.b.volume"] == 1
        assert set(incs.values()) == {1}


def test_identical_redelivery_adds_nothing() -> None:
    assert delta(contrib("a", "b"), contrib("b", "a")) == {}


def test_retagging_moves_counts_between_queries_only() -> None:
    d = delta(contrib("a", "b"), contrib("b", "c"))
    assert set(d) == set(contrib().buckets)
    for incs in d.values():
        assert incs == {**{f"queries.a.{k}": -1 for k in OWN}, **{f"queries.c.{k}": 1 for k in OWN}}
    # Dropping every tag takes the mention out of the query, not out of the tenant's counts.
    for incs in delta(contrib("a"), contrib()).values():
        assert all(k.startswith("queries.a.") and n == -1 for k, n in incs.items())


def test_sentiment_change_moves_the_query_counts_too() -> None:
    d = delta(contrib("a", sentiment="negative"), contrib("a", sentiment="positive"))
    for incs in d.values():
        assert incs == {"sentiment.negative": -1, "sentiment.positive": 1,
                        "queries.a.sentiment.negative": -1, "queries.a.sentiment.positive": 1}


def test_chained_retags_sum_to_the_final_contribution() -> None:
    steps = [EMPTY, contrib("a"), contrib("a", "b"), contrib("c", sentiment="positive"), contrib("c")]
    totals: dict[str, Counter[str]] = {}
    for old, new in pairwise(steps):
        for bucket, incs in delta(old, new).items():
            totals.setdefault(bucket, Counter()).update(incs)
    final = {b: {k: n for k, n in c.items() if n} for b, c in totals.items()}
    assert final == {b: dict(c) for b, c in steps[-1].expand().items()}


def test_prepare_uses_the_posts_query_ids(make_enriched) -> None:
    m = prepare_enriched(make_enriched(query_ids=["q_a", "q_b"]))
    assert m.fields["query_ids"] == ["q_a", "q_b"]
    assert "queries.q_a.volume" in m.contribution.counters
    assert "queries.q_b.sentiment.positive" in m.contribution.counters
    # Re-tagged, the same post is a different payload and a different contribution.
    other = prepare_enriched(make_enriched(query_ids=["q_b"]))
    assert other.content_hash != m.content_hash and other.contribution != m.contribution


def test_reading_one_querys_counters_back() -> None:
    docs = [
        {"volume": 3, "sentiment": {"negative": 3},
         "queries": {"a": {"volume": 2, "sentiment": {"negative": 2}, "aspects": {"price": {"negative": 1}},
                           "platform": {"x": 2}, "language": {"id": 2}},
                     "b": {"volume": 1, "sentiment": {"negative": 1}}}},
        {"volume": 1, "sentiment": {"positive": 1},
         "queries": {"a": {"volume": 1, "sentiment": {"positive": 1}, "platform": {"reddit": 1}}}},
        {"volume": 4},
    ]
    a = sum_docs(docs, "a")
    assert (a.volume, a.sentiment["negative"], a.sentiment["positive"]) == (3, 2, 1)
    assert a.platforms == {"x": 2, "reddit": 1} and a.aspects["price"]["negative"] == 1
    assert sum_docs(docs, "b").volume == 1 and sum_docs(docs, "nobody").volume == 0
    # The tenant-wide totals ignore the per-query counters.
    assert sum_docs(docs).volume == 8
    assert query_part({"queries": {"q_1": {"volume": 5}}}, "q.1") == {"volume": 5}


def totals(volume: int, neg: int = 0, neu: int = 0, pos: int = 0) -> Totals:
    return Totals(volume=volume, sentiment=Counter(negative=neg, neutral=neu, positive=pos))


def test_share_of_voice_in_request_order() -> None:
    items, total = share_of_voice([("rival", totals(1, neg=1)), ("brand", totals(3, neu=1, pos=2)),
                                   ("quiet", totals(0))])
    assert total == 4 and [i.query_id for i in items] == ["rival", "brand", "quiet"]
    assert [i.share for i in items] == [0.25, 0.75, 0.0]
    assert [i.net_sentiment for i in items] == [-1.0, pytest.approx(2 / 3), 0.0]
    assert (items[1].negative, items[1].neutral, items[1].positive) == (0, 1, 2)
    empty, zero = share_of_voice([("a", totals(0)), ("b", totals(0))])
    assert zero == 0 and [i.share for i in empty] == [0.0, 0.0]


def test_net_sentiment_bounds() -> None:
    assert net_sentiment(5, 0, 5) == 1.0 and net_sentiment(0, 5, 5) == -1.0
    assert net_sentiment(0, 0, 0) == 0.0 and net_sentiment(1, 1, 4) == 0.0


def test_query_filter_is_part_of_the_cursor_fingerprint_only_when_set() -> None:
    plain = SearchQuery(sentiments=("negative",))
    assert SearchQuery(sentiments=("negative",), query_ids=()).fingerprint() == plain.fingerprint()
    a = SearchQuery(sentiments=("negative",), query_ids=("a",))
    assert a.fingerprint() != plain.fingerprint()
    assert a.fingerprint() != SearchQuery(sentiments=("negative",), query_ids=("b",)).fingerprint()
