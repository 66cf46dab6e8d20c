"""The local runner's supervisor over the real servers: a SIGKILLed nats-server or SecantusDB comes
back on the same port with its data (a JetStream stream, a stored document), without a hand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dengar_cli.platform import Platform
from dengar_cli.supervise import RestartPolicy, Supervisor
from dengar_common.bus import connect
from dengar_common.mongo import make_client


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[tuple[Platform, Supervisor]]:
    platform = Platform(home=tmp_path)
    platform.start_infra()
    sup = Supervisor(platform, RestartPolicy(base_s=0.2)).start(interval=0.1)
    try:
        yield platform, sup
    finally:
        sup.stop()
        platform.stop()


def _wait(cond: Callable[[], object], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


async def _write(platform: Platform) -> None:
    assert platform.infra is not None
    nc = await connect(platform.infra.nats_url, name="t")
    js = nc.jetstream()
    await js.add_stream(name="KEEP", subjects=["keep.>"])
    await js.publish("keep.a", b"1")
    await nc.close()
    client = make_client(platform.infra.mongo_uri, app_name="t")
    await client["keep"]["docs"].insert_one({"_id": "d1", "v": 1})
    await client.close()


async def _read(platform: Platform) -> tuple[int, dict | None]:
    assert platform.infra is not None
    nc = await connect(platform.infra.nats_url, name="t")
    info = await nc.jetstream().stream_info("KEEP")
    await nc.close()
    client = make_client(platform.infra.mongo_uri, app_name="t")
    doc = await client["keep"]["docs"].find_one({"_id": "d1"})
    await client.close()
    return info.state.messages, doc


def test_killed_servers_come_back_on_their_ports_with_their_data(supervised) -> None:
    platform, sup = supervised
    assert platform.infra is not None and platform.infra.nats and platform.infra.mongo
    asyncio.run(_write(platform))
    for name in ("nats-server", "secantusd"):
        before = platform.popen(name)
        port = platform.infra.nats.port if name == "nats-server" else platform.infra.mongo.port
        before.kill()
        _wait(lambda n=name, b=before: platform.popen(n) is not b and platform.exit_code(n) is None,
              f"{name} restarted")
        assert sup.restarts(name) == 1
        now_port = platform.infra.nats.port if name == "nats-server" else platform.infra.mongo.port
        assert now_port == port
    messages, doc = asyncio.run(_read(platform))
    assert doc == {"_id": "d1", "v": 1}
    assert messages == 1
    assert sup.failure is None
