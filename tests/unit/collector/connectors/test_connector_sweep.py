"""The resumable sweep behind every paginated connector: no gap, no duplicate, across restarts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dengar_collector.adapters.connectors.base import InvalidCursorError
from dengar_collector.adapters.connectors.sweep import Entry, Mark, SweepCursor, merge_marks

NOW = 1_800_000_000.0


@dataclass
class FakeApi:
    """A newest-first search over a growing set of (key, id) items.

    mode "since": the platform filters key > since and pages by key (X, Mastodon);
    mode "unbounded": no server-side lower bound, pages by key (Reddit listings);
    mode "offset": inclusive lower bound, numbered/offset pages that shift as items arrive, timestamp
    keys with ties and late arrivals (Bluesky, HN, YouTube).
    """

    mode: str
    items: list[tuple[int, str]] = field(default_factory=list)
    next_key: int = 1000
    serial: int = 0

    def publish(self, n: int, late: int = 0) -> None:
        for _ in range(n):
            self.serial += 1
            if self.mode == "offset":
                # Timestamps: several items may share a second, and some are listed late, up to `late`
                # seconds in the past.
                self.next_key += self.serial % 2
                key = self.next_key - late
            else:
                self.next_key += 7
                key = self.next_key
            self.items.append((key, f"i{self.serial}"))

    def page(self, lower: int | None, token: object, size: int) -> tuple[list[tuple[int, str]], object]:
        ordered = sorted(self.items, key=lambda kv: (kv[0], kv[1]), reverse=True)
        if self.mode == "since" and lower is not None:
            ordered = [kv for kv in ordered if kv[0] > lower]
        if self.mode == "offset":
            if lower is not None:
                ordered = [kv for kv in ordered if kv[0] >= lower]
            offset = int(token) if token is not None else 0
            chunk = ordered[offset:offset + size]
            more = offset + size < len(ordered)
            return chunk, (offset + size if more else None)
        if token is not None:
            ordered = [kv for kv in ordered if kv[0] < int(token)]
        chunk = ordered[:size]
        return chunk, (chunk[-1][0] if len(ordered) > size else None)


def fetch(api: FakeApi, cursor: dict | None, limit: int, overlap: int) -> tuple[list[str], dict, bool]:
    sweep = SweepCursor.load(cursor, kind="test", now=NOW, backfill_s=10 ** 9)
    lower: int | None
    if api.mode == "since":
        lower = sweep.floor.key if sweep.floor else None
    else:
        lower = sweep.lower_bound()
    chunk, token = api.page(lower, sweep.page, limit)
    created = datetime.fromtimestamp(NOW, tz=UTC)
    step = sweep.advance([Entry(k, i, created) for k, i in chunk], token, overlap=overlap)
    delivered = [i for (_, i), fresh in zip(chunk, step.fresh, strict=True) if fresh]
    # Every cursor goes through JSON, as it does through the store.
    return delivered, json.loads(json.dumps(step.cursor.dump(kind="test"))), step.more


def drain(api: FakeApi, cursor: dict | None, limit: int, overlap: int) -> tuple[list[str], dict | None]:
    got: list[str] = []
    for _ in range(10_000):
        delivered, cursor, more = fetch(api, cursor, limit, overlap)
        got += delivered
        if not more:
            break
    return got, cursor


OPS = st.lists(st.one_of(
    st.tuples(st.just("publish"), st.integers(1, 9), st.integers(0, 4)),
    st.tuples(st.just("fetch"), st.integers(1, 6), st.just(0)),
), min_size=1, max_size=40)


@pytest.mark.parametrize("mode", ["since", "unbounded", "offset"])
@settings(max_examples=60, deadline=None)
@given(ops=OPS)
def test_every_item_is_delivered_exactly_once(mode: str, ops: list[tuple[str, int, int]]) -> None:
    api = FakeApi(mode)
    overlap = 5 if mode == "offset" else 0
    cursor: dict | None = None
    delivered: list[str] = []
    for op, n, late in ops:
        if op == "publish":
            api.publish(n, late if mode == "offset" else 0)
        else:
            got, cursor, _ = fetch(api, cursor, n, overlap)
            delivered += got
    # Finish the sweep in progress; items published while it ran belong to the next sweep, which
    # starts after the last publication and must find them all.
    for _ in range(2):
        got, cursor = drain(api, cursor, 3, overlap)
        delivered += got
    assert len(delivered) == len(set(delivered)), "an item was delivered twice"
    assert sorted(delivered) == sorted(i for _, i in api.items), "an item was never delivered"
    # Nothing new: a further fetch returns nothing.
    again, _ = drain(api, cursor, 3, overlap)
    assert again == []


def test_a_saved_mid_sweep_cursor_resumes_the_backfill() -> None:
    api = FakeApi("since")
    api.publish(10)
    first, cursor, more = fetch(api, None, 4, 0)
    assert more and cursor["page"] is not None and cursor["floor"] is None
    api.publish(3)  # arrives during the sweep: belongs to the next one
    rest, cursor = drain(api, cursor, 4, 0)
    assert len(first) + len(rest) == 10
    newer, _ = drain(api, cursor, 4, 0)
    assert len(newer) == 3


def test_first_run_stops_at_the_backfill_limit() -> None:
    sweep = SweepCursor.start(NOW, 3600)
    old = datetime.fromtimestamp(NOW - 7200, tz=UTC)
    recent = datetime.fromtimestamp(NOW - 60, tz=UTC)
    step = sweep.advance([Entry(30, "c", recent), Entry(20, "b", old), Entry(10, "a", old)], next_page="x")
    assert step.fresh == [True, False, False]
    # An item older than the window means the rest is older too: the sweep ends.
    assert not step.more and step.cursor.floor is not None and step.cursor.floor.key == 30


def test_an_empty_page_ends_the_sweep_even_with_a_token() -> None:
    step = SweepCursor(floor=Mark(5, 5, {"e": 5})).advance([], next_page="more")
    assert not step.more and step.cursor.floor == Mark(5, 5, {"e": 5})


def test_unkeyed_entries_are_never_fresh_and_do_not_move_the_floor() -> None:
    step = SweepCursor(floor=Mark(5, 5, {"e": 5})).advance([None, Entry(9, "n")], next_page=None)
    assert step.fresh == [False, True]
    assert step.cursor.floor is not None and step.cursor.floor.key == 9


def test_the_overlap_window_is_bounded() -> None:
    entries = [Entry(100 + i // 3, f"id{i}") for i in range(30)]
    mark = merge_marks(None, entries, overlap=1000, max_recent=10)
    assert mark is not None and len(mark.recent) <= 10
    # Whatever fell out of the window is below "low", i.e. still counts as collected.
    assert all(mark.covers(e) for e in entries)


@pytest.mark.parametrize("cursor", [
    {"v": 99, "kind": "test"},
    {"v": 1, "kind": "other"},
    {"v": 1, "kind": "test", "floor": {"key": "x", "low": "1"}},
    {"v": 1, "kind": "test", "taken": "nope"},
])
def test_foreign_or_broken_cursors_are_refused(cursor: dict) -> None:
    with pytest.raises(InvalidCursorError):
        SweepCursor.load(cursor, kind="test", now=NOW, backfill_s=60)


def test_cursor_round_trips_through_json_with_64_bit_ids_as_strings() -> None:
    big = 1_861_500_000_000_000_005
    sweep = SweepCursor(floor=Mark(big, big, {str(big): big}), page="tok", top=Mark(big + 1, big + 1, {}))
    dumped = sweep.dump(kind="test")
    assert dumped["floor"]["key"] == str(big)
    assert SweepCursor.load(json.loads(json.dumps(dumped)), kind="test", now=NOW, backfill_s=0) == sweep
