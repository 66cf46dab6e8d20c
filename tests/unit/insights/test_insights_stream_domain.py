"""The live stream's pure parts: positions, the in-memory filter, sent-revision memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dengar_common.errors import InvalidArgument
from dengar_insights.domain.search import SearchQuery
from dengar_insights.domain.stream import SentRevisions, format_position, matches, parse_position

T = datetime(2026, 11, 22, 5, 30, tzinfo=UTC)
DOC = {"_id": "m1", "tenant_id": "acme", "created_at": T, "sentiment": {"label": "negative"},
       "platform": "x", "language": "id", "aspects": [{"name": "delivery"}, {"name": "price"}],
       "query_ids": ["q_1"], "category_ids": ["c_1"], "terms": ["pengiriman", "lambat"]}


@pytest.mark.parametrize(("text", "want"), [("", None), ("  ", None), ("0", 0), ("42", 42),
                                            (" 7 ", 7), (str(2**64 - 1), 2**64 - 1)])
def test_positions_parse(text: str, want: int | None) -> None:
    assert parse_position(text) == want


@pytest.mark.parametrize("text", ["-1", "abc", "1.5", "0x10", "١٢", str(2**64), "9" * 21, "1 2"])
def test_bad_positions_name_the_field(text: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_position(text, field="last_event_id")
    assert err.value.field == "last_event_id"


def test_positions_round_trip() -> None:
    assert parse_position(format_position(123456789)) == 123456789


@pytest.mark.parametrize(("query", "want"), [
    (SearchQuery(), True),
    (SearchQuery(sentiments=("negative", "neutral")), True),
    (SearchQuery(sentiments=("positive",)), False),
    (SearchQuery(platforms=("reddit",)), False),
    (SearchQuery(languages=("id",), platforms=("x",)), True),
    (SearchQuery(aspects=("price",)), True),
    (SearchQuery(aspects=("staff",)), False),
    (SearchQuery(query_ids=("q_2", "q_1")), True),
    (SearchQuery(query_ids=("q_2",)), False),
    (SearchQuery(category_ids=("c_2",)), False),
    (SearchQuery(terms=("lambat", "pengiriman")), True),
    (SearchQuery(terms=("lambat", "cepat")), False),
    (SearchQuery(start=T), True),
    (SearchQuery(start=T + timedelta(milliseconds=1)), False),
    (SearchQuery(end=T), False),
    (SearchQuery(end=T + timedelta(seconds=1)), True),
])
def test_matches_is_the_search_filter(query: SearchQuery, want: bool) -> None:
    assert matches(query, DOC) is want


def test_a_mention_without_the_filtered_field_does_not_match() -> None:
    bare = {"_id": "m2", "tenant_id": "acme"}
    assert matches(SearchQuery(), bare)
    assert not matches(SearchQuery(sentiments=("negative",)), bare)
    assert not matches(SearchQuery(start=T), bare)


WORKED = {**DOC, "workflow": {"state": "resolved", "assignee": "dina", "tags": ["refund", "vip"],
                               "version": 2}}


@pytest.mark.parametrize(("query", "doc", "want"), [
    (SearchQuery(states=("resolved",)), WORKED, True),
    (SearchQuery(states=("open", "in_progress")), WORKED, False),
    (SearchQuery(assignees=("dina", "budi")), WORKED, True),
    (SearchQuery(assignees=("budi",)), WORKED, False),
    (SearchQuery(tags=("vip",)), WORKED, True),
    (SearchQuery(tags=("late",)), WORKED, False),
    (SearchQuery(states=("resolved",), assignees=("dina",), tags=("late",)), WORKED, False),
    # A mention never touched is open, unassigned and untagged.
    (SearchQuery(states=("open",)), DOC, True),
    (SearchQuery(states=("resolved",)), DOC, False),
    (SearchQuery(assignees=("dina",)), DOC, False),
    (SearchQuery(tags=("refund",)), DOC, False),
])
def test_matches_applies_the_inbox_filters(query: SearchQuery, doc: dict[str, object], want: bool) -> None:
    assert matches(query, doc) is want


def test_sent_revisions_remember_pairs_up_to_capacity() -> None:
    sent = SentRevisions(capacity=2)
    assert sent.first_time("m1", "h1")
    assert not sent.first_time("m1", "h1")
    assert sent.first_time("m1", "h2")  # a new revision is new
    assert sent.first_time("m2", "h1")  # evicts (m1, h1), the least recently offered
    assert sent.first_time("m1", "h1")
