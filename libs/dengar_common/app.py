"""The lifecycle every service shares: start in order, stop in reverse, drain on SIGTERM.

A ``ServiceApp`` is an ``AsyncExitStack`` with typed helpers. Each helper starts one resource and
registers how to release it, so the order of the calls in a bootstrap *is* the shutdown order,
reversed::

    async with ServiceApp("dengar-nlp", grace_s=settings.shutdown_grace_s) as app:
        store = app.mongo(settings.mongo_uri)            # closed last
        nc = await app.connect_nats(settings.nats_url)    # drained after gRPC has stopped
        await app.serve_grpc(...)                         # stopped with the grace period
        app.run_worker("consumer", worker)                # stopped first: in-flight batch finishes
        await app.ready()                                 # health SERVING; NOT_SERVING on stop
        await app.wait_for_stop_signal()

A start that fails half-way releases what was already started, and one release that fails is
logged and does not keep the others from running.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Protocol, Self

from nats.aio.client import Client as NatsClient
from pymongo import AsyncMongoClient

from dengar_common import bus, grpcutil
from dengar_common.mongo import make_client
from dengar_common.settings import write_port_file

logger = logging.getLogger(__name__)


class Worker(Protocol):
    """A long-running loop that can be asked to finish its current unit of work and return."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


class ServiceApp:
    """One running service process; use as ``async with``."""

    def __init__(self, name: str, *, grace_s: float = 10.0) -> None:
        self.name = name
        self.grace_s = grace_s
        self._stack = AsyncExitStack()
        self._stop = asyncio.Event()
        self._health: Any = None
        self._service_names: list[str] = []

    async def __aenter__(self) -> Self:
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if exc is not None and not isinstance(exc, asyncio.CancelledError):
            logger.error("%s: start-up or run failed, releasing what was started", self.name)
        await self.aclose()

    async def aclose(self) -> None:
        """Release everything in reverse order of start (idempotent)."""
        await self._stack.aclose()
        logger.info("%s stopped", self.name)

    def on_stop(self, label: str, release: Callable[[], Awaitable[object]]) -> None:
        """Run ``release`` at shutdown (before whatever was registered earlier); failures are logged."""

        async def guarded() -> None:
            try:
                await release()
            except Exception:
                logger.exception("%s: stopping %s failed", self.name, label)

        self._stack.push_async_callback(guarded)

    def mongo(self, uri: str, *, client: AsyncMongoClient[dict[str, Any]] | None = None
              ) -> AsyncMongoClient[dict[str, Any]]:
        """The service's store client (``client`` injected by tests), closed at the very end."""
        store = client if client is not None else make_client(uri, app_name=self.name)
        self.on_stop("the store client", store.close)
        return store

    async def connect_nats(self, url: str) -> NatsClient:
        """A NATS connection, drained (pending publishes flushed) at shutdown."""
        nc = await bus.connect(url, name=self.name)

        async def drain() -> None:
            if not nc.is_closed:
                await nc.drain()

        self.on_stop("NATS", drain)
        return nc

    async def serve_grpc(self, registrars: Iterable[grpcutil.Registrar], service_names: Sequence[str], *,
                         host: str, port: int, port_file: str | None = None,
                         tenant_optional: Sequence[str] = ()) -> int:
        """Start a gRPC server (health, reflection, tracing, domain-error mapping); return its port.

        At shutdown the server stops taking calls and lets in-flight ones finish for ``grace_s``.
        Health stays NOT_SERVING until ``ready()``.
        """
        server, health = grpcutil.make_server(registrars, service_names, tenant_optional=tenant_optional)
        bound = server.add_insecure_port(f"{host}:{port}")
        await server.start()

        async def stop_server() -> None:
            await server.stop(self.grace_s)

        self.on_stop("the gRPC server", stop_server)
        self._health = health
        self._service_names.extend(service_names)
        write_port_file(port_file, bound)
        return bound

    def run_worker(self, label: str, worker: Worker) -> asyncio.Task[None]:
        """Run ``worker`` as a task; at shutdown ask it to stop and wait ``grace_s`` for it."""
        task = asyncio.create_task(worker.run(), name=f"{self.name}-{label}")

        async def stop_worker() -> None:
            worker.stop()
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=self.grace_s)
            except TimeoutError:
                logger.warning("%s: %s did not finish within %ss, cancelling", self.name, label,
                               self.grace_s)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

        self.on_stop(label, stop_worker)
        return task

    def run_task(self, label: str, coro: Awaitable[None]) -> asyncio.Task[None]:
        """Run a background task that is cancelled (and awaited) at shutdown."""

        async def main() -> None:
            await coro

        task = asyncio.create_task(main(), name=f"{self.name}-{label}")

        async def cancel() -> None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        self.on_stop(label, cancel)
        return task

    async def ready(self) -> None:
        """Report SERVING on gRPC health; the first thing undone at shutdown."""
        if self._health is None:
            return
        health, names = self._health, tuple(self._service_names)
        await grpcutil.set_serving(health, names, True)

        async def not_serving() -> None:
            await grpcutil.set_serving(health, names, False)

        self.on_stop("health", not_serving)

    def request_stop(self) -> None:
        self._stop.set()

    def install_stop_signals(self) -> None:
        """SIGTERM and SIGINT ask the service to drain and exit."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        logger.info("%s: received %s, shutting down", self.name, sig.name)
        self._stop.set()

    async def wait_for_stop_signal(self) -> None:
        """Block until SIGTERM/SIGINT (or ``request_stop``)."""
        self.install_stop_signals()
        await self._stop.wait()



async def serve(name: str, grace_s: float, start: Callable[[ServiceApp], Awaitable[object]]) -> None:
    """Start a service with ``start(app)``, report ready, run until SIGTERM/SIGINT, then drain."""
    async with ServiceApp(name, grace_s=grace_s) as app:
        await start(app)
        await app.ready()
        logger.info("%s ready", name)
        await app.wait_for_stop_signal()
