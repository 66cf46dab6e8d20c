"""The order, retries and resumability of `dengar tenants delete` (service_layer/offboarding.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dengar_common.errors import NotFound, Unavailable
from dengar_gateway.service_layer.offboarding import TenantDeletion

NOW = datetime(2026, 12, 1, tzinfo=UTC)


class Log:
    def __init__(self) -> None:
        self.steps: list[str] = []


class Tenants:
    def __init__(self, log: Log, known: set[str]) -> None:
        self.log, self.known = log, known
        self.recorded: list[tuple[bool, dict[str, dict[str, int]]]] = []

    async def mark_deleted(self, tenant_id: str, now: datetime) -> bool:
        self.log.steps.append(f"tombstone {tenant_id}")
        return tenant_id in self.known

    async def record_deletion(self, tenant_id: str, done: bool, removed: dict[str, dict[str, int]],
                              now: datetime) -> None:
        self.recorded.append((done, {k: dict(v) for k, v in removed.items()}))


class Records:
    def __init__(self, log: Log, name: str, n: int) -> None:
        self.log, self.name, self.n = log, name, n

    async def delete_tenant(self, tenant_id: str) -> int:
        self.log.steps.append(f"{self.name} {tenant_id}")
        n, self.n = self.n, 0
        return n


class Service:
    def __init__(self, log: Log, name: str, counts: list[dict[str, int]], failures: int = 0) -> None:
        self.log, self.name, self.counts, self.failures = log, name, counts, failures

    async def delete_tenant_data(self, tenant_id: str) -> dict[str, int]:
        self.log.steps.append(f"{self.name} {tenant_id}")
        if self.failures:
            self.failures -= 1
            raise Unavailable(f"{self.name} is restarting")
        return self.counts.pop(0) if self.counts else {}


def _deletion(log: Log, services: list[Service], tenants: Tenants | None = None, attempts: int = 4
              ) -> tuple[TenantDeletion, Tenants, list[float]]:
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    tenants = tenants or Tenants(log, {"acme"})
    return (TenantDeletion(tenants, Records(log, "keys", 2), Records(log, "idempotency", 1), services,
                           quotas=Records(log, "quotas", 3), settle_s=6.0, attempts=attempts,
                           backoff_s=0.5, clock=lambda: NOW, sleep=sleep),
            tenants, slept)


async def test_tombstone_and_keys_first_then_two_passes_over_the_services() -> None:
    log = Log()
    collector = Service(log, "collector", [{"queries": 2}, {}])
    insights = Service(log, "insights", [{"mentions": 10}, {"mentions": 1}])
    deletion, tenants, slept = _deletion(log, [collector, insights])
    report = await deletion.delete("acme")
    assert log.steps == ["tombstone acme", "keys acme", "collector acme", "insights acme",
                         "collector acme", "insights acme", "idempotency acme", "quotas acme"]
    assert slept == [6.0]
    # The second pass removed a mention that slipped in before insights knew of the tombstone.
    assert report.removed == {"gateway": {"api_keys": 2, "idempotency": 1, "quota_state": 3},
                              "collector": {"queries": 2},
                              "insights": {"mentions": 11}}
    assert tenants.recorded == [(True, report.removed)]


async def test_an_unknown_tenant_is_not_found() -> None:
    log = Log()
    deletion, _, _ = _deletion(log, [Service(log, "collector", [])])
    with pytest.raises(NotFound):
        await deletion.delete("nobody")
    assert log.steps == ["tombstone nobody"]


async def test_a_restarting_service_is_retried_with_backoff() -> None:
    log = Log()
    deletion, _, slept = _deletion(log, [Service(log, "insights", [{"mentions": 3}], failures=2)])
    report = await deletion.delete("acme")
    assert report.removed["insights"] == {"mentions": 3}
    assert slept == [0.5, 1.0, 6.0]


async def test_a_service_that_stays_down_stops_the_run_and_a_rerun_finishes_it() -> None:
    log = Log()
    tenants = Tenants(log, {"acme"})
    down = Service(log, "insights", [{"mentions": 3}], failures=2)
    deletion, _, _ = _deletion(log, [down], tenants=tenants, attempts=2)
    with pytest.raises(Unavailable, match="run the command again"):
        await deletion.delete("acme")
    assert tenants.recorded == [(False, {"gateway": {"api_keys": 2}})]
    # The service is back: the same command finishes the deletion (the tombstone stays).
    deletion, _, _ = _deletion(log, [down], tenants=tenants)
    report = await deletion.delete("acme")
    assert report.removed["insights"] == {"mentions": 3}
    assert tenants.recorded[-1][0] is True
