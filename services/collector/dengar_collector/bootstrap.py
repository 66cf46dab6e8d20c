"""The collector's composition root: wires NATS, the publisher and the gRPC server."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from grpc import aio
from grpc_health.v1 import health
from nats.aio.client import Client as NatsClient
from pymongo import AsyncMongoClient

from dengar_collector.adapters.connector_factory import ConnectorFactory
from dengar_collector.adapters.http_safety import EgressPolicy, SafeHttpClient, SafeHttpConfig
from dengar_collector.adapters.import_spool import ImportSpool
from dengar_collector.adapters.import_store import MongoImportStore
from dengar_collector.adapters.nats_publisher import JetStreamPostPublisher
from dengar_collector.adapters.query_store import MongoQueryStore
from dengar_collector.adapters.secrets import SecretBox
from dengar_collector.adapters.source_store import SourceRepository
from dengar_collector.domain.schedule import SchedulePolicy
from dengar_collector.entrypoints.grpc_api import SERVICE_NAME, CollectorServicer
from dengar_collector.entrypoints.grpc_imports import SERVICE_NAME as IMPORT_SERVICE_NAME
from dengar_collector.entrypoints.grpc_imports import ImportServicer
from dengar_collector.entrypoints.grpc_queries import SERVICE_NAME as QUERY_SERVICE_NAME
from dengar_collector.entrypoints.grpc_queries import QueryServicer
from dengar_collector.entrypoints.grpc_sources import SERVICE_NAME as SOURCE_SERVICE_NAME
from dengar_collector.entrypoints.grpc_sources import SourceServicer
from dengar_collector.service_layer.import_service import ImportConfig, ImportManager
from dengar_collector.service_layer.ingest_service import IngestService
from dengar_collector.service_layer.query_service import QueryManager
from dengar_collector.service_layer.query_tagger import QueryTagger
from dengar_collector.service_layer.source_scheduler import Scheduler, SchedulerConfig
from dengar_collector.service_layer.source_service import SourceManager, SourcePolicy
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
        self._service_names: list[str] = [SERVICE_NAME]
        self._http: SafeHttpClient | None = None
        self.scheduler: Scheduler | None = None
        self.imports: ImportManager | None = None

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
            query_store = MongoQueryStore(db, max_per_tenant=s.collector_max_queries_per_tenant)
            await query_store.ensure_indexes()
            tagger = QueryTagger(query_store, ttl_s=s.collector_query_cache_ttl_s,
                                 max_age_s=s.collector_query_max_age_s)
            ingest = IngestService(publisher, tagger=tagger)
            servicer = CollectorServicer(ingest)
            registrations = [servicer.register]
            service_names = [SERVICE_NAME]
            query_servicer = QueryServicer(QueryManager(query_store, on_change=tagger.invalidate))
            registrations.append(query_servicer.register)
            service_names.append(QUERY_SERVICE_NAME)
            self._http = SafeHttpClient(SafeHttpConfig(policy=EgressPolicy.from_cidrs(
                s.collector_egress_allowed_cidrs, allow_private=s.collector_egress_allow_private)))
            connectors = ConnectorFactory(self._http)
            box = SecretBox.from_setting(s.collector_secrets_keys.get_secret_value())
            if not box.encrypts:
                logger.warning("DENGAR_COLLECTOR_SECRETS_KEYS is not set: source credentials and webhook "
                               "secrets are stored unencrypted")
            source_repo = SourceRepository(db, box)
            await source_repo.ensure_indexes()
            self.scheduler = Scheduler(source_repo, connectors, ingest, config=SchedulerConfig(
                max_concurrent=s.collector_scheduler_max_concurrent,
                max_per_tenant=s.collector_scheduler_max_per_tenant,
                poll_interval_s=s.collector_scheduler_poll_s, lease_s=s.collector_scheduler_lease_s,
                fetch_limit=s.collector_scheduler_fetch_limit, shutdown_grace_s=s.shutdown_grace_s,
                policy=SchedulePolicy(more_delay_s=s.collector_source_more_delay_s,
                                      retry_base_s=s.collector_source_retry_base_s,
                                      retry_max_s=s.collector_source_retry_max_s,
                                      error_backoff_s=s.collector_source_error_backoff_s)))
            source_servicer = SourceServicer(SourceManager(
                source_repo, connectors, ingest, on_due=self.scheduler.wake, policy=SourcePolicy(
                    default_interval_s=s.collector_source_interval_default_s,
                    min_interval_s=s.collector_source_interval_min_s,
                    webhook_tolerance_s=s.collector_webhook_tolerance_s,
                    webhook_max_bytes=s.collector_webhook_max_bytes)))
            registrations.append(source_servicer.register)
            service_names.append(SOURCE_SERVICE_NAME)
            import_store = MongoImportStore(db)
            await import_store.ensure_indexes()
            self.imports = ImportManager(
                import_store, ImportSpool(s.collector_import_dir, max_bytes=s.collector_import_max_bytes),
                ingest, config=ImportConfig(
                    batch_size=s.collector_import_batch_size, concurrency=s.collector_import_concurrency,
                    lease_s=s.collector_import_lease_s, shutdown_grace_s=s.shutdown_grace_s))
            registrations.append(ImportServicer(self.imports).register)
            service_names.append(IMPORT_SERVICE_NAME)
            del db  # the stores of queries, sources and imports are wired here
            self._service_names = service_names
            self._server, self._health = make_server(registrations, service_names)
            self.port = self._server.add_insecure_port(_host_port(s.bind_host, s.collector_grpc_port))
            await self._server.start()
            await set_serving(self._health, self._service_names, True)
            if s.collector_scheduler_enabled:
                self.scheduler.start()
            # Resumes jobs an earlier run left unfinished.
            await self.imports.start()
        except BaseException:
            await self._close_quietly()
            raise
        write_port_file(s.collector_port_file, self.port)
        logger.info("collector gRPC listening on %s (subjects under %r)",
                    _host_port(s.bind_host, self.port), s.subject_root)

    async def stop(self) -> None:
        """Graceful: NOT_SERVING, then let in-flight calls finish, then drain NATS."""
        if self._health is not None:
            await set_serving(self._health, self._service_names, False)
            self._health = None
        await self._stop_workers()
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
        await self._close_clients()
        logger.info("collector stopped")

    async def _close_quietly(self) -> None:
        await self._stop_workers()
        if self._server is not None:
            await self._server.stop(None)
            self._server = None
        self._health = None
        if self._nc is not None:
            nc, self._nc = self._nc, None
            await nc.close()
        await self._close_clients()

    async def _stop_workers(self) -> None:
        if self.scheduler is not None:
            # Runs in flight finish (within the grace period) and publish, so before NATS drains.
            scheduler, self.scheduler = self.scheduler, None
            await scheduler.stop()
        if self.imports is not None:
            # The batch in flight is published and checkpointed; the rest resumes at the next start.
            imports, self.imports = self.imports, None
            await imports.stop()

    async def _close_clients(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()
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
