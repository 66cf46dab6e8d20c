"""The event bus against a real nats-server: de-duplication, batching, DLQ and shared work."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from nats.aio.msg import Msg

from dengar_common.bus import PullWorker, Subjects, WorkerConfig, ensure_streams, publish


async def _drain_until(pred, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_duplicate_msg_ids_are_dropped(nats_client, unique: str) -> None:
    js = nats_client.jetstream()
    subjects = Subjects(unique)
    await ensure_streams(js, subjects)
    first = await publish(js, subjects.collected("acme"), b"a", msg_id="acme:x:1")
    again = await publish(js, subjects.collected("acme"), b"a", msg_id="acme:x:1")
    other = await publish(js, subjects.collected("acme"), b"b", msg_id="acme:x:2")
    assert (first, again, other) == (True, False, True)
    info = await js.stream_info(subjects.stream("collected"))
    assert info.state.messages == 2


async def test_poison_message_goes_to_dlq_and_does_not_block(nats_client, unique: str) -> None:
    js = nats_client.jetstream()
    subjects = Subjects(unique)
    await ensure_streams(js, subjects)
    seen: list[bytes] = []

    async def handler(msgs: Sequence[Msg]) -> list[BaseException | None]:
        if any(m.data == b"poison" for m in msgs):
            raise ValueError("cannot parse")
        seen.extend(m.data for m in msgs)
        return [None] * len(msgs)

    for i, body in enumerate([b"ok1", b"poison", b"ok2"]):
        await publish(js, subjects.collected("acme"), body, msg_id=f"m{i}")
    worker = PullWorker(js, subjects, WorkerConfig(
        stream=subjects.stream("collected"), durable="w", filter_subject=subjects.collected_all,
        batch_size=10, max_wait_s=0.1, max_deliver=2, stage="test"), handler)
    # Naks back off 0.5 s, so two deliveries complete quickly.
    task = asyncio.create_task(worker.run())
    await _drain_until(lambda: worker.dead_lettered == 1 and len(seen) == 2)
    worker.stop()
    await task
    assert sorted(seen) == [b"ok1", b"ok2"]
    dlq = await js.pull_subscribe(subjects.dlq_all, durable="dlqread", stream=subjects.stream("dlq"))
    [dead] = await dlq.fetch(1, timeout=5)
    assert dead.data == b"poison"
    assert dead.headers["Dengar-Error"].startswith("ValueError: cannot parse")
    assert dead.headers["Dengar-Original-Subject"] == subjects.collected("acme")


async def test_two_replicas_share_one_durable(nats_client, unique: str) -> None:
    js = nats_client.jetstream()
    subjects = Subjects(unique)
    await ensure_streams(js, subjects)
    got: dict[str, list[bytes]] = {"a": [], "b": []}

    def make(name: str):
        async def handler(msgs: Sequence[Msg]) -> list[BaseException | None]:
            got[name].extend(m.data for m in msgs)
            await asyncio.sleep(0.01)
            return [None] * len(msgs)
        return handler

    cfg = WorkerConfig(stream=subjects.stream("collected"), durable="shared",
                       filter_subject=subjects.collected_all, batch_size=5, max_wait_s=0.05)
    workers = [PullWorker(js, subjects, cfg, make(n)) for n in ("a", "b")]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    for i in range(200):
        await publish(js, subjects.collected("acme"), str(i).encode(), msg_id=str(i))
    await _drain_until(lambda: len(got["a"]) + len(got["b"]) >= 200)
    for w in workers:
        w.stop()
    await asyncio.gather(*tasks)
    assert len(got["a"]) + len(got["b"]) == 200
    assert set(got["a"]).isdisjoint(got["b"])
    assert got["a"] and got["b"]


def _sums(reader) -> dict[str, dict[tuple, float]]:
    """Metric name → {sorted attributes: value} from an in-memory reader."""
    out: dict[str, dict[tuple, float]] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                for p in m.data.data_points:
                    value = getattr(p, "value", None)
                    out.setdefault(m.name, {})[tuple(sorted(p.attributes.items()))] = \
                        value if value is not None else p.count
    return out


async def test_worker_reports_lag_redeliveries_and_dead_letters(nats_client, unique: str) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from dengar_common.metrics import make_instruments

    js = nats_client.jetstream()
    subjects = Subjects(unique)
    await ensure_streams(js, subjects)
    reader = InMemoryMetricReader()
    inst = make_instruments(MeterProvider(metric_readers=[reader]).get_meter("test"))

    async def handler(msgs: Sequence[Msg]) -> list[BaseException | None]:
        return [ValueError("cannot parse") if m.data == b"poison" else None for m in msgs]

    for i, body in enumerate([b"ok1", b"poison", b"ok2", b"ok3"]):
        await publish(js, subjects.collected("acme"), body, msg_id=f"m{i}")
    worker = PullWorker(js, subjects, WorkerConfig(
        stream=subjects.stream("collected"), durable="lagged", filter_subject=subjects.collected_all,
        batch_size=1, max_wait_s=0.1, max_deliver=3, stage="test"), handler, instruments=inst)
    task = asyncio.create_task(worker.run())
    await _drain_until(lambda: worker.dead_lettered == 1 and worker.processed == 3)
    worker.stop()
    await task
    sums = _sums(reader)
    consumer = (("messaging.consumer.group.name", "lagged"),
                ("messaging.destination.name", subjects.stream("collected")), ("messaging.system", "nats"))
    # The poison message came three times: two redeliveries, then the dead-letter stream.
    assert sums["dengar.messaging.consumer.redeliveries"] == {consumer: 2}
    assert sums["dengar.messaging.consumer.dead_lettered"] == {consumer: 1}
    assert sums["messaging.client.consumed.messages"] == {consumer: 6}
    # The last message delivered had nothing behind it.
    assert sums["dengar.messaging.consumer.pending"][consumer] == 0


async def test_stream_replicas_reach_the_server(nats_client, unique: str) -> None:
    """DENGAR_NATS_STREAM_REPLICAS is passed to every stream: 1 on this single server, and a single server
    refuses 3 (a NATS cluster is what takes them; deploy/k8s/overlays/prod sets 3)."""
    from nats.js.errors import APIError

    js = nats_client.jetstream()
    subjects = Subjects(unique)
    await ensure_streams(js, subjects, replicas=1)
    for kind in ("collected", "enriched", "queries", "mentions", "alerts", "dlq"):
        info = await js.stream_info(subjects.stream(kind))
        assert info.config.num_replicas == 1, kind
    with pytest.raises(APIError, match=r"(?i)replicas"):
        await ensure_streams(js, Subjects(unique + "r3"), replicas=3)


class Staged:
    """A staged handler that logs its stages and holds each commit at ``ready()`` until told."""

    def __init__(self, fail_prepare: bytes = b"") -> None:
        self.log: list[tuple[str, list[bytes]]] = []
        self.release = asyncio.Event()
        self.fail_prepare = fail_prepare

    async def __call__(self, msgs: Sequence[Msg]) -> list[BaseException | None]:
        self.log.append(("call", [m.data for m in msgs]))
        return [None] * len(msgs)

    async def prepare(self, msgs: Sequence[Msg]) -> list[bytes]:
        if any(m.data == self.fail_prepare for m in msgs):
            raise ValueError("cannot prepare")
        self.log.append(("prepare", [m.data for m in msgs]))
        return [m.data for m in msgs]

    async def commit(self, prepared: list[bytes], ready) -> list[BaseException | None]:
        self.log.append(("ready", prepared))
        ready()
        await self.release.wait()
        self.log.append(("commit", prepared))
        return [None] * len(prepared)


async def test_a_staged_handler_prepares_the_next_batch_while_one_commits(nats_client, unique: str) -> None:
    js = nats_client.jetstream()
    subjects = Subjects(unique)
    await ensure_streams(js, subjects)
    handler = Staged()
    worker = PullWorker(js, subjects, WorkerConfig(
        stream=subjects.stream("collected"), durable="staged", filter_subject=subjects.collected_all,
        batch_size=2, max_wait_s=0.1), handler)
    for i in range(4):
        await publish(js, subjects.collected("acme"), b"m%d" % i, msg_id=f"s{i}")
    task = asyncio.create_task(worker.run())
    # The first commit waits at ready(); meanwhile the next batch is fetched and prepared.
    await _drain_until(lambda: ("prepare", [b"m2", b"m3"]) in handler.log)
    assert handler.log == [("prepare", [b"m0", b"m1"]), ("ready", [b"m0", b"m1"]),
                           ("prepare", [b"m2", b"m3"])]
    handler.release.set()
    await _drain_until(lambda: worker.processed == 4)
    worker.stop()
    await task
    # Commits one after the other, in the order fetched.
    assert [entry for entry in handler.log if entry[0] == "commit"] == [
        ("commit", [b"m0", b"m1"]), ("commit", [b"m2", b"m3"])]


async def test_a_batch_that_fails_to_prepare_is_handled_whole(nats_client, unique: str) -> None:
    js = nats_client.jetstream()
    subjects = Subjects(unique)
    await ensure_streams(js, subjects)
    handler = Staged(fail_prepare=b"bad")
    handler.release.set()
    worker = PullWorker(js, subjects, WorkerConfig(
        stream=subjects.stream("collected"), durable="staged", filter_subject=subjects.collected_all,
        batch_size=5, max_wait_s=0.1), handler)
    for i, body in enumerate([b"ok", b"bad"]):
        await publish(js, subjects.collected("acme"), body, msg_id=f"f{i}")
    task = asyncio.create_task(worker.run())
    await _drain_until(lambda: worker.processed == 2)
    worker.stop()
    await task
    assert handler.log == [("call", [b"ok", b"bad"])]
