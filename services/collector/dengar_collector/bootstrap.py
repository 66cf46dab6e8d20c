"""The collector's composition root: wires NATS, the publisher and the gRPC server."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from grpc import aio
from grpc_health.v1 import health
from nats.aio.client import Client as NatsClient
from pymongo import AsyncMongoClient

from dengar_collector.adapters.nats_publisher import JetStreamPostPublisher
from dengar_collector.entrypoints.grpc_api import SERVICE_NAME, CollectorServicer
from dengar_collector.service import IngestService
from dengar_collector.settings import CollectorSettings
from dengar_common.bus import Subjects, connect, ensure_streams
from dengar_common.grpcutil import make_server, set_serving
from dengar_common.lifecycle import install_stop_signals
from dengar_common.mongo import make_client
from dengar_common.settings import write_port_file

logger = logging.getLogger(__name__)


def _host_port(host: str, port: int) -> str:
    # IPv6 literals need brackets in a gRPC address.
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


class CollectorApp:
    """The running collector. ``start``/``stop`` let tests run it in-process on port 0."""

    def __init__(self, settings: CollectorSettings) -> None:
        self.settings = settings
        self.port = 0
        self._mongo: AsyncMongoClient[dict[str, Any]] | None = None
        self._nc: NatsClient | None = None
        self._server: aio.Server | None = None
        self._health: health.aio.HealthServicer | None = None

    @property
    def target(self) -> str:
        """Address a client on this machine can dial."""
        host = self.settings.bind_host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return _host_port(host, self.port)

    async def start(self) -> None:
        s = self.settings
        subjects = Subjects(s.subject_root)
        try:
            self._mongo = make_client(s.mongo_uri, app_name="dengar-collector")
            db = self._mongo[s.collector_db]
            self._nc = await connect(s.nats_url, name="dengar-collector")
            js = self._nc.jetstream()
            await ensure_streams(js, subjects)
            publisher = JetStreamPostPublisher(js, subjects, timeout=s.collector_publish_timeout_s,
                                               concurrency=s.collector_publish_concurrency)
            ingest = IngestService(publisher)
            servicer = CollectorServicer(ingest)
            registrations = [servicer.register]
            service_names = [SERVICE_NAME]
            del db  # the stores of queries, sources and imports are wired here
            self._server, self._health = make_server(registrations, service_names)
            self.port = self._server.add_insecure_port(_host_port(s.bind_host, s.collector_grpc_port))
            await self._server.start()
            await set_serving(self._health, [SERVICE_NAME], True)
        except BaseException:
            await self._close_quietly()
            raise
        write_port_file(s.collector_port_file, self.port)
        logger.info("collector gRPC listening on %s (subjects under %r)",
                    _host_port(s.bind_host, self.port), s.subject_root)

    async def stop(self) -> None:
        """Graceful: NOT_SERVING, then let in-flight calls finish, then drain NATS."""
        if self._health is not None:
            await set_serving(self._health, [SERVICE_NAME], False)
            self._health = None
        if self._server is not None:
            # Calls in flight are still publishing, so NATS must outlive the gRPC server.
            await self._server.stop(self.settings.shutdown_grace_s)
            self._server = None
        if self._nc is not None:
            nc, self._nc = self._nc, None
            if not nc.is_closed:
                try:
                    await nc.drain()
                except Exception:  # already closing or disconnected: nothing left to flush
                    logger.warning("NATS drain failed", exc_info=True)
                    await nc.close()
        if self._mongo is not None:
            mongo, self._mongo = self._mongo, None
            await mongo.close()
        logger.info("collector stopped")

    async def _close_quietly(self) -> None:
        if self._server is not None:
            await self._server.stop(None)
            self._server = None
        self._health = None
        if self._nc is not None:
            nc, self._nc = self._nc, None
            await nc.close()
        if self._mongo is not None:
            mongo, self._mongo = self._mongo, None
            await mongo.close()


async def main(settings: CollectorSettings) -> None:
    """Run until SIGTERM/SIGINT, then shut down gracefully."""
    stop = asyncio.Event()
    # Installed first so that a signal during start-up still leads to an orderly stop.
    install_stop_signals(stop)
    app = CollectorApp(settings)
    await app.start()
    try:
        await stop.wait()
    finally:
        await app.stop()
