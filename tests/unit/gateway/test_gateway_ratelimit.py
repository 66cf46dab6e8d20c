"""The per-key token bucket, on a fake clock."""

from __future__ import annotations

import pytest

from dengar_gateway.domain.ratelimit import TokenBucketLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill() -> None:
    clock = Clock()
    limiter = TokenBucketLimiter(2.0, 3, clock=clock)
    assert [limiter.acquire("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("k")
    assert wait == pytest.approx(0.5)  # one token at 2/s
    clock.now += 0.5
    assert limiter.acquire("k") == 0.0
    assert limiter.acquire("k") > 0


def test_refill_is_capped_at_burst() -> None:
    clock = Clock()
    limiter = TokenBucketLimiter(10.0, 2, clock=clock)
    limiter.acquire("k")
    clock.now += 3600
    assert [limiter.acquire("k") for _ in range(3)][2] > 0


def test_keys_are_independent() -> None:
    limiter = TokenBucketLimiter(1.0, 1, clock=Clock())
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    assert limiter.acquire("b") == 0.0


def test_zero_rate_disables() -> None:
    limiter = TokenBucketLimiter(0.0, 1, clock=Clock())
    assert not limiter.enabled
    assert all(limiter.acquire("k") == 0.0 for _ in range(1000))


def test_least_recent_buckets_are_evicted() -> None:
    limiter = TokenBucketLimiter(1.0, 1, clock=Clock(), max_keys=2)
    limiter.acquire("a")
    limiter.acquire("b")
    limiter.acquire("c")  # evicts "a", whose bucket would have been refilled anyway
    assert len(limiter._buckets) == 2
    assert limiter.acquire("a") == 0.0


def test_invalid_configuration() -> None:
    with pytest.raises(ValueError):
        TokenBucketLimiter(-1, 1)
    with pytest.raises(ValueError):
        TokenBucketLimiter(1, 0)
