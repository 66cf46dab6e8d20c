"""The gateway's quota rules: windows and chunks of the shared rate, tenants' own limits, and the
rate limit over an in-memory stand-in of the store's conditional counter."""

from __future__ import annotations

import asyncio
from datetime import datetime

import grpc
import pytest

from dengar_common.errors import FailedPrecondition, ResourceExhausted
from dengar_common.grpcerrors import RemoteError, trailing_metadata
from dengar_gateway.domain.quotas import TenantLimits, check_override, chunk_size, rate_window
from dengar_gateway.entrypoints.problems import Answer, domain_problem, remote_problem
from dengar_gateway.service_layer.quotas import TenantQuotas, TenantRateLimit

DEFAULTS = TenantLimits(rate_per_s=2, max_keys=50, max_streams=5)


def test_windows_are_aligned_and_allow_rate_times_length() -> None:
    w = rate_window(1005.5, 2, 10)
    assert (w.index, w.start, w.end, w.limit) == (100, 1000, 1010, 20)
    assert rate_window(1009.99, 2, 10).index == 100 and rate_window(1010, 2, 10).index == 101
    assert rate_window(0, 0.01, 10).limit == 1  # never a window that allows nothing


def test_chunks_are_a_share_of_the_window_within_bounds() -> None:
    assert chunk_size(100, 0) == 5 and chunk_size(36, 0) == 2 and chunk_size(3, 0) == 1
    assert chunk_size(100, 7) == 7 and chunk_size(5, 50) == 5


def test_a_tenants_own_limits_win_and_bad_stored_values_are_ignored() -> None:
    own = DEFAULTS.with_overrides({"rate_per_s": 0, "max_keys": 3, "max_streams": 0, "bogus": 9,
                                   "x": "y"})
    assert own == TenantLimits(rate_per_s=0, max_keys=3, max_streams=5)
    assert DEFAULTS.with_overrides({"max_keys": True, "rate_per_s": float("nan")}) == DEFAULTS
    assert check_override("rate_per_s", "2.5") == 2.5 and check_override("max_keys", "4") == 4
    for name, raw in (("max_keys", "0"), ("max_keys", "1.5"), ("rate_per_s", "-1"), ("burst", "1"),
                      ("rate_per_s", "inf")):
        with pytest.raises(ValueError):
            check_override(name, raw)


class Counter:
    """The conditional $inc of the store, in memory."""

    def __init__(self, own: dict[str, object] | None = None) -> None:
        self.used: dict[tuple[str, int], int] = {}
        self.claims = 0
        self.own = own or {}

    async def limits_of(self, tenant_id: str) -> dict[str, object]:
        return dict(self.own)

    async def claim_requests(self, tenant_id: str, window: int, n: int, limit: int,
                             expires_at: datetime) -> bool:
        self.claims += 1
        await asyncio.sleep(0)  # let racing requests interleave, as a store round trip does
        used = self.used.get((tenant_id, window), 0)
        if used + n > limit:
            return False
        self.used[(tenant_id, window)] = used + n
        return True


async def _admitted(limiter: TenantRateLimit, tenant: str, n: int) -> int:
    results = await asyncio.gather(*[limiter.take(tenant) for _ in range(n)], return_exceptions=True)
    assert all(r is None or isinstance(r, ResourceExhausted) for r in results)
    return sum(r is None for r in results)


async def test_replicas_share_a_window_and_it_renews() -> None:
    now = [1000.0]
    counter = Counter()
    replicas = [TenantRateLimit(counter, TenantQuotas(counter, DEFAULTS), window_s=10,
                                clock=lambda: now[0]) for _ in range(3)]
    admitted = sum([await _admitted(r, "acme", 15) for r in replicas])
    assert 20 - 3 <= admitted <= 20  # at most one unused chunk (of 1) per replica
    assert counter.used[("acme", 100)] == 20
    with pytest.raises(ResourceExhausted) as refused:
        await replicas[0].take("acme")
    assert refused.value.retry_after_s == pytest.approx(10) and refused.value.limit == 20
    claims = counter.claims
    for _ in range(5):  # a replica that knows its window is full asks the store no more
        with pytest.raises(ResourceExhausted):
            await replicas[0].take("acme")
    assert counter.claims == claims
    now[0] = 1010.0
    assert await _admitted(replicas[0], "acme", 5) == 5
    assert await _admitted(replicas[0], "globex", 5) == 5


async def test_a_chunk_is_one_store_write_for_many_requests() -> None:
    counter = Counter()
    limiter = TenantRateLimit(counter, TenantQuotas(counter, TenantLimits(100, 1, 1)), window_s=1,
                              clock=lambda: 5.0)
    assert await _admitted(limiter, "acme", 100) == 100
    assert counter.claims == 20  # chunks of 5
    counter_off = Counter({"rate_per_s": 0})
    unlimited = TenantRateLimit(counter_off, TenantQuotas(counter_off, DEFAULTS), window_s=1)
    assert await _admitted(unlimited, "acme", 500) == 500 and counter_off.claims == 0


def test_quota_problems_carry_limit_and_current_over_grpc_and_http() -> None:
    error = ResourceExhausted("full", reason="source-limit", limit=100, current=100)
    remote = RemoteError("collector", grpc.StatusCode.RESOURCE_EXHAUSTED, "full",
                         dict(trailing_metadata(error)))
    assert (remote.limit, remote.current) == (100, 100)
    problem = remote_problem(remote, {"source-limit": Answer(409, "source-limit-reached")})
    assert problem.status == 409 and problem.extensions["limit"] == 100
    assert problem.extensions["current"] == 100
    own = domain_problem(FailedPrecondition("keys", reason="key-limit-reached", limit=2, current=2))
    assert own.status == 409 and (own.extensions["limit"], own.extensions["current"]) == (2, 2)
    assert "limit" not in remote_problem(RemoteError("x", grpc.StatusCode.NOT_FOUND, "no")).extensions


async def test_many_tenants_keep_memory_bounded_and_counts_right() -> None:
    now = [1000.0]
    counter = Counter()
    limiter = TenantRateLimit(counter, TenantQuotas(counter, DEFAULTS), window_s=10,
                              clock=lambda: now[0], max_tenants=3)
    for tenant in ("a", "b", "c", "d"):
        assert await _admitted(limiter, tenant, 25) == 20
    now[0] = 1010.0
    assert await _admitted(limiter, "e", 1) == 1
    assert len(limiter._local) <= 4 and len(limiter._locks) <= 4
    assert await _admitted(limiter, "a", 25) == 20  # a new window for a pruned tenant
