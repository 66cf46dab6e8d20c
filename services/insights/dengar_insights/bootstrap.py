"""Composition root of the insights service: store, bus consumer and gRPC API."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from grpc import aio
from grpc_health.v1 import health
from nats.aio.client import Client as NatsClient
from pymongo import AsyncMongoClient

from dengar.v1 import insights_pb2, insights_pb2_grpc
from dengar_common import bus, grpcutil
from dengar_common.lifecycle import install_stop_signals
from dengar_common.mongo import make_client
from dengar_common.settings import write_port_file
from dengar_insights.adapters.ingest import MentionIngestor
from dengar_insights.adapters.insight_reads import MongoMentionReads, MongoRollupReads
from dengar_insights.adapters.mentions import MentionRepository
from dengar_insights.adapters.rollups import RollupRepository
from dengar_insights.entrypoints.consumer import EnrichedPostHandler
from dengar_insights.entrypoints.grpc_api import InsightsServicer
from dengar_insights.service_layer.insight_engine import InsightEngine
from dengar_insights.settings import InsightsSettings

logger = logging.getLogger(__name__)

SERVICE_NAMES = (insights_pb2.DESCRIPTOR.services_by_name["InsightsService"].full_name,)
STAGE = "insights"


class InsightsApp:
    """The running service. Tests start it in-process with port 0 and read ``port``."""

    def __init__(self, settings: InsightsSettings) -> None:
        self.settings = settings
        self.port = 0
        self._mongo: AsyncMongoClient[dict[str, Any]] | None = None
        self._nc: NatsClient | None = None
        self._server: aio.Server | None = None
        self._health: health.aio.HealthServicer | None = None
        self._worker: bus.PullWorker | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._handler: EnrichedPostHandler | None = None
        self._stopped = False

    @property
    def processed(self) -> int:
        """Messages acked after a successful ingest."""
        return self._worker.processed if self._worker else 0

    @property
    def dead_lettered(self) -> int:
        return self._worker.dead_lettered if self._worker else 0

    @property
    def results(self) -> Counter[str]:
        """Ingest results by kind (inserted, updated, duplicate, ...)."""
        return self._handler.results if self._handler else Counter()

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            # Leave nothing half-open (connections, a bound port) when start-up fails.
            await self.stop()
            raise

    async def _start(self) -> None:
        s = self.settings
        self._mongo = make_client(s.mongo_uri, app_name="dengar-insights")
        db = self._mongo[s.insights_db]
        mentions, rollups = MentionRepository(db), RollupRepository(db)
        await mentions.ensure_indexes()
        await rollups.ensure_indexes()

        subjects = bus.Subjects(s.subject_root)
        self._nc = await bus.connect(s.nats_url, name="dengar-insights")
        js = self._nc.jetstream()
        await bus.ensure_streams(js, subjects)

        servicer = InsightsServicer(mentions, rollups, max_buckets=s.insights_max_timeseries_buckets)
        servicer.insight_engine = InsightEngine(MongoRollupReads(rollups), MongoMentionReads(db))
        self._server, self._health = grpcutil.make_server(
            [lambda srv: insights_pb2_grpc.add_InsightsServiceServicer_to_server(servicer, srv)],
            SERVICE_NAMES)
        self.port = self._server.add_insecure_port(f"{s.bind_host}:{s.insights_grpc_port}")
        await self._server.start()
        await grpcutil.set_serving(self._health, SERVICE_NAMES, True)

        self._handler = EnrichedPostHandler(MentionIngestor(mentions, rollups))
        self._worker = bus.PullWorker(js, subjects, bus.WorkerConfig(
            stream=subjects.stream("enriched"), durable=s.insights_durable,
            filter_subject=subjects.enriched_all, batch_size=s.insights_batch_size,
            max_wait_s=s.insights_batch_wait_s, max_deliver=s.insights_max_deliver,
            ack_wait_s=s.insights_ack_wait_s, stage=STAGE,
        ), self._handler)
        self._worker_task = asyncio.create_task(self._worker.run(), name="insights-worker")
        write_port_file(s.insights_port_file, self.port)
        logger.info("insights service ready: gRPC on %s:%d, database %s, consuming %s",
                    s.bind_host, self.port, s.insights_db, subjects.enriched_all)

    async def stop(self) -> None:
        """Stop in dependency order; safe to call after a partial start, and more than once."""
        if self._stopped:
            return
        self._stopped = True
        grace = self.settings.shutdown_grace_s
        if self._health is not None:
            # Load balancers stop routing here before anything else goes away.
            await grpcutil.set_serving(self._health, SERVICE_NAMES, False)
        if self._worker is not None and self._worker_task is not None:
            self._worker.stop()
            try:
                # The in-flight batch finishes and is acked; the fetch loop then exits.
                await asyncio.wait_for(self._worker_task, timeout=grace)
            except TimeoutError:
                logger.warning("consumer did not finish its batch within %ss; its messages will be "
                               "redelivered", grace)
                self._worker_task.cancel()
            except Exception:
                logger.exception("consumer failed")
        if self._nc is not None and not self._nc.is_closed:
            try:
                await self._nc.drain()
            except Exception as exc:  # already closing, or the server went away
                logger.warning("nats drain failed: %s", exc)
        if self._server is not None:
            await self._server.stop(grace)
        if self._mongo is not None:
            await self._mongo.close()
        logger.info("insights service stopped")


async def main(settings: InsightsSettings) -> None:
    """Run until SIGTERM/SIGINT, then shut down in order."""
    stop = asyncio.Event()
    install_stop_signals(stop)
    app = InsightsApp(settings)
    await app.start()
    try:
        await stop.wait()
    finally:
        await app.stop()
