"""Digest schedules (CRUD) and the scheduler that delivers the insight brief when one is due.

Every replica runs a :class:`DigestScheduler`. A due schedule is leased (one replica builds a period's
brief at a time); the digest is dispatched under the key ``digest:<id>:<period start>``, so even two
replicas that both build it (a lease that expired mid-run) record one delivery per channel. Only then
does the schedule move to its next run: a replica that dies in between leaves it due for another.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from dengar_common.errors import FailedPrecondition, InvalidArgument, NotFound
from dengar_insights.domain.digests import (
    DigestSchedule,
    DigestSpec,
    digest_key,
    digest_text,
    next_run,
    period,
    validate_digest,
)
from dengar_insights.domain.notification import DIGEST, Notification
from dengar_insights.service_layer.deliveries import ChannelRepository, check_tenant
from dengar_insights.service_layer.insight_engine import BriefRequest, BriefResult
from dengar_insights.service_layer.ports import Dispatcher

logger = logging.getLogger(__name__)


class DigestRepository(Protocol):
    async def insert(self, schedule: DigestSchedule) -> None: ...

    async def get(self, tenant_id: str, schedule_id: str) -> DigestSchedule | None: ...

    async def list(self, tenant_id: str) -> list[DigestSchedule]: ...

    async def replace(self, schedule: DigestSchedule) -> DigestSchedule | None: ...

    async def delete(self, tenant_id: str, schedule_id: str) -> bool: ...

    async def claim_due(self, owner: str, now: datetime, lease_until: datetime) -> DigestSchedule | None:
        """Lease a schedule whose next run is due and whose lease is free or expired."""
        ...

    async def advance(self, schedule: DigestSchedule, owner: str, period_start: datetime,
                      next_run_at: datetime) -> bool:
        """Record the period as sent and move to the next run iff ``owner`` holds the lease and the
        schedule's next run is still the claimed one; let go of the lease."""
        ...


class BriefSource(Protocol):
    async def brief(self, req: BriefRequest) -> BriefResult: ...


class DigestManager:
    def __init__(self, digests: DigestRepository, channels: ChannelRepository, *, max_per_tenant: int = 20,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._digests = digests
        self._channels = channels
        self._max = max_per_tenant
        self._now = clock or (lambda: datetime.now(UTC))

    async def _validated(self, tenant_id: str, spec: DigestSpec) -> DigestSpec:
        spec = validate_digest(spec)
        for channel_id in spec.channel_ids:
            if await self._channels.get(tenant_id, channel_id) is None:
                raise InvalidArgument(f"unknown channel {channel_id[:40]!r}", field="channel_ids")
        return spec

    async def create(self, tenant_id: str, spec: DigestSpec) -> DigestSchedule:
        spec = await self._validated(check_tenant(tenant_id), spec)
        if (current := len(await self._digests.list(tenant_id))) >= self._max:
            raise self._limit(current)
        now = self._now()
        schedule = DigestSchedule(id=uuid.uuid4().hex, tenant_id=tenant_id, spec=spec,
                                  next_run_at=next_run(spec, now), created_at=now, updated_at=now)
        await self._digests.insert(schedule)
        # Count, insert, recount (as channels): racing creates never all pass the limit.
        if (current := len(await self._digests.list(tenant_id))) > self._max:
            await self._digests.delete(tenant_id, schedule.id)
            raise self._limit(current - 1)
        return schedule

    def _limit(self, current: int) -> FailedPrecondition:
        return FailedPrecondition(f"at most {self._max} digests per tenant", reason="digest-limit",
                                  limit=self._max, current=current)

    async def get(self, tenant_id: str, schedule_id: str) -> DigestSchedule:
        found = await self._digests.get(check_tenant(tenant_id), schedule_id)
        if found is None:
            raise NotFound("no such digest", field="id")
        return found

    async def list(self, tenant_id: str) -> list[DigestSchedule]:
        return await self._digests.list(check_tenant(tenant_id))

    async def update(self, tenant_id: str, schedule_id: str, spec: DigestSpec) -> DigestSchedule:
        current = await self.get(tenant_id, schedule_id)
        spec = await self._validated(tenant_id, spec)
        now = self._now()
        stored = await self._digests.replace(replace(current, spec=spec, next_run_at=next_run(spec, now),
                                                     updated_at=now))
        if stored is None:
            raise NotFound("no such digest", field="id")
        return stored

    async def delete(self, tenant_id: str, schedule_id: str) -> None:
        if not await self._digests.delete(check_tenant(tenant_id), schedule_id):
            raise NotFound("no such digest", field="id")


@dataclass(frozen=True)
class DigestConfig:
    poll_s: float = 30.0
    lease_s: float = 300.0
    cards: int = 5


class DigestScheduler:
    """Runs due digests (``ServiceApp.run_worker``)."""

    def __init__(self, digests: DigestRepository, channels: ChannelRepository, engine: BriefSource,
                 dispatcher: Dispatcher, config: DigestConfig, *, owner: str | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._digests = digests
        self._channels = channels
        self._engine = engine
        self._dispatcher = dispatcher
        self._cfg = config
        self._owner = owner or uuid.uuid4().hex
        self._now = clock or (lambda: datetime.now(UTC))
        self._stop = asyncio.Event()
        self.sent = 0

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_due()
            except Exception:
                logger.warning("running due digests failed", exc_info=True)
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self._cfg.poll_s)
            except TimeoutError:
                pass

    async def run_due(self) -> int:
        """Send every digest due now; how many this replica sent."""
        sent = 0
        while not self._stop.is_set():
            now = self._now()
            lease_until = now + timedelta(seconds=self._cfg.lease_s)
            schedule = await self._digests.claim_due(self._owner, now, lease_until)
            if schedule is None:
                return sent
            try:
                start = await self._send(schedule)
            except Exception:
                # The lease expires and a replica tries again; the key keeps it to one delivery.
                logger.warning("digest %s of tenant %s failed", schedule.id, schedule.tenant_id,
                               exc_info=True)
                return sent
            await self._digests.advance(schedule, self._owner, start, next_run(schedule.spec, now))
            sent += 1
            self.sent += 1
        return sent

    async def _send(self, schedule: DigestSchedule) -> datetime:
        spec = schedule.spec
        start, end = period(spec, schedule.next_run_at)
        result = await self._engine.brief(BriefRequest(
            tenant_id=schedule.tenant_id, start=start, end=end, lang=spec.language, limit=self._cfg.cards,
            time_zone=spec.time_zone))
        title, text = digest_text(spec, start, end, [(c.title, c.narrative) for c in result.cards])
        notification = Notification(
            tenant_id=schedule.tenant_id, key=digest_key(schedule.id, start), kind=DIGEST,
            title={spec.language: title}, text={spec.language: text},
            payload={"schedule_id": schedule.id, "frequency": spec.frequency, "language": spec.language,
                     "start": start.isoformat(), "end": end.isoformat(),
                     "cards": [{"type": c.type, "title": c.title, "narrative": c.narrative,
                                "impact": c.impact, "filters": dict(c.filters),
                                "evidence_mention_ids": list(c.evidence_mention_ids)} for c in result.cards]},
            created_at=self._now())
        # A channel deleted since the schedule was saved: deliver to the ones left rather than none.
        left = [c for c in spec.channel_ids if await self._channels.get(schedule.tenant_id, c) is not None]
        if left:
            await self._dispatcher.dispatch(notification, left)
        else:
            logger.warning("digest %s of tenant %s has no channel left", schedule.id, schedule.tenant_id)
        return start
