"""Scheduling and back-off of pull sources, and the source checks that need no store (pure)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from dengar_collector.domain.schedule import (
    SchedulePolicy,
    error_delay_s,
    next_run_after_success,
    retry_delay_s,
    scrub_secrets,
)
from dengar_collector.domain.sources import (
    SourceInputError,
    SourceRecord,
    SourceStatus,
    check_name,
    is_source_id,
    new_source_id,
    resolve_interval,
)

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
POLICY = SchedulePolicy(jitter=0.1, more_delay_s=2.0, retry_base_s=30, retry_max_s=3600,
                        error_backoff_s=6 * 3600)


def test_next_run_is_the_interval_with_bounded_jitter() -> None:
    rng = random.Random(1)
    delays = [(next_run_after_success(NOW, 300, has_more=False, policy=POLICY, rng=rng) - NOW).total_seconds()
              for _ in range(200)]
    assert all(270 <= d <= 330 for d in delays)
    # Jitter actually spreads runs out.
    assert max(delays) - min(delays) > 30


def test_more_available_runs_again_soon() -> None:
    nxt = next_run_after_success(NOW, 300, has_more=True, policy=POLICY, rng=random.Random(1))
    assert nxt == NOW + timedelta(seconds=2)


def test_retry_back_off_grows_exponentially_and_is_capped() -> None:
    rng = random.Random(3)
    for failures, ceiling in [(1, 30), (2, 60), (3, 120), (5, 480), (8, 3600), (40, 3600)]:
        delays = [retry_delay_s(failures, retry_after=None, policy=POLICY, rng=rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (failures, min(delays), max(delays))


def test_retry_after_is_a_floor_even_beyond_the_cap() -> None:
    rng = random.Random(3)
    assert retry_delay_s(1, retry_after=900, policy=POLICY, rng=rng) == 900
    assert retry_delay_s(1, retry_after=20 * 3600, policy=POLICY, rng=rng) == 20 * 3600
    # A hint shorter than the back-off does not shorten it.
    assert retry_delay_s(4, retry_after=1, policy=POLICY, rng=rng) >= 120


def test_errors_that_need_a_person_back_off_long() -> None:
    delay = error_delay_s(policy=POLICY, rng=random.Random(5))
    assert 6 * 3600 <= delay <= 6 * 3600 * 1.1


def test_scrub_removes_every_secret_value() -> None:
    text = "401 from /api: token abcd1234 is invalid (abcd1234xyz)"
    scrubbed = scrub_secrets(text, ["abcd1234", "abcd1234xyz", "", "ab"])
    assert scrubbed == "401 from /api: token *** is invalid (***)"


def test_intervals() -> None:
    assert resolve_interval(0, default_s=300, minimum_s=30) == 300
    assert resolve_interval(30, default_s=300, minimum_s=30) == 30
    for bad in (29, -1, 8 * 24 * 3600):
        with pytest.raises(SourceInputError) as info:
            resolve_interval(bad, default_s=300, minimum_s=30)
        assert info.value.field == "interval_seconds"


def test_names_and_ids() -> None:
    assert check_name("  Gojek on Mastodon ") == "Gojek on Mastodon"
    for bad in ("", "   ", "x" * 201, "a\nb"):
        with pytest.raises(SourceInputError):
            check_name(bad)
    ids = {new_source_id() for _ in range(100)}
    assert len(ids) == 100 and all(is_source_id(i) for i in ids)
    assert not is_source_id("src_XYZ") and not is_source_id("src_" + "0" * 17)


def test_status_and_hidden_secrets() -> None:
    record = SourceRecord(id="src_0123456789abcdef", tenant_id="acme", name="n", kind="mastodon", config={},
                          interval_seconds=300, created_at=NOW, updated_at=NOW,
                          credentials={"access_token": "tok-secret-1"})
    assert record.status is SourceStatus.ACTIVE
    assert "tok-secret-1" not in repr(record)
    record.consecutive_failures = 2
    assert record.status is SourceStatus.ERROR
    record.paused = True
    assert record.status is SourceStatus.PAUSED
