"""What a mention adds to the hourly and daily rollups, and the delta between two such additions.

A mention's *contribution* is the set of rollup buckets it falls in (its hour and its day, UTC) and
the counters it adds one to in each of them: ``volume``, ``sentiment.<label>``,
``aspects.<name>.<polarity>``, ``platform.<name>`` and ``language.<code>``, and the same counters
again under ``queries.<query id>.`` for every listening query the mention is tagged with (so that
per-brand time series, summaries and share of voice read rollups too), and under
``categories.<category id>.`` for every category of the tenant it belongs to. Rollups therefore equal
the sum of the contributions of the mentions currently stored, as long as each change of a
mention's contribution is applied once as the delta ``new - old`` (see service_layer/ingest.py for
how that is made exactly-once). A mention re-tagged with other queries therefore moves its counts from
the old queries to the new ones, and one tagged with two queries counts once in each of them (and
once in the tenant-wide counters).

Everything here is pure so that it can be tested without a store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

HOUR = "hour"
DAY = "day"
INTERVALS: dict[str, timedelta] = {HOUR: timedelta(hours=1), DAY: timedelta(days=1)}
# How many recent op ids each rollup document remembers. A finisher that resumes an op later skips
# the buckets its mention marked as done, so this only has to cover concurrent finishers of one op
# and the short gap between a bucket update and its mark (see service_layer/ingest.py). At ~33
# bytes an id, the op log stays under 70 KB per bucket document.
OPS_WINDOW = 2000

_BUCKET_FORMATS = {HOUR: "%Y-%m-%dT%H", DAY: "%Y-%m-%d"}


def safe_key(value: str) -> str:
    """A counter path component: no dots or dollars, which MongoDB would read as paths/operators."""
    cleaned = value.strip().replace(".", "_").replace("$", "_")
    return cleaned or "unknown"


def floor_time(t: datetime, interval: str) -> datetime:
    """Start of the UTC bucket containing ``t``."""
    t = t.astimezone(UTC)
    if interval == HOUR:
        return t.replace(minute=0, second=0, microsecond=0)
    if interval == DAY:
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    raise ValueError(f"unknown interval {interval!r}")


def ceil_time(t: datetime, interval: str) -> datetime:
    floored = floor_time(t, interval)
    return floored if floored == t.astimezone(UTC) else floored + INTERVALS[interval]


def bucket_starts(start: datetime, end: datetime, interval: str) -> list[datetime]:
    """Starts of every bucket overlapping [start, end)."""
    step = INTERVALS[interval]
    out = []
    t = floor_time(start, interval)
    while t < end:
        out.append(t)
        t += step
    return out


def bucket_count(start: datetime, end: datetime, interval: str) -> int:
    """How many buckets overlap [start, end), without building them (for the request limit)."""
    if end <= start:
        return 0
    first = floor_time(start, interval)
    step = INTERVALS[interval]
    return -(-(end - first) // step)


def bucket_id(tenant_id: str, interval: str, start: datetime) -> str:
    return f"{tenant_id}|{interval}|{floor_time(start, interval).strftime(_BUCKET_FORMATS[interval])}"


def parse_bucket_id(value: str) -> tuple[str, str, datetime]:
    """(tenant_id, interval, bucket start) of a bucket id; ValueError when malformed."""
    tenant_id, interval, stamp = value.split("|")
    if interval not in _BUCKET_FORMATS:
        raise ValueError(f"bad bucket interval in {value!r}")
    start = datetime.strptime(stamp, _BUCKET_FORMATS[interval]).replace(tzinfo=UTC)
    return tenant_id, interval, start


@dataclass(frozen=True)
class Contribution:
    """Buckets a mention is counted in and the counters it adds one to in each of them."""

    buckets: tuple[str, ...] = ()
    counters: tuple[str, ...] = ()

    def expand(self) -> dict[str, Counter[str]]:
        return {b: Counter(self.counters) for b in self.buckets}

    def to_doc(self) -> dict[str, list[str]]:
        return {"buckets": list(self.buckets), "counters": list(self.counters)}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any] | None) -> Contribution:
        if not doc:
            return EMPTY
        return cls(tuple(doc.get("buckets") or ()), tuple(doc.get("counters") or ()))


EMPTY = Contribution()


QUERIES = "queries"


def query_key(query_id: str) -> str:
    """The field under ``queries`` that holds one listening query's counters."""
    return safe_key(query_id)


def query_counters_path(query_id: str) -> str:
    return f"{QUERIES}.{query_key(query_id)}"


CATEGORIES = "categories"


def category_counters_path(category_id: str) -> str:
    return f"{CATEGORIES}.{safe_key(category_id)}"


def contribution_of(tenant_id: str, created_at: datetime, *, sentiment: str,
                    aspects: Mapping[str, str], platform: str, language: str,
                    query_ids: Iterable[str] = (), category_ids: Iterable[str] = ()) -> Contribution:
    """The rollup contribution of one mention.

    ``aspects`` maps aspect name to polarity label; each aspect counts once per mention.
    ``query_ids`` are the listening queries the mention is tagged with; each counts once.
    ``category_ids`` are the tenant's categories it belongs to; each counts once.
    """
    own = ["volume", f"sentiment.{safe_key(sentiment)}"]
    own += [f"aspects.{safe_key(name)}.{safe_key(pol)}" for name, pol in sorted(aspects.items())]
    own += [f"platform.{safe_key(platform)}", f"language.{safe_key(language or 'und')}"]
    counters = list(own)
    for key in {query_key(q) for q in query_ids if q.strip()}:
        counters += [f"{QUERIES}.{key}.{c}" for c in own]
    for key in {safe_key(c) for c in category_ids if c.strip()}:
        counters += [f"{CATEGORIES}.{key}.{c}" for c in own]
    # Sorted and de-duplicated so that equal contributions compare equal.
    buckets = (bucket_id(tenant_id, HOUR, created_at), bucket_id(tenant_id, DAY, created_at))
    return Contribution(buckets, tuple(sorted(set(counters))))


def delta(old: Contribution, new: Contribution) -> dict[str, dict[str, int]]:
    """Per bucket, the non-zero counter increments that turn ``old`` into ``new``."""
    before, after = old.expand(), new.expand()
    out: dict[str, dict[str, int]] = {}
    for bucket in sorted(set(before) | set(after)):
        diff: Counter[str] = Counter(after.get(bucket, Counter()))
        diff.subtract(before.get(bucket, Counter()))
        incs = {path: n for path, n in sorted(diff.items()) if n}
        if incs:
            out[bucket] = incs
    return out


# -- reading rollups back -------------------------------------------------------------------------


@dataclass
class Totals:
    """Counters summed over some rollup documents."""

    volume: int = 0
    sentiment: Counter[str] = field(default_factory=Counter)
    aspects: dict[str, Counter[str]] = field(default_factory=dict)
    platforms: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)

    def add(self, doc: Mapping[str, Any]) -> None:
        self.volume += int(doc.get("volume", 0))
        for label, n in (doc.get("sentiment") or {}).items():
            self.sentiment[label] += int(n)
        for name, pols in (doc.get("aspects") or {}).items():
            acc = self.aspects.setdefault(name, Counter())
            for pol, n in pols.items():
                acc[pol] += int(n)
        for name, n in (doc.get("platform") or {}).items():
            self.platforms[name] += int(n)
        for code, n in (doc.get("language") or {}).items():
            self.languages[code] += int(n)

    def aspects_by_negative(self) -> list[tuple[str, Counter[str]]]:
        """Aspects with any count, most negative first (ties: more mentions, then name)."""
        items = [(name, c) for name, c in self.aspects.items() if any(c.values())]
        return sorted(items, key=lambda kv: (-kv[1]["negative"], -sum(kv[1].values()), kv[0]))


def sorted_counts(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Non-zero counts, largest first, then by key."""
    return sorted(((k, n) for k, n in counts.items() if n), key=lambda kv: (-kv[1], kv[0]))


@dataclass(frozen=True)
class Span:
    """One run of same-interval buckets to read: [start, end) at ``interval``."""

    interval: str
    start: datetime
    end: datetime


def summary_spans(start: datetime, end: datetime) -> list[Span]:
    """Cover [start, end) widened to whole hours with as few documents as possible.

    Whole days inside the range come from daily buckets; the partial days at either edge come
    from hourly buckets. The result is therefore exact to the hour: a range is counted as the
    hours it touches.
    """
    s = floor_time(start, HOUR)
    e = ceil_time(end, HOUR)
    d0, d1 = ceil_time(s, DAY), floor_time(e, DAY)
    if d0 >= d1:
        return [Span(HOUR, s, e)]
    spans = []
    if s < d0:
        spans.append(Span(HOUR, s, d0))
    spans.append(Span(DAY, d0, d1))
    if d1 < e:
        spans.append(Span(HOUR, d1, e))
    return spans


def query_part(doc: Mapping[str, Any], query_id: str) -> Mapping[str, Any]:
    """The counters of one listening query inside a rollup document (empty when it has none)."""
    part = (doc.get(QUERIES) or {}).get(query_key(query_id))
    return part if isinstance(part, Mapping) else {}


def category_part(doc: Mapping[str, Any], category_id: str) -> Mapping[str, Any]:
    """The counters of one category inside a rollup document (empty when it has none)."""
    part = (doc.get(CATEGORIES) or {}).get(safe_key(category_id))
    return part if isinstance(part, Mapping) else {}


@dataclass(frozen=True)
class Scope:
    """Which counters of a rollup document a read is about: the tenant's, or one query's or
    category's (at most one of the two ids)."""

    query_id: str | None = None
    category_id: str | None = None

    def fields(self) -> list[str] | None:
        """The counter paths to read (None: the tenant-wide counters)."""
        if self.query_id is not None:
            return [query_counters_path(self.query_id)]
        if self.category_id is not None:
            return [category_counters_path(self.category_id)]
        return None

    def part(self, doc: Mapping[str, Any]) -> Mapping[str, Any]:
        if self.query_id is not None:
            return query_part(doc, self.query_id)
        if self.category_id is not None:
            return category_part(doc, self.category_id)
        return doc


TENANT = Scope()


def sum_docs(docs: Iterable[Mapping[str, Any]], query_id: str | None = None, *,
             scope: Scope | None = None) -> Totals:
    """Totals of ``docs``: the tenant-wide counters, those of one listening query, or those of
    ``scope``."""
    if scope is None:
        scope = Scope(query_id=query_id)
    totals = Totals()
    for doc in docs:
        totals.add(scope.part(doc))
    return totals
