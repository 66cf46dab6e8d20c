"""ServiceApp: reverse-order shutdown, clean-up after a failed start, guarded releases, workers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from dengar_common.app import ServiceApp


async def test_releases_run_in_reverse_order_of_start() -> None:
    order: list[str] = []

    def release(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            order.append(name)
        return run

    async with ServiceApp("t", grace_s=1) as app:
        for name in ("store", "nats", "grpc", "worker"):
            app.on_stop(name, release(name))
    assert order == ["worker", "grpc", "nats", "store"]


async def test_failed_start_releases_what_was_started_and_reraises() -> None:
    released: list[str] = []

    async def close_store() -> None:
        released.append("store")

    with pytest.raises(RuntimeError, match="nats down"):
        async with ServiceApp("t", grace_s=1) as app:
            app.on_stop("store", close_store)
            raise RuntimeError("nats down")
    assert released == ["store"]


async def test_a_failing_release_does_not_skip_the_others(caplog: pytest.LogCaptureFixture) -> None:
    released: list[str] = []

    async def close_store() -> None:
        released.append("store")

    async def drain_nats() -> None:
        raise ConnectionError("nats gone")

    async def stop_grpc() -> None:
        released.append("grpc")

    async with ServiceApp("t", grace_s=1) as app:
        app.on_stop("store", close_store)
        app.on_stop("NATS", drain_nats)
        app.on_stop("gRPC", stop_grpc)
    assert released == ["grpc", "store"]
    assert "stopping NATS failed" in caplog.text


class _Worker:
    def __init__(self, finish_in: float) -> None:
        self.finish_in = finish_in
        self.stopping = asyncio.Event()
        self.finished = False

    async def run(self) -> None:
        await self.stopping.wait()
        await asyncio.sleep(self.finish_in)  # the in-flight batch
        self.finished = True

    def stop(self) -> None:
        self.stopping.set()


async def test_worker_finishes_its_batch_within_the_grace_period() -> None:
    worker = _Worker(finish_in=0.05)
    async with ServiceApp("t", grace_s=2) as app:
        app.run_worker("consumer", worker)
    assert worker.finished


async def test_worker_past_the_grace_period_is_cancelled() -> None:
    worker = _Worker(finish_in=30)
    async with ServiceApp("t", grace_s=0.1) as app:
        task = app.run_worker("consumer", worker)
    assert task.cancelled()
    assert not worker.finished


async def test_request_stop_ends_the_wait() -> None:
    async with ServiceApp("t", grace_s=1) as app:
        asyncio.get_running_loop().call_later(0.05, app.request_stop)
        await asyncio.wait_for(app.wait_for_stop_signal(), timeout=5)
