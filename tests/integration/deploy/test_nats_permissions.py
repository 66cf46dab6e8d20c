"""The production NATS users (deploy/k8s/overlays/prod, auth.conf) on a real nats-server: each
service does all it does on NATS with its own user, and nothing of another's.

The server runs the rendered auth.conf as it is, in a standalone configuration (a cluster would need
the pods' names); the rendered cluster configuration itself is checked by `nats-server -t`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import nats
import pytest
from k8s_render import render
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from dengar_common import bus
from dengar_common.localinfra import _bin, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[3]
PROD = render(ROOT / "deploy" / "k8s" / "overlays" / "prod")
SUBJECTS = bus.Subjects("dengar")


def _find(kind: str, name: str) -> dict:
    [doc] = [d for d in PROD if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def _password_vars() -> dict[str, str]:
    """{service: the variable its password reaches the NATS servers in}."""
    [c] = _find("StatefulSet", "nats")["spec"]["template"]["spec"]["containers"]
    return {e["valueFrom"]["secretKeyRef"]["name"].removeprefix("dengar-").removesuffix("-nats"): e["name"]
            for e in c["env"] if "secretKeyRef" in e.get("valueFrom", {})}


PASSWORDS = {svc: secrets.token_hex(16) for svc in _password_vars()}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    conf = _find("ConfigMap", "nats-config")["data"]
    d = tmp_path_factory.mktemp("nats-prod")
    for name, text in conf.items():
        (d / name).write_text(text)
    env = {**os.environ, "POD_NAME": "nats-0"}
    env.update({var: PASSWORDS[svc] for svc, var in _password_vars().items()})
    # The production configuration, cluster and all, is one nats-server accepts, and so is dev's.
    dev = d / "dev"
    dev.mkdir()
    dev_conf = [x for x in render(ROOT / "deploy" / "k8s" / "overlays" / "dev")
                if x["kind"] == "ConfigMap" and x["metadata"]["name"] == "nats-config"]
    (dev / "nats.conf").write_text(dev_conf[0]["data"]["nats.conf"])
    for path in (d / "nats.conf", dev / "nats.conf"):
        check = subprocess.run([_bin("nats-server"), "-t", "-c", str(path)], env=env,
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
    port = free_port()
    (d / "standalone.conf").write_text(
        f"server_name: test\nhost: 127.0.0.1\nport: {port}\n"
        f"jetstream {{\n  store_dir: {d / 'js'}\n}}\ninclude ./auth.conf\n")
    log = open(d / "nats.log", "wb")
    proc = subprocess.Popen([_bin("nats-server"), "-c", str(d / "standalone.conf")], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, proc=proc, what="nats-server")
        yield port
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


async def _connect(port: int, user: str, password: str | None = None) -> Client:
    async def quiet(exc: Exception) -> None:  # permission violations are what some tests expect
        return None

    return await nats.connect(f"nats://{user}:{password or PASSWORDS[user]}@127.0.0.1:{port}",
                              allow_reconnect=False, connect_timeout=5, error_cb=quiet)


@pytest.fixture
async def clients(server: int) -> AsyncIterator[dict[str, Client]]:
    conns = {svc: await _connect(server, svc) for svc in PASSWORDS}
    try:
        yield conns
    finally:
        for nc in conns.values():
            await nc.close()


async def _refused(js_call: Awaitable[object]) -> bool:
    try:
        await js_call
    except Exception:
        return True
    return False


def test_every_service_on_nats_has_a_user() -> None:
    assert set(PASSWORDS) == {"collector", "nlp", "insights"}


async def test_unknown_users_and_wrong_passwords_are_refused(server: int) -> None:
    for user, password in (("gateway", "x"), ("collector", "wrong"), ("", "")):
        with pytest.raises(Exception):  # noqa: B017 - nats-py raises several kinds for "authorization"
            await nats.connect(f"nats://{user}:{password}@127.0.0.1:{server}", allow_reconnect=False,
                               connect_timeout=5, max_reconnect_attempts=0)


async def test_each_service_does_its_work_and_nothing_else(clients: dict[str, Client]) -> None:
    # A refused request is a timeout: keep it short.
    js = {svc: nc.jetstream(timeout=2) for svc, nc in clients.items()}
    # Every service creates or updates the streams at start-up.
    for svc in js:
        await bus.ensure_streams(js[svc], SUBJECTS, replicas=1)

    # The collector publishes collected posts and query changes, and nothing of the others'.
    assert await bus.publish(js["collector"], SUBJECTS.collected("acme"), b"post", msg_id="acme:x:1")
    assert await bus.publish(js["collector"], SUBJECTS.queries_changed("acme"), b"q", msg_id="q1:1")
    for subject in (SUBJECTS.enriched("acme"), SUBJECTS.mentions_stored("acme"), SUBJECTS.alerts("acme")):
        assert await _refused(js["collector"].publish(subject, b"forged", timeout=1)), subject
    # ...nor consume another's stream, nor delete one.
    assert await _refused(js["collector"].pull_subscribe(SUBJECTS.collected_all, durable="nlp",
                                                         stream=SUBJECTS.stream("collected")))
    assert await _refused(js["collector"].delete_stream(SUBJECTS.stream("collected")))

    # nlp: its durable on the collected posts, acked; publishes enriched posts and its dead letters.
    seen: list[bytes] = []

    async def enrich(msgs: Sequence[Msg]) -> list[BaseException | None]:
        for m in msgs:
            seen.append(m.data)
            await bus.publish(js["nlp"], SUBJECTS.enriched("acme"), b"enriched", msg_id="acme:x:1:1")
        return [None] * len(msgs)

    await _run_worker(js["nlp"], bus.WorkerConfig(stream=SUBJECTS.stream("collected"), durable="nlp",
                                                  filter_subject=SUBJECTS.collected_all, stage="nlp"),
                      enrich, lambda: seen == [b"post"])
    # The acks were allowed (an ack is a plain publish: a refused one would leave it pending).
    for _ in range(100):
        info = await js["nlp"].consumer_info(SUBJECTS.stream("collected"), "nlp")
        if info.num_ack_pending == 0:
            break
        await asyncio.sleep(0.05)
    assert info.num_ack_pending == 0 and info.num_pending == 0
    assert await bus.publish(js["nlp"], SUBJECTS.dlq("nlp", "acme"), b"dead", msg_id="d1")
    assert await _refused(js["nlp"].publish(SUBJECTS.collected("acme"), b"forged", timeout=1))
    assert await _refused(js["nlp"].publish(SUBJECTS.dlq("insights", "acme"), b"forged", timeout=1))
    assert await _refused(js["nlp"].pull_subscribe(SUBJECTS.enriched_all, durable="insights",
                                                   stream=SUBJECTS.stream("enriched")))

    # insights: its durables on enriched posts and query changes; mention events, alerts, its DLQs.
    from dengar_insights.adapters.mention_events import NatsMentionEvents
    from dengar_insights.settings import InsightsConfig

    cfg = InsightsConfig()
    got: list[bytes] = []

    async def store(msgs: Sequence[Msg]) -> list[BaseException | None]:
        got.extend(m.data for m in msgs)
        return [None] * len(msgs)

    await _run_worker(js["insights"], bus.WorkerConfig(
        stream=SUBJECTS.stream("enriched"), durable=cfg.durable, filter_subject=SUBJECTS.enriched_all,
        stage="insights"), store, lambda: b"enriched" in got)
    await _run_worker(js["insights"], bus.WorkerConfig(
        stream=SUBJECTS.stream("queries"), durable=cfg.query_events_durable,
        filter_subject=SUBJECTS.queries_changed_all, stage="insights-queries"), store, lambda: b"q" in got)
    events = NatsMentionEvents(js["insights"], SUBJECTS)
    await events.publish("acme", "m1", "h1")
    _, stream = await events.open("acme", 0)
    first = await asyncio.wait_for(anext(aiter(stream)), 10)
    assert (first.mention_id, first.content_hash) == ("m1", "h1")
    await events.close()
    for stage in ("insights", "insights-queries"):
        assert await bus.publish(js["insights"], SUBJECTS.dlq(stage, "acme"), b"dead", msg_id=f"d-{stage}")
    assert await bus.publish(js["insights"], SUBJECTS.alerts("acme"), b"{}", msg_id="alert:1:firing")
    assert await _refused(js["insights"].publish(SUBJECTS.collected("acme"), b"forged", timeout=1))
    assert await _refused(js["insights"].publish(SUBJECTS.enriched("acme"), b"forged", timeout=1))

    # Nothing forged got in: exactly what each owner published.
    for kind, expected in (("collected", 1), ("enriched", 1), ("mentions", 1), ("alerts", 1), ("dlq", 3)):
        state = (await js["insights"].stream_info(SUBJECTS.stream(kind))).state
        assert state.messages == expected, kind


async def _run_worker(js: JetStreamContext, config: bus.WorkerConfig, handler: bus.BatchHandler,
                      done: Callable[[], bool]) -> None:
    worker = bus.PullWorker(js, SUBJECTS, config, handler)
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(200):
            if done():
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        assert done(), f"{config.durable} got nothing"
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)
