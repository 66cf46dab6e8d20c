"""Digest schedules: the insight brief of the last day or week, delivered at a local time. Pure.

A schedule runs at ``time`` (HH:MM) in its IANA ``time_zone`` every day, or on ``weekday`` every week.
The run at instant R reports the period [R - 1 day, R) or [R - 7 days, R) in local time (so a week
across a DST change is still seven calendar days). Its notification key is
``digest:<schedule id>:<period start>``: a replica race or a restart never sends one period twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dengar_common.errors import InvalidArgument
from dengar_insights.domain.channels import LANGUAGES, MAX_NAME, check_channel_ids

DAILY = "daily"
WEEKLY = "weekly"
FREQUENCIES = (DAILY, WEEKLY)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class DigestSpec:
    name: str
    frequency: str
    time: str
    time_zone: str
    language: str
    channel_ids: tuple[str, ...]
    # For weekly digests; ignored (empty) for daily ones.
    weekday: str = ""


@dataclass(frozen=True)
class DigestSchedule:
    id: str
    tenant_id: str
    spec: DigestSpec
    next_run_at: datetime
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_period_start: datetime | None = None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(f"unknown time zone {name[:60]!r}", field="time_zone") from None


def validate_digest(spec: DigestSpec) -> DigestSpec:
    name = spec.name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidArgument(f"name must be 1-{MAX_NAME} characters", field="name")
    if spec.frequency not in FREQUENCIES:
        raise InvalidArgument("frequency must be daily or weekly", field="frequency")
    if not _HHMM.match(spec.time):
        raise InvalidArgument("time must be HH:MM (24-hour, local)", field="time")
    zone(spec.time_zone)
    if spec.language not in LANGUAGES:
        raise InvalidArgument("language must be en or id", field="language")
    weekday = spec.weekday.strip().lower()[:3]
    if spec.frequency == WEEKLY and weekday not in WEEKDAYS:
        raise InvalidArgument("a weekly digest needs a weekday (mon..sun)", field="weekday")
    ids = check_channel_ids(spec.channel_ids)
    return DigestSpec(name=name, frequency=spec.frequency, time=spec.time, time_zone=spec.time_zone,
                      language=spec.language, channel_ids=ids,
                      weekday=weekday if spec.frequency == WEEKLY else "")


def _local(d: datetime, tz: ZoneInfo) -> datetime:
    return d.astimezone(tz)


def _at(day: datetime, hhmm: str, tz: ZoneInfo) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day.date(), time(h, m), tzinfo=tz)


def next_run(spec: DigestSpec, after: datetime) -> datetime:
    """The first run strictly after ``after`` (UTC)."""
    tz = zone(spec.time_zone)
    local = _local(after, tz)
    candidate = _at(local, spec.time, tz)
    while candidate <= local or (spec.frequency == WEEKLY and
                                 WEEKDAYS[candidate.weekday()] != spec.weekday):
        candidate = _at(candidate + timedelta(days=1), spec.time, tz)
    return candidate.astimezone(UTC)


def period(spec: DigestSpec, run_at: datetime) -> tuple[datetime, datetime]:
    """[start, end) reported by the run at ``run_at``: the last local day or week before it."""
    tz = zone(spec.time_zone)
    end = _local(run_at, tz)
    days = 7 if spec.frequency == WEEKLY else 1
    start = datetime.combine(end.date() - timedelta(days=days), end.timetz().replace(tzinfo=None), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def digest_key(schedule_id: str, start: datetime) -> str:
    return f"digest:{schedule_id}:{start.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


_TITLES = {
    ("en", DAILY): "Daily brief", ("en", WEEKLY): "Weekly brief",
    ("id", DAILY): "Ringkasan harian", ("id", WEEKLY): "Ringkasan mingguan",
}
_EMPTY = {"en": "Nothing stood out in this period.", "id": "Tidak ada yang menonjol pada periode ini."}
_PERIOD = {"en": "Period", "id": "Periode"}


def digest_text(spec: DigestSpec, start: datetime, end: datetime,
                cards: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """Title and text of a digest in the schedule's language from the brief's (title, narrative)."""
    lang = spec.language
    tz = zone(spec.time_zone)
    title = f"{_TITLES[(lang, spec.frequency)]}: {spec.name}"
    span = (f"{_PERIOD[lang]}: {start.astimezone(tz):%Y-%m-%d %H:%M} - {end.astimezone(tz):%Y-%m-%d %H:%M} "
            f"({spec.time_zone})")
    body = "\n\n".join(f"{i}. {t}\n{n}" for i, (t, n) in enumerate(cards, start=1)) or _EMPTY[lang]
    return title, f"{span}\n\n{body}"
