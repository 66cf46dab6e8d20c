"""Deliveries against the real store, a real local HTTP receiver (asyncio server on 127.0.0.1) and a
real local SMTP server (aiosmtpd): retries with back-off, a hanging receiver, signature verification
by the receiver, an Indonesian email, dead-lettering and redelivery, several workers at once."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from dengar_collector.domain.webhook import verify
from dengar_common.errors import FailedPrecondition, InvalidArgument, NotFound
from dengar_common.http_safety import EgressConfig, SafeHttpClient, SafeHttpConfig
from dengar_common.secrets import SecretBox, generate_key
from dengar_insights.adapters.deliveries import MongoChannelStore, MongoDeliveryStore
from dengar_insights.adapters.digests import MongoDigestStore
from dengar_insights.adapters.insight_reads import MongoMentionReads, MongoRollupReads
from dengar_insights.adapters.rollups import RollupRepository
from dengar_insights.adapters.senders import HttpWebhookSender, SmtpEmailSender, UrlCheck
from dengar_insights.domain.channels import ChannelSpec
from dengar_insights.domain.digests import DigestSpec
from dengar_insights.domain.notification import Notification
from dengar_insights.service_layer.deliveries import (
    ChannelManager,
    Deliveries,
    DeliveryConfig,
    DeliveryWorker,
)
from dengar_insights.service_layer.digests import DigestConfig, DigestManager, DigestScheduler
from dengar_insights.service_layer.insight_engine import InsightEngine
from dengar_insights.settings import SmtpConfig

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers by path: /ok 200, /flaky 500 twice then 200, /hang never, /gone 410."""

    requests: list[Received] = field(default_factory=list)
    flaky_left: int = 2
    port: int = 0
    server: asyncio.Server | None = None

    async def start(self) -> Receiver:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                _method, path, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b""):
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(Received(path, headers, body))
                if path == "/hang":
                    await asyncio.sleep(3600)
                status = 200
                if path == "/flaky" and self.flaky_left > 0:
                    self.flaky_left -= 1
                    status = 500
                elif path == "/gone":
                    status = 410
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok".encode())
                await writer.drain()
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self.server:
            self.server.close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.close()


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with socket.socket() as probe:  # aiosmtpd's readiness check needs the real port up front
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@dataclass
class Stack:
    channels: ChannelManager
    deliveries: Deliveries
    channel_store: MongoChannelStore
    delivery_store: MongoDeliveryStore
    http: SafeHttpClient
    email: SmtpEmailSender

    def worker(self, **cfg: Any) -> DeliveryWorker:
        base = dict(max_attempts=3, attempt_timeout_s=1.0, backoff_base_s=0.05, backoff_cap_s=0.2,
                    poll_s=0.05)
        base.update(cfg)
        return DeliveryWorker(self.channel_store, self.delivery_store, HttpWebhookSender(self.http),
                              self.email, DeliveryConfig(**base))


@pytest.fixture
async def stack(mongo_client: Any, unique: str, smtp: tuple[Mailbox, int]) -> AsyncIterator[Stack]:
    db = mongo_client[unique]
    channel_store = MongoChannelStore(db, SecretBox([generate_key()]))
    delivery_store = MongoDeliveryStore(db)
    await channel_store.ensure_indexes()
    await delivery_store.ensure_indexes()
    policy = EgressConfig(allow_private=True).policy()
    http = SafeHttpClient(SafeHttpConfig(policy=policy, max_redirects=0, total_timeout_s=5))
    mail = SmtpEmailSender(SmtpConfig(host="127.0.0.1", port=smtp[1], security="none",
                                      from_address="alerts@dengar.example"))
    try:
        yield Stack(ChannelManager(channel_store, email_configured=True, check_url=UrlCheck(policy)),
                    Deliveries(channel_store, delivery_store), channel_store, delivery_store, http, mail)
    finally:
        await http.aclose()
        await mongo_client.drop_database(unique)


def note(key: str, tenant: str = "acme") -> Notification:
    return Notification(
        tenant_id=tenant, key=key, kind="alert.firing",
        title={"en": "Negative spike on Refunds", "id": "Lonjakan negatif pada Refund"},
        text={"en": "Negative mentions tripled.", "id": "Sebutan negatif naik tiga kali lipat."},
        payload={"rule_id": "r1"}, created_at=NOW, severity="warning")


async def run_until(worker: DeliveryWorker, done: Any, timeout_s: float = 10) -> None:
    task = asyncio.create_task(worker.run())
    try:
        deadline = time.monotonic() + timeout_s
        while not await done():
            assert time.monotonic() < deadline, "deliveries did not settle"
            await asyncio.sleep(0.05)
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout=10)


async def test_flaky_receiver_gets_it_on_the_third_attempt_signed(stack: Stack, receiver: Receiver) -> None:
    channel = await stack.channels.create("acme", ChannelSpec(name="ops", kind="webhook",
                                                              url=receiver.url("/flaky")))
    assert channel.secret.startswith("whsec_")
    assert (await stack.channels.get("acme", channel.id)).secret == ""  # shown once
    ids = await stack.deliveries.dispatch(note("alert:i1:firing"), [channel.id])
    assert await stack.deliveries.dispatch(note("alert:i1:firing"), [channel.id]) == ids  # idempotent

    async def delivered() -> bool:
        return (await stack.deliveries.get("acme", ids[0])).state == "delivered"

    await run_until(stack.worker(max_attempts=5), delivered)
    [d] = await stack.deliveries.deliveries("acme", "alert:i1:firing")
    assert [a.status for a in d.attempts] == [500, 500, 200]
    assert [bool(a.error) for a in d.attempts] == [True, True, False]
    assert all(a.latency_ms >= 0 for a in d.attempts)
    assert len(receiver.requests) == 3
    for req in receiver.requests:
        verify(channel.secret, req.headers["x-dengar-timestamp"], req.headers["x-dengar-signature"], req.body,
               now=time.time(), tolerance_s=300)
    doc = json.loads(receiver.requests[-1].body)
    assert doc["id"] == ids[0] and doc["key"] == "alert:i1:firing"


async def test_a_hanging_receiver_times_out_and_never_blocks_the_others(
        stack: Stack, receiver: Receiver, smtp: tuple[Mailbox, int]) -> None:
    hang = await stack.channels.create("acme", ChannelSpec(name="hang", kind="webhook",
                                                           url=receiver.url("/hang")))
    ok = await stack.channels.create("acme", ChannelSpec(name="ok", kind="webhook", url=receiver.url("/ok"),
                                                         format="slack", language="id"))
    mail = await stack.channels.create("acme", ChannelSpec(name="pr", kind="email", language="id",
                                                           recipients=("humas@contoh.co.id",)))
    # A flood to the hanging receiver first: it may not take every slot.
    for i in range(6):
        await stack.deliveries.dispatch(note(f"alert:flood{i}:firing"), [hang.id])
    ids = await stack.deliveries.dispatch(note("alert:i2:firing"), [hang.id, ok.id, mail.id])
    started = time.monotonic()
    settled_after: list[float] = []

    async def others_done() -> bool:
        states = [(await stack.deliveries.get("acme", i)).state for i in ids[1:]]
        settled_after.append(time.monotonic() - started)
        return states == ["delivered", "delivered"]

    await run_until(stack.worker(max_attempts=1, attempt_timeout_s=3, concurrency=4), others_done)
    assert settled_after[-1] < 2.5, "the hanging channel held the others back"
    slack = next(r for r in receiver.requests if r.path == "/ok")
    assert json.loads(slack.body)["text"].startswith("Lonjakan negatif pada Refund")

    async def hang_dead() -> bool:
        return len(await stack.deliveries.list("acme", state="dead")) == 7

    await run_until(stack.worker(max_attempts=1, attempt_timeout_s=0.5), hang_dead)
    [attempt] = (await stack.deliveries.get("acme", ids[0])).attempts
    assert attempt.status == 0 and "timed out" in attempt.error

    box, _ = smtp
    [(rcpt, raw)] = box.messages
    assert rcpt == ["humas@contoh.co.id"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "[PERINGATAN] Lonjakan negatif pada Refund"
    plain = message.get_body(("plain",)).get_content()
    assert "Sebutan negatif naik tiga kali lipat." in plain and "Dikirim oleh Dengar." in plain
    assert "<h2>Lonjakan negatif pada Refund</h2>" in message.get_body(("html",)).get_content()


async def test_dead_after_n_failures_and_redeliver(stack: Stack, receiver: Receiver) -> None:
    gone = await stack.channels.create("acme", ChannelSpec(name="gone", kind="webhook",
                                                           url=receiver.url("/gone")))
    [did] = await stack.deliveries.dispatch(note("alert:i3:firing"), [gone.id])

    async def dead() -> bool:
        return (await stack.deliveries.get("acme", did)).state == "dead"

    await run_until(stack.worker(max_attempts=3), dead)
    assert [a.status for a in (await stack.deliveries.get("acme", did)).attempts] == [410, 410, 410]
    [pending] = await stack.deliveries.dispatch(note("alert:i4:firing"), [gone.id])
    with pytest.raises(FailedPrecondition):
        await stack.deliveries.redeliver("acme", pending)  # not dead
    with pytest.raises(NotFound):  # another tenant's delivery looks like no delivery
        await stack.deliveries.redeliver("other", did)
    again = await stack.deliveries.redeliver("acme", did)
    assert again.state == "pending"
    await run_until(stack.worker(max_attempts=3), dead)
    assert len((await stack.deliveries.get("acme", did)).attempts) == 6


async def test_several_workers_send_each_delivery_once(stack: Stack, receiver: Receiver) -> None:
    channel = await stack.channels.create("acme", ChannelSpec(name="ok", kind="webhook",
                                                              url=receiver.url("/ok")))
    for i in range(30):
        await stack.deliveries.dispatch(note(f"alert:m{i}:firing"), [channel.id])

    async def all_delivered() -> bool:
        return len(await stack.deliveries.list("acme", state="delivered")) == 30

    workers = [stack.worker(concurrency=4) for _ in range(3)]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        deadline = time.monotonic() + 15
        while not await all_delivered():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        for w in workers:
            w.stop()
        await asyncio.gather(*tasks)
    assert len(receiver.requests) == 30
    assert len({json.loads(r.body)["id"] for r in receiver.requests}) == 30


async def test_channel_validation_and_tenant_isolation(stack: Stack, receiver: Receiver) -> None:
    strict = ChannelManager(stack.channel_store, email_configured=False,
                            check_url=UrlCheck(EgressConfig().policy()))
    with pytest.raises(InvalidArgument) as info:
        await strict.create("acme", ChannelSpec(name="x", kind="webhook", url=receiver.url("/ok")))
    assert info.value.field == "url"
    with pytest.raises(FailedPrecondition):
        await strict.create("acme", ChannelSpec(name="x", kind="email", recipients=("a@b.co",)))
    mine = await stack.channels.create("acme", ChannelSpec(name="ok", kind="webhook",
                                                           url=receiver.url("/ok")))
    assert await stack.channels.list("other") == []
    with pytest.raises(InvalidArgument) as info:
        await stack.deliveries.dispatch(note("alert:x:firing", tenant="other"), [mine.id])
    assert info.value.field == "channel_ids"
    rotated = await stack.channels.rotate_secret("acme", mine.id)
    assert rotated.secret and rotated.secret != mine.secret
    assert (await stack.channel_store.get("acme", mine.id)).secret == rotated.secret
    raw = await stack.channel_store._col.find_one({"_id": mine.id})
    assert rotated.secret not in json.dumps(raw, default=str)


async def test_a_digest_fires_once_per_period_across_two_replicas(
        stack: Stack, receiver: Receiver, mongo_client: Any, unique: str) -> None:
    db = mongo_client[unique]
    store = MongoDigestStore(db)
    await store.ensure_indexes()
    channel = await stack.channels.create("acme", ChannelSpec(name="ops", kind="webhook",
                                                              url=receiver.url("/ok")))
    created = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    manager = DigestManager(store, stack.channel_store, clock=lambda: created)
    digest = await manager.create("acme", DigestSpec(name="Pagi", frequency="daily", time="08:00",
                                                     time_zone="Asia/Jakarta", language="id",
                                                     channel_ids=(channel.id,)))
    assert digest.next_run_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert await manager.list("other") == []
    engine = InsightEngine(MongoRollupReads(RollupRepository(db)), MongoMentionReads(db))
    later = datetime(2026, 12, 1, 1, 5, tzinfo=UTC)
    replicas = [DigestScheduler(store, stack.channel_store, engine, stack.deliveries, DigestConfig(),
                                clock=lambda: later) for _ in range(2)]
    sent = await asyncio.gather(*(r.run_due() for r in replicas), *(r.run_due() for r in replicas))
    assert sum(sent) == 1
    assert (await manager.get("acme", digest.id)).next_run_at == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    key = "digest:" + digest.id + ":2026-11-30T01:00:00Z"
    [delivery] = await stack.deliveries.deliveries("acme", key)

    async def delivered() -> bool:
        return (await stack.deliveries.get("acme", delivery.id)).state == "delivered"

    await run_until(stack.worker(), delivered)
    [req] = receiver.requests
    doc = json.loads(req.body)
    assert doc["type"] == "digest" and doc["key"] == key
    assert doc["title"] == {"id": "Ringkasan harian: Pagi"}
    assert doc["data"]["start"] == "2026-11-30T01:00:00+00:00"


async def test_a_name_resolving_to_loopback_is_refused_at_send_time(stack: Stack, receiver: Receiver) -> None:
    # The name passes the save-time check (only literal addresses are checked there); the default
    # egress policy refuses it on the resolved address, before any byte is sent.
    strict = ChannelManager(stack.channel_store, email_configured=False,
                            check_url=UrlCheck(EgressConfig().policy()))
    channel = await strict.create("acme", ChannelSpec(name="sneaky", kind="webhook",
                                                      url=f"http://localhost:{receiver.port}/ok"))
    [did] = await stack.deliveries.dispatch(note("alert:ssrf:firing"), [channel.id])
    async with SafeHttpClient(SafeHttpConfig(max_redirects=0, total_timeout_s=5)) as public_only:
        worker = DeliveryWorker(stack.channel_store, stack.delivery_store, HttpWebhookSender(public_only),
                                stack.email, DeliveryConfig(max_attempts=1, attempt_timeout_s=2, poll_s=0.05))

        async def dead() -> bool:
            return (await stack.deliveries.get("acme", did)).state == "dead"

        await run_until(worker, dead)
    [attempt] = (await stack.deliveries.get("acme", did)).attempts
    assert attempt.status == 0 and "loopback" in attempt.error
    assert receiver.requests == []
