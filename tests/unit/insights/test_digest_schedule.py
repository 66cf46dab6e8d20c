"""Digest schedules: validation naming the field, next runs in the local zone, periods and keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dengar_common.errors import InvalidArgument
from dengar_insights.domain.digests import (
    DigestSpec,
    digest_key,
    digest_text,
    next_run,
    period,
    validate_digest,
)

DAILY = DigestSpec(name="Morning", frequency="daily", time="08:00", time_zone="Asia/Jakarta", language="id",
                   channel_ids=("c1",))
WEEKLY = DigestSpec(name="Week", frequency="weekly", time="09:30", time_zone="Europe/Berlin", language="en",
                    channel_ids=("c1",), weekday="Monday")


def test_daily_runs_at_local_time_and_reports_the_last_day() -> None:
    # 08:00 WIB is 01:00 UTC.
    first = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert next_run(DAILY, datetime(2026, 12, 1, 0, 59, tzinfo=UTC)) == first
    assert next_run(DAILY, first) == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    start, end = period(DAILY, datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    assert (start, end) == (first, datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    assert digest_key("s1", start) == "digest:s1:2026-12-01T01:00:00Z"


def test_weekly_runs_on_its_weekday_and_a_week_across_dst_is_seven_local_days() -> None:
    spec = validate_digest(WEEKLY)
    assert spec.weekday == "mon"
    run = next_run(spec, datetime(2026, 10, 21, tzinfo=UTC))  # a Wednesday
    assert run == datetime(2026, 10, 26, 8, 30, tzinfo=UTC)  # Monday 09:30 CET (after the DST end)
    start, end = period(spec, run)
    assert start == datetime(2026, 10, 19, 7, 30, tzinfo=UTC)  # Monday 09:30 CEST
    assert end - start == (datetime(2026, 10, 26, 8, 30) - datetime(2026, 10, 19, 7, 30))


@pytest.mark.parametrize(("changes", "field"), [
    ({"frequency": "hourly"}, "frequency"), ({"time": "8:00"}, "time"), ({"time": "24:00"}, "time"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"), ({"language": "fr"}, "language"),
    ({"channel_ids": ()}, "channel_ids"), ({"name": " "}, "name"),
    ({"frequency": "weekly", "weekday": ""}, "weekday"),
])
def test_invalid_digests_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_digest(DigestSpec(**{**DAILY.__dict__, **changes}))
    assert info.value.field == field


def test_digest_text_in_indonesian() -> None:
    start, end = period(DAILY, datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    title, text = digest_text(DAILY, start, end, [("Lonjakan keluhan", "Keluhan naik 3x.")])
    assert title == "Ringkasan harian: Morning"
    assert text.startswith("Periode: 2026-12-01 08:00 - 2026-12-02 08:00 (Asia/Jakarta)")
    assert "1. Lonjakan keluhan\nKeluhan naik 3x." in text
    assert "Tidak ada yang menonjol" in digest_text(DAILY, start, end, [])[1]
