"""Channels and deliveries: the tenant's channels (CRUD, secrets), the Dispatcher the alerts and digests
call, and the worker that sends pending deliveries.

``dispatch`` only records: one delivery per (notification key, channel), idempotent through a unique
key in the store, so an alert fired twice by racing replicas, or a retried digest, is delivered once.
The :class:`DeliveryWorker` of every replica claims due deliveries under a lease (one sender per
delivery at a time), sends each with a per-attempt timeout, and records the attempt: delivered; or
pending again after an exponential back-off with jitter; or dead after ``max_attempts`` failures
(``redeliver`` makes a dead one pending again). Sends run concurrently up to a bound, so a channel
that hangs holds one slot for at most the timeout and never the others, nor the ingest pipeline.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from dengar_common import metrics
from dengar_common.errors import FailedPrecondition, InvalidArgument, NotFound
from dengar_common.ids import is_valid_tenant_id
from dengar_common.signing import new_secret, signed_headers
from dengar_insights.domain.channels import (
    EMAIL,
    WEBHOOK,
    Channel,
    ChannelSpec,
    Email,
    backoff_s,
    check_channel_ids,
    render_email,
    validate_spec,
    webhook_body,
)
from dengar_insights.domain.notification import Delivery, DeliveryAttempt, Notification
from dengar_insights.service_layer.ports import Dispatcher

logger = logging.getLogger(__name__)

MAX_ERROR = 500


# -- ports --------------------------------------------------------------------------------------------


class ChannelRepository(Protocol):
    async def insert(self, channel: Channel) -> None: ...

    async def get(self, tenant_id: str, channel_id: str) -> Channel | None:
        """The channel with its secret opened (for the sender)."""
        ...

    async def list(self, tenant_id: str) -> list[Channel]: ...

    async def replace(self, channel: Channel) -> Channel | None: ...

    async def set_secret(self, tenant_id: str, channel_id: str, secret: str, now: datetime) -> bool: ...

    async def delete(self, tenant_id: str, channel_id: str) -> bool: ...


@dataclass(frozen=True)
class Claimed:
    delivery: Delivery
    notification: Notification
    # Failed attempts since the delivery was recorded or last redelivered.
    failures: int


class DeliveryRepository(Protocol):
    async def record(self, notification: Notification, channel_ids: Sequence[str],
                     now: datetime) -> list[str]:
        """Insert one pending delivery per channel unless one exists for (tenant, key, channel);
        the ids of all of them, in ``channel_ids`` order."""
        ...

    async def claim(self, owner: str, now: datetime, lease_until: datetime,
                    skip_channels: Sequence[str] = ()) -> Claimed | None:
        """Lease the pending delivery due the longest whose lease is free or expired, to any
        channel but ``skip_channels``."""
        ...

    async def finish(self, delivery_id: str, owner: str, attempt: DeliveryAttempt, state: str,
                     next_attempt_at: datetime | None) -> bool:
        """Append the attempt and set the state iff ``owner`` still holds the lease; let go of it."""
        ...

    async def list(self, tenant_id: str, *, key: str | None = None, state: str | None = None,
                   limit: int = 100) -> list[Delivery]: ...

    async def get(self, tenant_id: str, delivery_id: str) -> Delivery | None: ...

    async def redeliver(self, tenant_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        """Make a dead delivery pending and due now (its failure count starts again)."""
        ...


class WebhookSender(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
        """POST and return the HTTP status; raise on no answer (timeout, refused, blocked target)."""
        ...


class EmailSender(Protocol):
    @property
    def configured(self) -> bool: ...

    async def send(self, recipients: Sequence[str], email: Email, timeout_s: float) -> int:
        """Send and return the SMTP reply code of the accepted message; raise otherwise."""
        ...


class AddressCheck(Protocol):
    def __call__(self, url: str) -> None:
        """Raise InvalidArgument(field="url") when the URL's literal host is not allowed."""
        ...


# -- channels -----------------------------------------------------------------------------------------


def check_tenant(tenant_id: str) -> str:
    if not is_valid_tenant_id(tenant_id):
        raise InvalidArgument("invalid tenant_id", field="tenant_id")
    return tenant_id


class ChannelManager:
    def __init__(self, channels: ChannelRepository, *, email_configured: bool, check_url: AddressCheck,
                 max_per_tenant: int = 50, clock: Callable[[], datetime] | None = None) -> None:
        self._channels = channels
        self._email_configured = email_configured
        self._check_url = check_url
        self._max = max_per_tenant
        self._now = clock or (lambda: datetime.now(UTC))

    def _validated(self, spec: ChannelSpec) -> ChannelSpec:
        spec = validate_spec(spec)
        if spec.kind == WEBHOOK:
            self._check_url(spec.url)
        elif not self._email_configured:
            raise FailedPrecondition("email channels need the SMTP settings of the insights service "
                                     "(DENGAR_INSIGHTS__SMTP__HOST, ...)", field="kind",
                                     reason="smtp-not-configured")
        return spec

    async def create(self, tenant_id: str, spec: ChannelSpec) -> Channel:
        """The new channel with its secret (webhooks): the only time it is returned, with rotate."""
        check_tenant(tenant_id)
        spec = self._validated(spec)
        if (current := len(await self._channels.list(tenant_id))) >= self._max:
            raise self._limit(current)
        now = self._now()
        channel = Channel(id=uuid.uuid4().hex, tenant_id=tenant_id, name=spec.name, kind=spec.kind,
                          url=spec.url, format=spec.format, recipients=spec.recipients,
                          language=spec.language, created_at=now, updated_at=now,
                          secret=new_secret() if spec.kind == WEBHOOK else "")
        await self._channels.insert(channel)
        # Count, insert, recount: of creates racing at the limit each withdraws its own, so the
        # limit holds (all of them may be refused, never all admitted).
        if (current := len(await self._channels.list(tenant_id))) > self._max:
            await self._channels.delete(tenant_id, channel.id)
            raise self._limit(current - 1)
        return channel

    def _limit(self, current: int) -> FailedPrecondition:
        return FailedPrecondition(f"at most {self._max} channels per tenant", reason="channel-limit",
                                  limit=self._max, current=current)

    async def get(self, tenant_id: str, channel_id: str) -> Channel:
        channel = await self._channels.get(check_tenant(tenant_id), channel_id)
        if channel is None:
            raise NotFound("no such channel", field="id")
        return replace(channel, secret="")

    async def list(self, tenant_id: str) -> list[Channel]:
        return [replace(c, secret="") for c in await self._channels.list(check_tenant(tenant_id))]

    async def update(self, tenant_id: str, channel_id: str, spec: ChannelSpec) -> Channel:
        current = await self._channels.get(check_tenant(tenant_id), channel_id)
        if current is None:
            raise NotFound("no such channel", field="id")
        spec = self._validated(spec)
        if spec.kind != current.kind:
            raise InvalidArgument("the kind of a channel cannot change", field="kind")
        updated = replace(current, name=spec.name, url=spec.url, format=spec.format,
                          recipients=spec.recipients, language=spec.language, updated_at=self._now())
        stored = await self._channels.replace(updated)
        if stored is None:
            raise NotFound("no such channel", field="id")
        return replace(stored, secret="")

    async def rotate_secret(self, tenant_id: str, channel_id: str) -> Channel:
        current = await self._channels.get(check_tenant(tenant_id), channel_id)
        if current is None:
            raise NotFound("no such channel", field="id")
        if current.kind != WEBHOOK:
            raise FailedPrecondition("only webhook channels have a secret", field="id")
        secret = new_secret()
        if not await self._channels.set_secret(tenant_id, channel_id, secret, self._now()):
            raise NotFound("no such channel", field="id")
        return replace(current, secret=secret)

    async def delete(self, tenant_id: str, channel_id: str) -> None:
        if not await self._channels.delete(check_tenant(tenant_id), channel_id):
            raise NotFound("no such channel", field="id")


# -- dispatching --------------------------------------------------------------------------------------


class Deliveries:
    """The :class:`~dengar_insights.service_layer.ports.Dispatcher` and the reads of the attempt log."""

    def __init__(self, channels: ChannelRepository, deliveries: DeliveryRepository, *,
                 wake: Callable[[], None] = lambda: None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._channels = channels
        self._deliveries = deliveries
        self._wake = wake
        self._now = clock or (lambda: datetime.now(UTC))

    async def dispatch(self, notification: Notification, channel_ids: Sequence[str]) -> list[str]:
        tenant_id = check_tenant(notification.tenant_id)
        ids = check_channel_ids(channel_ids)
        unknown = await self.unknown_channels(tenant_id, ids)
        if unknown and len(unknown) == len(ids):
            raise InvalidArgument(f"unknown channel {unknown[0][:40]!r}", field="channel_ids")
        if unknown:
            # A channel deleted after a rule named it must not keep the others from hearing.
            logger.warning("tenant %s: notification %s skips unknown channels %s", tenant_id,
                           notification.key, unknown)
            ids = tuple(c for c in ids if c not in unknown)
        recorded = await self._deliveries.record(notification, ids, self._now())
        self._wake()
        return recorded

    async def deliveries(self, tenant_id: str, key: str) -> list[Delivery]:
        return await self._deliveries.list(check_tenant(tenant_id), key=key)

    async def unknown_channels(self, tenant_id: str, channel_ids: Sequence[str]) -> list[str]:
        """The ids among ``channel_ids`` that are not channels of the tenant (alert rules check
        theirs when saved)."""
        return [c for c in channel_ids if await self._channels.get(tenant_id, c) is None]

    async def list(self, tenant_id: str, *, key: str | None = None, state: str | None = None,
                   limit: int = 100) -> list[Delivery]:
        if state is not None and state not in ("pending", "delivered", "dead"):
            raise InvalidArgument("state must be pending, delivered or dead", field="state")
        if not 1 <= limit <= 1000:
            raise InvalidArgument("limit must be 1-1000", field="limit")
        return await self._deliveries.list(check_tenant(tenant_id), key=key or None, state=state, limit=limit)

    async def get(self, tenant_id: str, delivery_id: str) -> Delivery:
        found = await self._deliveries.get(check_tenant(tenant_id), delivery_id)
        if found is None:
            raise NotFound("no such delivery", field="id")
        return found

    async def redeliver(self, tenant_id: str, delivery_id: str) -> Delivery:
        current = await self.get(tenant_id, delivery_id)
        if current.state != "dead":
            raise FailedPrecondition(f"only a dead delivery can be redelivered (this one is {current.state})",
                                     field="id", reason="not-dead")
        again = await self._deliveries.redeliver(tenant_id, delivery_id, self._now())
        if again is None:
            raise FailedPrecondition("the delivery is no longer dead", field="id", reason="not-dead")
        self._wake()
        return again


if TYPE_CHECKING:
    # The alert rules code against the port; this keeps the implementation's signatures in step.
    _DISPATCHER: type[Dispatcher] = Deliveries


# -- sending ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryConfig:
    max_attempts: int = 8
    attempt_timeout_s: float = 10.0
    backoff_base_s: float = 5.0
    backoff_cap_s: float = 3600.0
    concurrency: int = 16
    # Longer than an attempt: a replica that dies mid-send frees the delivery after this.
    lease_s: float = 60.0
    poll_s: float = 1.0
    # Sends in flight to one channel, so that a flood to a hanging receiver leaves slots free for
    # the other channels (0: a quarter of ``concurrency``, at least 1).
    per_channel: int = 0


class DeliveryWorker:
    """Claims due deliveries and sends them, ``concurrency`` at a time (``ServiceApp.run_worker``)."""

    def __init__(self, channels: ChannelRepository, deliveries: DeliveryRepository, webhooks: WebhookSender,
                 email: EmailSender, config: DeliveryConfig, *, owner: str | None = None,
                 rng: random.Random | None = None) -> None:
        self._channels = channels
        self._deliveries = deliveries
        self._webhooks = webhooks
        self._email = email
        self._cfg = config
        self._owner = owner or uuid.uuid4().hex
        self._rng = rng or random.Random()
        self._stopping = False
        self._wake_event = asyncio.Event()
        self._slots = asyncio.Semaphore(config.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: Counter[str] = Counter()
        self._per_channel = config.per_channel or max(1, config.concurrency // 4)
        self.sent = 0

    def wake(self) -> None:
        self._wake_event.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake_event.set()

    async def run(self) -> None:
        try:
            while not self._stopping:
                # Cleared before looking, so that a wake during the look is not lost.
                self._wake_event.clear()
                if await self._claim_some():
                    continue
                try:
                    await asyncio.wait_for(self._wake_event.wait(), timeout=self._cfg.poll_s)
                except TimeoutError:
                    pass
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _claim_some(self) -> bool:
        """Claim while a slot is free; True when something was claimed."""
        claimed_any = False
        while not self._stopping:
            await self._slots.acquire()
            now = datetime.now(UTC)
            try:
                lease_until = now + timedelta(seconds=self._cfg.lease_s)
                busy = [c for c, n in self._in_flight.items() if n >= self._per_channel]
                found = await self._deliveries.claim(self._owner, now, lease_until, busy)
            except Exception:
                self._slots.release()
                logger.warning("claiming deliveries failed", exc_info=True)
                return claimed_any
            if found is None:
                self._slots.release()
                return claimed_any
            claimed_any = True
            self._in_flight[found.delivery.channel_id] += 1
            task = asyncio.create_task(self._deliver(found))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return claimed_any

    async def _deliver(self, claimed: Claimed) -> None:
        delivery = claimed.delivery
        try:
            attempt = await self._attempt(delivery, claimed.notification)
            failures = claimed.failures + (1 if attempt.error else 0)
            logger.info("delivery %s of %s to channel %s: status %d in %d ms%s", delivery.id, delivery.key,
                        delivery.channel_id, attempt.status, attempt.latency_ms,
                        f" ({attempt.error})" if attempt.error else "")
            if not attempt.error:
                state, next_at = "delivered", None
            elif failures >= self._cfg.max_attempts:
                state, next_at = "dead", None
                logger.warning("delivery %s to channel %s is dead after %d attempts: %s", delivery.id,
                               delivery.channel_id, failures, attempt.error or attempt.status)
            else:
                wait = backoff_s(failures, base_s=self._cfg.backoff_base_s, cap_s=self._cfg.backoff_cap_s,
                                 rng=self._rng)
                state, next_at = "pending", attempt.at + timedelta(seconds=wait)
            # Outcome of the attempt: delivered, retried later, or given up (dead).
            metrics.instruments().alert_deliveries.add(1, metrics.attrs({
                "dengar.delivery.outcome": "retry" if state == "pending" else state,
                "dengar.notification.kind": claimed.notification.kind}, delivery.tenant_id))
            if not await self._deliveries.finish(delivery.id, self._owner, attempt, state, next_at):
                logger.warning("delivery %s was taken over before its attempt was recorded", delivery.id)
            elif state == "delivered":
                self.sent += 1
        except Exception:
            logger.exception("delivery %s failed unexpectedly", delivery.id)
        finally:
            self._in_flight[delivery.channel_id] -= 1
            if self._in_flight[delivery.channel_id] <= 0:
                del self._in_flight[delivery.channel_id]
            self._slots.release()

    async def _attempt(self, delivery: Delivery, n: Notification) -> DeliveryAttempt:
        started_wall = datetime.now(UTC)
        started = time.monotonic()
        status, error = 0, ""
        try:
            channel = await self._channels.get(delivery.tenant_id, delivery.channel_id)
            if channel is None:
                error = "the channel was deleted"
            else:
                status = await asyncio.wait_for(self._send(channel, delivery, n),
                                                timeout=self._cfg.attempt_timeout_s)
                if not 200 <= status < 300 and channel.kind == WEBHOOK:
                    error = f"HTTP {status}"
                if not status and not error:
                    error = "no answer"
        except TimeoutError:
            error = f"timed out after {self._cfg.attempt_timeout_s:g} s"
        except Exception as exc:  # every failure of a channel is an attempt's outcome
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
        latency_ms = int((time.monotonic() - started) * 1000)
        return DeliveryAttempt(at=started_wall, status=status, latency_ms=latency_ms, error=error)

    async def _send(self, channel: Channel, delivery: Delivery, n: Notification) -> int:
        if channel.kind == EMAIL:
            if not self._email.configured:
                raise FailedPrecondition("SMTP is not configured")
            return await self._email.send(channel.recipients, render_email(n, channel.language),
                                          self._cfg.attempt_timeout_s)
        body = webhook_body(n, delivery.id, channel.format, channel.language)
        headers = {"Content-Type": "application/json", "User-Agent": "Dengar-Webhooks/1",
                   "X-Dengar-Delivery": delivery.id, "X-Dengar-Event": n.kind,
                   **signed_headers(channel.secret, body, now=time.time())}
        return await self._webhooks.post(channel.url, body, headers, self._cfg.attempt_timeout_s)
