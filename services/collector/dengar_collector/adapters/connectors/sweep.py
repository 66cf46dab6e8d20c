"""Resumable "everything since last time" over newest-first, paginated APIs.

Most platform searches return the newest items first and page towards older ones. Collecting what is new
since the last run therefore means a *sweep*: start at the newest page and walk back until reaching what
was already collected (the *floor*). Only when a sweep completes does the floor move up to the newest item
the sweep saw (the *top*); a cursor saved in the middle of a sweep keeps the old floor and the page token,
so a restart carries on exactly where it stopped: nothing between the old floor and the page is skipped,
and nothing already returned is returned again. Items published during a sweep are newer than its top and
are picked up by the next one.

Each item has an integer sort *key* (a numeric id, or a timestamp in seconds or microseconds) and an id.
With timestamp keys the platform may list an item late (indexing delay) with an older timestamp than
items already collected, so the floor keeps an *overlap* window: ids collected with a key in
``[key - overlap, key]`` are remembered, the next sweep asks the platform for everything from the bottom
of that window, and items in it are returned only if not remembered. With numeric ids (monotonic)
the overlap is 0 and the window holds the newest id(s) only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from dengar_collector.adapters.connectors.base import CollectedPost, Cursor, InvalidCursorError, ItemError

CURSOR_VERSION = 1
# Ids remembered in the overlap window; past this, the window shrinks from the bottom (so at worst an
# item listed late beyond the shrunken window is missed, never one collected twice).
DEFAULT_MAX_RECENT = 2000


@dataclass(frozen=True)
class Entry:
    """The position of one item of a page. ``created_at`` enforces the first run's backfill limit."""

    key: int
    id: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class Mark:
    """Everything with ``key < low`` and every id in ``recent`` (with its key) has been collected."""

    key: int
    low: int
    recent: dict[str, int] = field(default_factory=dict)

    def covers(self, entry: Entry) -> bool:
        return entry.key < self.low or entry.id in self.recent

    def is_bottom(self, entry: Entry) -> bool:
        """The entry is at or below the bottom of the window and collected: older pages hold nothing new."""
        return entry.key < self.low or (entry.key == self.low and entry.id in self.recent)

    def to_json(self) -> dict[str, Any]:
        # Keys as strings (64-bit ids do not survive JavaScript or every JSON store), and pairs rather than
        # an object because ids contain dots that some document stores refuse in field names.
        return {"key": str(self.key), "low": str(self.low),
                "recent": [[i, str(k)] for i, k in self.recent.items()]}

    @classmethod
    def from_json(cls, data: Any) -> Mark:
        if not isinstance(data, dict):
            raise ValueError("mark must be an object")
        recent = {str(i): int(k) for i, k in data.get("recent", [])}
        return cls(int(data["key"]), int(data["low"]), recent)


def merge_marks(base: Mark | None, entries: Sequence[Entry], *, overlap: int,
                max_recent: int = DEFAULT_MAX_RECENT, floor_low: int | None = None) -> Mark | None:
    """``base`` moved up to include ``entries`` (all of which are collected).

    ``floor_low`` raises the bottom of the window (used when merging a mark whose window was shrunk).
    """
    if base is None and not entries:
        return None
    recent: dict[str, int] = dict(base.recent) if base else {}
    for entry in entries:
        recent[entry.id] = entry.key
    key = max([*(e.key for e in entries), *([base.key] if base else [])])
    low = max(key - overlap, base.low if base else key - overlap, floor_low if floor_low is not None
              else key - overlap)
    recent = {i: k for i, k in recent.items() if k >= low}
    if len(recent) > max_recent:
        ranked = sorted(recent.values(), reverse=True)
        cutoff = ranked[max_recent]
        # Everything at the cutoff key goes too, so that "key < low means collected" stays exact.
        low = cutoff + 1
        recent = {i: k for i, k in recent.items() if k >= low}
    return Mark(key, low, recent)


@dataclass(frozen=True)
class SweepStep:
    # One flag per entry passed to ``advance``: collect it (not seen before, not older than the backfill).
    fresh: list[bool]
    cursor: SweepCursor
    # The sweep continues on the next fetch (a page token is stored).
    more: bool


@dataclass(frozen=True)
class SweepCursor:
    floor: Mark | None = None
    # First run only (no floor yet): nothing older than this (epoch seconds) is collected.
    not_before: float | None = None
    # Pagination state of the sweep in progress (JSON), ``None`` between sweeps.
    page: Any = None
    top: Mark | None = None
    # Connector-specific JSON state that lives alongside (e.g. the page's fixed upper bound).
    extra: dict[str, Any] = field(default_factory=dict)
    # Ids taken by the sweep in progress: offset-paged platforms repeat items when new ones push the
    # pages down, and those repeats may be far below the top's overlap window.
    taken: tuple[str, ...] = ()

    @classmethod
    def start(cls, now: float, backfill_s: float) -> SweepCursor:
        return cls(not_before=now - backfill_s)

    @classmethod
    def load(cls, cursor: Cursor | None, *, kind: str, now: float, backfill_s: float) -> SweepCursor:
        """Read a stored cursor, or start a first run when there is none."""
        if cursor is None:
            return cls.start(now, backfill_s)
        try:
            if cursor.get("v") != CURSOR_VERSION or cursor.get("kind") != kind:
                raise ValueError(f"expected a v{CURSOR_VERSION} {kind} cursor")
            floor = Mark.from_json(cursor["floor"]) if cursor.get("floor") else None
            top = Mark.from_json(cursor["top"]) if cursor.get("top") else None
            not_before = cursor.get("not_before")
            extra = cursor.get("extra") or {}
            if not isinstance(extra, dict):
                raise ValueError("extra must be an object")
            taken = cursor.get("taken") or []
            if not isinstance(taken, list):
                raise ValueError("taken must be a list")
            return cls(floor, None if not_before is None else float(not_before), cursor.get("page"), top,
                       extra, tuple(str(t) for t in taken))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidCursorError(f"unusable cursor: {exc}") from None

    def dump(self, *, kind: str) -> Cursor:
        return {
            "v": CURSOR_VERSION, "kind": kind,
            "floor": self.floor.to_json() if self.floor else None,
            "not_before": self.not_before,
            "page": self.page,
            "top": self.top.to_json() if self.top else None,
            "extra": dict(self.extra),
            "taken": list(self.taken),
        }

    @property
    def in_progress(self) -> bool:
        return self.page is not None

    def lower_bound(self) -> int | None:
        """The lowest key the platform needs to return (inclusive), if the platform can filter on it."""
        return self.floor.low if self.floor else None

    def is_old(self, entry: Entry) -> bool:
        return (self.not_before is not None and entry.created_at is not None
                and entry.created_at.timestamp() < self.not_before)

    def advance(self, entries: Sequence[Entry | None], next_page: Any, *, overlap: int = 0,
                max_recent: int = DEFAULT_MAX_RECENT, extra: dict[str, Any] | None = None) -> SweepStep:
        """Account for one page (newest first). ``None`` entries (unkeyed, malformed) are skipped.

        ``next_page`` is the token for the next older page, ``None`` when the platform has no more.
        Malformed items that have a key should be passed too, so that they are not fetched again.
        """
        fresh: list[bool] = []
        seen: list[Entry] = []
        reached_bottom = False
        for entry in entries:
            if entry is None:
                fresh.append(False)
                continue
            if self.is_old(entry) or (self.floor is not None and self.floor.is_bottom(entry)):
                reached_bottom = True
            new = (not self.is_old(entry)
                   and not (self.floor is not None and self.floor.covers(entry))
                   and entry.id not in self.taken)
            fresh.append(new)
            if new:
                seen.append(entry)
        top = merge_marks(self.top, seen, overlap=overlap, max_recent=max_recent)
        # An empty page ends the sweep even with a token: some platforms hand out tokens past the last
        # result, and following them would never end.
        if next_page is not None and not reached_bottom and entries:
            taken = (*self.taken, *(e.id for e in seen))[-max_recent:]
            return SweepStep(fresh, replace(self, page=next_page, top=top, taken=taken,
                                            extra=self.extra if extra is None else extra), True)
        floor = self.floor
        if top is not None:
            merged = merge_marks(floor, [Entry(k, i) for i, k in top.recent.items()], overlap=overlap,
                                 max_recent=max_recent, floor_low=top.low)
            if merged is None or merged.key < top.key:
                # Only when the top's window was shrunk to nothing: its key and low still hold.
                kept = {i: k for i, k in (merged.recent if merged else {}).items() if k >= top.low}
                merged = Mark(top.key, top.low, kept)
            floor = merged
        done = SweepCursor(floor=floor, not_before=None if floor is not None else self.not_before)
        return SweepStep(fresh, done, False)


def select(sweep: SweepCursor, entries: Sequence[Entry | None], posts: Sequence[CollectedPost | None],
           errors: Sequence[ItemError], next_page: Any, *, overlap: int = 0,
           extra: dict[str, Any] | None = None) -> tuple[list[CollectedPost], list[ItemError], SweepStep]:
    """Advance ``sweep`` over one mapped page; keep the fresh posts and the errors of fresh items.

    ``entries`` and ``posts`` line up with the raw page (``None`` where unkeyed or unmapped). An error
    about an item the sweep already had (an overlap repeat) is not reported twice.
    """
    step = sweep.advance(entries, next_page, overlap=overlap, extra=extra)
    kept = [p for p, fresh in zip(posts, step.fresh, strict=True) if p is not None and fresh]
    reported = [e for e in errors
                if not 0 <= e.index < len(entries) or entries[e.index] is None or step.fresh[e.index]]
    return kept, reported, step
