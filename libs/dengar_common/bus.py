"""The JetStream event bus: subjects, streams, publishing and the pull-consumer worker.

Semantics (at-least-once):
- publishers set ``Nats-Msg-Id`` so the server drops duplicates inside the stream's window;
- a worker acks a message only after its handler succeeded, so a crash means redelivery;
- a message that failed ``max_deliver`` times is copied to the dead-letter stream with its error,
  then acked, so it never blocks the stream;
- consumers must therefore be idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError, ServiceUnavailableError

from dengar_common import metrics, telemetry

logger = logging.getLogger(__name__)

DUPLICATE_WINDOW_S = 600.0
# Mention events ("a mention was stored or changed") feed live streams, whose resume positions
# are these events' stream sequences: kept two hours so a resume within the last hour always
# finds its position, and de-duplicated over a whole hour so a redelivered post published again
# within that time is dropped by the server.
MENTION_EVENTS_MAX_AGE_S = 2 * 3600.0
MENTION_EVENTS_DUPLICATE_WINDOW_S = 3600.0
# How often an idle consumer asks the server for its lag (dengar.messaging.consumer.pending).
LAG_CHECK_S = 10.0
# How long start-up waits for JetStream to accept the streams (a cluster electing its leaders).
STREAMS_READY_TIMEOUT_S = 120.0
# JetStream's error code for creating a stream whose name exists with another configuration.
STREAM_NAME_IN_USE = 10058


@dataclass(frozen=True)
class Subjects:
    """Every subject and stream name, derived from one root so deployments can share a server."""

    root: str = "dengar"

    def collected(self, tenant_id: str) -> str:
        return f"{self.root}.posts.collected.{tenant_id}"

    def enriched(self, tenant_id: str) -> str:
        return f"{self.root}.posts.enriched.{tenant_id}"

    def dlq(self, stage: str, tenant_id: str) -> str:
        return f"{self.root}.dlq.{stage}.{tenant_id}"

    @property
    def collected_all(self) -> str:
        return f"{self.root}.posts.collected.*"

    @property
    def enriched_all(self) -> str:
        return f"{self.root}.posts.enriched.*"

    def queries_changed(self, tenant_id: str) -> str:
        """Listening-query changes (``dengar.v1.QueryChanged``), published by the collector's outbox."""
        return f"{self.root}.queries.changed.{tenant_id}"

    @property
    def queries_changed_all(self) -> str:
        return f"{self.root}.queries.changed.*"

    def mentions_stored(self, tenant_id: str) -> str:
        """A mention was stored or changed (JSON ``{"id", "content_hash"}``), published by insights."""
        return f"{self.root}.mentions.stored.{tenant_id}"

    @property
    def mentions_stored_all(self) -> str:
        return f"{self.root}.mentions.stored.*"

    def alerts(self, tenant_id: str) -> str:
        """Alerts firing and resolving (JSON), published by insights for internal consumers."""
        return f"{self.root}.alerts.{tenant_id}"

    @property
    def alerts_all(self) -> str:
        return f"{self.root}.alerts.*"

    @property
    def dlq_all(self) -> str:
        return f"{self.root}.dlq.>"

    def stream(self, kind: str) -> str:
        return f"{self.root.upper().replace('.', '_').replace('-', '_')}_{kind.upper()}"


def server_urls(url: str) -> list[str]:
    """The servers of ``DENGAR_NATS_URL``: one URL, or a comma-separated list of a cluster's nodes
    (``nats://nats-0:4222,nats://nats-1:4222``), so that a client can connect while any node is down."""
    urls = [u.strip() for u in url.split(",") if u.strip()]
    if not urls:
        raise ValueError("no NATS server URL")
    return urls


async def connect(url: str, *, name: str) -> NatsClient:
    """Connect to one server or a cluster (``url`` as in :func:`server_urls`); reconnect forever,
    to whichever node of the list (or of the cluster's gossip) answers."""
    async def _err(e: Exception) -> None:
        logger.warning("nats error: %s", e)

    return await nats.connect(
        server_urls(url), name=name, error_cb=_err, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
        connect_timeout=5,
    )


async def ensure_streams(js: JetStreamContext, subjects: Subjects, *, replicas: int = 1) -> None:
    """Create (or update) the file-backed streams. Safe to call from every service at start-up.

    ``replicas`` is the streams' replication factor: 1 on a single server, 3 on a three-node
    JetStream cluster (a stream then survives the loss of one node). Every service must pass the
    same value, since each one updates the streams to its own configuration. Durable consumers
    inherit it from their stream.
    """
    configs = [
        StreamConfig(name=subjects.stream("collected"), subjects=[subjects.collected_all],
                     storage=StorageType.FILE, num_replicas=replicas, duplicate_window=DUPLICATE_WINDOW_S),
        StreamConfig(name=subjects.stream("enriched"), subjects=[subjects.enriched_all],
                     storage=StorageType.FILE, num_replicas=replicas, duplicate_window=DUPLICATE_WINDOW_S),
        # Query changes are few and each one matters until consumed: kept without an age limit.
        StreamConfig(name=subjects.stream("queries"), subjects=[subjects.queries_changed_all],
                     storage=StorageType.FILE, num_replicas=replicas, duplicate_window=DUPLICATE_WINDOW_S),
        StreamConfig(name=subjects.stream("mentions"), subjects=[subjects.mentions_stored_all],
                     storage=StorageType.FILE, num_replicas=replicas, max_age=MENTION_EVENTS_MAX_AGE_S,
                     duplicate_window=MENTION_EVENTS_DUPLICATE_WINDOW_S),
        StreamConfig(name=subjects.stream("alerts"), subjects=[subjects.alerts_all],
                     storage=StorageType.FILE, num_replicas=replicas, duplicate_window=DUPLICATE_WINDOW_S,
                     max_age=30 * 24 * 3600.0),
        StreamConfig(name=subjects.stream("dlq"), subjects=[subjects.dlq_all],
                     storage=StorageType.FILE, num_replicas=replicas, max_age=14 * 24 * 3600.0),
    ]
    deadline = asyncio.get_running_loop().time() + STREAMS_READY_TIMEOUT_S
    for cfg in configs:
        cfg.num_replicas = replicas
        await _ensure_stream(js, cfg, deadline)


async def _ensure_stream(js: JetStreamContext, cfg: StreamConfig, deadline: float) -> None:
    # On a cluster every change goes through the meta leader, which is busy (or being elected)
    # while several services start at once: a timeout or 503 there is retried, not fatal.
    assert cfg.name is not None
    while True:
        try:
            try:
                await js.stream_info(cfg.name)
                await js.update_stream(cfg)
            except NotFoundError:
                await js.add_stream(cfg)
            return
        except (NatsTimeoutError, TimeoutError, NoRespondersError, ServiceUnavailableError,
                BadRequestError) as exc:
            # BadRequest: another service created the stream between our lookup and our create
            # ("stream name already in use"); the next round finds and updates it.
            if isinstance(exc, BadRequestError) and exc.err_code != STREAM_NAME_IN_USE:
                raise
            if asyncio.get_running_loop().time() > deadline:
                raise
            logger.warning("stream %s not ready yet (%s: %s); retrying", cfg.name, type(exc).__name__, exc)
            await asyncio.sleep(1.0)


async def publish(js: JetStreamContext, subject: str, payload: bytes, *, msg_id: str,
                  headers: dict[str, str] | None = None, timeout: float = 10.0) -> bool:
    """Publish with de-duplication. Returns False when the server dropped it as a duplicate.

    The publish is a PRODUCER span of the current trace, whose context travels in the message's
    headers (W3C ``traceparent``): the consumer's span continues it.
    """
    hdrs = dict(headers or {})
    hdrs["Nats-Msg-Id"] = msg_id
    with telemetry.producer_span(subject, message_id=msg_id) as span:
        hdrs = telemetry.inject_headers(hdrs)
        ack = await js.publish(subject, payload, headers=hdrs, timeout=timeout)
        if ack.duplicate:
            span.set_attribute("dengar.messaging.duplicate", True)
    return not ack.duplicate


Outcome = BaseException | None
BatchHandler = Callable[[Sequence[Msg]], Awaitable[Sequence[Outcome]]]


@runtime_checkable
class StagedHandler(Protocol):
    """A batch handler in two stages, so that the worker reads the next batch while one finishes.

    ``prepare`` makes the reads of a batch (decoding, lookups) and writes nothing; ``commit``
    makes its writes and returns one outcome per message, and calls ``ready()`` where the next
    batch's ``prepare`` may start alongside (e.g. before its last write). Commits still run one
    after the other, in the order the batches were fetched, so the writes keep that order. Calling
    the handler does both stages (the worker does that to retry messages one by one).
    """

    def __call__(self, msgs: Sequence[Msg], /) -> Awaitable[Sequence[Outcome]]: ...

    async def prepare(self, msgs: Sequence[Msg], /) -> Any: ...

    async def commit(self, prepared: Any, ready: Callable[[], None], /) -> Sequence[Outcome]: ...


def _no_read_ahead() -> None:
    pass


class _Unprepared:
    """Marker: the batch was not prepared (a plain handler, or ``prepare`` failed)."""


_UNPREPARED = _Unprepared()


@dataclass(frozen=True)
class WorkerConfig:
    stream: str
    durable: str
    filter_subject: str
    batch_size: int = 64
    max_wait_s: float = 0.2
    max_deliver: int = 5
    ack_wait_s: float = 60.0
    # Stage name used in the dead-letter subject (e.g. "nlp", "insights").
    stage: str = "worker"


class PullWorker:
    """Fetches batches from a durable pull consumer and hands them to a batch handler.

    Several processes running the same durable share the work. The handler returns one outcome
    per message (None for success). If it raises, each message is retried alone so that one
    poison message cannot fail its neighbours.
    """

    def __init__(self, js: JetStreamContext, subjects: Subjects, config: WorkerConfig,
                 handler: BatchHandler, *, instruments: metrics.Instruments | None = None) -> None:
        self._js = js
        self._instruments = instruments
        self._subjects = subjects
        self._cfg = config
        self._handler = handler
        self._stopping = asyncio.Event()
        self.processed = 0
        self.dead_lettered = 0
        # Bounded metric attributes: the stream and the durable, never the subject (tenant).
        self._attrs = {"messaging.system": telemetry.MESSAGING_SYSTEM,
                       "messaging.destination.name": config.stream,
                       "messaging.consumer.group.name": config.durable}
        self._lag_checked = 0.0

    @property
    def _inst(self) -> metrics.Instruments:
        return self._instruments or metrics.instruments()

    def stop(self) -> None:
        self._stopping.set()

    async def _subscribe(self) -> JetStreamContext.PullSubscription | None:
        """The pull subscription, retried while JetStream cannot answer yet (a cluster electing the
        consumer's leader); None when stopped first."""
        cfg = self._cfg
        while not self._stopping.is_set():
            try:
                return await self._js.pull_subscribe(
                    cfg.filter_subject, durable=cfg.durable, stream=cfg.stream,
                    config=ConsumerConfig(
                        durable_name=cfg.durable, ack_policy=AckPolicy.EXPLICIT,
                        deliver_policy=DeliverPolicy.ALL, ack_wait=cfg.ack_wait_s,
                        max_ack_pending=max(1000, cfg.batch_size * 8), filter_subject=cfg.filter_subject,
                    ),
                )
            except (NatsTimeoutError, TimeoutError, NoRespondersError, ServiceUnavailableError) as exc:
                logger.warning("consumer %s not ready yet (%s); retrying", cfg.durable, type(exc).__name__)
                await asyncio.sleep(1.0)
        return None

    async def run(self) -> None:
        cfg = self._cfg
        sub = await self._subscribe()
        if sub is None:
            return
        logger.info("worker %s consuming %s", cfg.durable, cfg.filter_subject)
        # A staged handler's next batch, fetched and prepared while the current one commits.
        ahead: asyncio.Task[tuple[list[Msg], Any]] | None = None

        def read_ahead() -> None:
            nonlocal ahead
            if ahead is None and not self._stopping.is_set():
                ahead = asyncio.create_task(self._next(sub), name=f"{cfg.durable}-read-ahead")

        try:
            # A batch read ahead before the stop is still processed (it was fetched: not acking
            # it would only delay it by the ack wait).
            while not self._stopping.is_set() or ahead is not None:
                if ahead is not None:
                    current, ahead = ahead, None
                    msgs, prepared = await current
                else:
                    msgs, prepared = await self._next(sub)
                if msgs:
                    await self._process(msgs, prepared, read_ahead)
        finally:
            if ahead is not None:
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)
            try:
                await sub.unsubscribe()
            except Exception:  # already closed or draining
                logger.debug("unsubscribe failed", exc_info=True)

    async def _next(self, sub: Any) -> tuple[list[Msg], Any]:
        """The next batch (empty after a fetch timeout or failure), prepared by a staged handler."""
        cfg = self._cfg
        try:
            msgs = list(await sub.fetch(cfg.batch_size, timeout=cfg.max_wait_s))
        except (TimeoutError, NatsTimeoutError):
            await self._check_lag(sub)
            return [], _UNPREPARED
        except Exception as exc:  # connection hiccups: back off, the client reconnects
            if not self._stopping.is_set():
                logger.warning("fetch failed on %s: %s", cfg.durable, exc)
                await asyncio.sleep(0.5)
            return [], _UNPREPARED
        if not msgs or not isinstance(self._handler, StagedHandler):
            return msgs, _UNPREPARED
        try:
            return msgs, await self._handler.prepare(msgs)
        except Exception as exc:
            # Handled as a whole again (and then one by one) when its turn comes.
            logger.warning("preparing a batch of %d failed: %s", len(msgs), exc)
            return msgs, _UNPREPARED

    async def _check_lag(self, sub: Any) -> None:
        """While idle, the lag comes from the server (at most every LAG_CHECK_S): a fetch that
        times out may still leave messages pending (max_ack_pending reached, another replica)."""
        now = time.monotonic()
        if now - self._lag_checked < LAG_CHECK_S:
            return
        self._lag_checked = now
        try:
            info = await sub.consumer_info()
        except Exception as exc:  # informational only: the next check tries again
            logger.debug("consumer info of %s failed: %s", self._cfg.durable, exc)
            return
        metrics.set_consumer_pending(self._cfg.stream, self._cfg.durable, int(info.num_pending or 0))

    def _record_received(self, msgs: Sequence[Msg]) -> None:
        inst = self._inst
        redelivered = 0
        for msg in msgs:
            try:
                if (msg.metadata.num_delivered or 1) > 1:
                    redelivered += 1
            except Exception:  # not a JetStream message (tests hand plain ones)
                continue
        if redelivered:
            inst.consumer_redeliveries.add(redelivered, self._attrs)
        try:
            # Each message says how many were still waiting behind it when it was delivered.
            pending = msgs[-1].metadata.num_pending
        except Exception:
            pending = None
        if pending is not None:
            metrics.set_consumer_pending(self._cfg.stream, self._cfg.durable, int(pending))
            self._lag_checked = time.monotonic()

    async def _process(self, msgs: Sequence[Msg], prepared: Any = _UNPREPARED,
                       ready: Callable[[], None] | None = None) -> None:
        started = time.perf_counter()
        self._record_received(msgs)
        try:
            await self._handle(msgs, prepared, ready)
        finally:
            inst = self._inst
            inst.process_duration.record(time.perf_counter() - started, self._attrs)
            inst.consumer_processed.add(len(msgs), self._attrs)

    async def _handle(self, msgs: Sequence[Msg], prepared: Any = _UNPREPARED,
                      ready: Callable[[], None] | None = None) -> None:
        try:
            if isinstance(prepared, _Unprepared) or not isinstance(self._handler, StagedHandler):
                outcomes = list(await self._handler(msgs))
            else:
                outcomes = list(await self._handler.commit(prepared, ready or _no_read_ahead))
            if len(outcomes) != len(msgs):
                raise RuntimeError("handler returned a wrong number of outcomes")
        except Exception as exc:
            logger.warning("batch of %d failed (%s); retrying one by one", len(msgs), exc)
            outcomes = []
            for m in msgs:
                try:
                    outcomes.extend(await self._handler([m]))
                except Exception as single_exc:
                    outcomes.append(single_exc)
        for msg, outcome in zip(msgs, outcomes, strict=True):
            if outcome is None:
                await msg.ack()
                self.processed += 1
            else:
                await self._fail(msg, outcome)

    async def _fail(self, msg: Msg, error: BaseException) -> None:
        delivered = msg.metadata.num_delivered if msg.metadata else 1
        if delivered >= self._cfg.max_deliver:
            tenant = msg.subject.rsplit(".", 1)[-1]
            headers = dict(msg.headers or {})
            headers.pop("Nats-Msg-Id", None)
            headers.update({
                "Dengar-Error": f"{type(error).__name__}: {error}"[:1000],
                "Dengar-Original-Subject": msg.subject,
                "Dengar-Deliveries": str(delivered),
            })
            await self._js.publish(self._subjects.dlq(self._cfg.stage, tenant), msg.data,
                                   headers=headers)
            await msg.ack()
            self.dead_lettered += 1
            self._inst.consumer_dead_lettered.add(1, self._attrs)
            logger.error("dead-lettered message on %s after %d deliveries: %s",
                         msg.subject, delivered, error)
        else:
            # Back off so that a transient failure (store restart) has time to clear.
            await msg.nak(delay=min(30.0, 0.5 * 2 ** (delivered - 1)))
            logger.warning("nak %s (delivery %d): %s", msg.subject, delivered, error)
