"""The collector's composition root: builds the adapters, use cases and servicers on a ``ServiceApp``.

``start`` registers every resource with the app in start order, so the app's stop runs in reverse:
health NOT_SERVING, the scheduler and the import runner finish what is in flight (and publish it),
the gRPC server drains, NATS drains, then the HTTP client and the store client close.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from dengar_collector.adapters.connector_factory import ConnectorFactory
from dengar_collector.adapters.import_spool import ImportSpool
from dengar_collector.adapters.import_store import MongoImportStore
from dengar_collector.adapters.nats_publisher import JetStreamPostPublisher
from dengar_collector.adapters.query_events import JetStreamQueryChangePublisher
from dengar_collector.adapters.query_store import MongoQueryStore
from dengar_collector.adapters.source_store import SourceRepository
from dengar_collector.entrypoints import grpc_api, grpc_imports, grpc_queries, grpc_sources, grpc_tenants
from dengar_collector.service_layer.import_service import ImportManager
from dengar_collector.service_layer.ingest_service import IngestService
from dengar_collector.service_layer.query_outbox import OutboxRelay
from dengar_collector.service_layer.query_service import QueryManager
from dengar_collector.service_layer.query_tagger import QueryTagger
from dengar_collector.service_layer.source_scheduler import Scheduler
from dengar_collector.service_layer.source_service import SourceManager
from dengar_collector.settings import CollectorSettings
from dengar_common.app import ServiceApp
from dengar_common.bus import Subjects, ensure_streams
from dengar_common.http_safety import SafeHttpClient, SafeHttpConfig
from dengar_common.secrets import SecretBox
from dengar_common.tenant_data import TenantOffboarding, Tombstones, purge_tenant_messages

logger = logging.getLogger(__name__)


def _host(host: str) -> str:
    # IPv6 literals need brackets in a gRPC address.
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass(frozen=True)
class Collector:
    """What ``start`` built, for tests that run the collector in-process."""

    port: int
    target: str
    scheduler: Scheduler
    imports: ImportManager
    outbox: OutboxRelay


async def start(app: ServiceApp, settings: CollectorSettings, *,
                connectors: ConnectorFactory | None = None,
                http: SafeHttpClient | None = None) -> Collector:
    """Start the collector on ``app``. ``connectors`` (or just ``http``) replace the outside world."""
    c = settings.collector
    subjects = Subjects(settings.subject_root)
    db = app.mongo(settings.mongo_uri)[c.db]
    if connectors is None:
        if http is None:
            http = SafeHttpClient(SafeHttpConfig(policy=c.egress.policy()))
            app.on_stop("the HTTP client", http.aclose)
        connectors = ConnectorFactory(http)
    nc = await app.connect_nats(settings.nats_url)
    js = nc.jetstream()
    await ensure_streams(js, subjects, replicas=settings.nats_stream_replicas)

    publisher = JetStreamPostPublisher(js, subjects, c.publish)
    query_store = MongoQueryStore(db, max_per_tenant=c.queries.max_per_tenant)
    await query_store.ensure_indexes()
    tagger = QueryTagger(query_store, config=c.queries)
    tombstones = Tombstones(db, ttl_s=c.tombstone_ttl_s)
    ingest = IngestService(publisher, tagger=tagger, deleted_tenants=tombstones)
    change_publisher = JetStreamQueryChangePublisher(js, subjects, timeout_s=c.publish.timeout_s)
    outbox = OutboxRelay(query_store, change_publisher, c.outbox)

    def query_changed(tenant_id: str) -> None:
        tagger.invalidate(tenant_id)
        outbox.wake(tenant_id)

    box = SecretBox.from_setting(c.secrets_keys.get_secret_value())
    if not box.encrypts:
        # Only reachable with DENGAR_COLLECTOR__ALLOW_UNENCRYPTED_SECRETS (the settings refuse otherwise).
        logger.warning("development mode: DENGAR_COLLECTOR__SECRETS_KEYS is not set, source credentials "
                       "and webhook secrets are stored unencrypted")
    source_repo = SourceRepository(db, box)
    await source_repo.ensure_indexes()
    # One grace period for the whole process (DENGAR_SHUTDOWN_GRACE_S).
    grace = {"shutdown_grace_s": settings.shutdown_grace_s}
    scheduler = Scheduler(source_repo, connectors, ingest, config=c.scheduler.model_copy(update=grace))
    sources = SourceManager(source_repo, connectors, ingest, on_due=scheduler.wake, policy=c.sources)

    import_store = MongoImportStore(db)
    await import_store.ensure_indexes()
    spool = ImportSpool(c.imports.dir, max_bytes=c.imports.max_bytes)
    imports = ImportManager(import_store, spool, ingest, config=c.imports.model_copy(update=grace))

    async def delete_spool(tenant_id: str) -> dict[str, int]:
        n = await asyncio.to_thread(spool.delete_tenant, tenant_id)
        return {"spool_files": n} if n else {}

    async def purge_bus(tenant_id: str) -> dict[str, int]:
        # The collector, asked first, empties the shared streams for every service.
        return await purge_tenant_messages(js, subjects, tenant_id)

    offboarding = TenantOffboarding(db, tombstones, before=[delete_spool, purge_bus],
                                    on_deleted=[tagger.invalidate])

    servicers = [grpc_api.CollectorServicer(ingest), grpc_queries.QueryServicer(
        QueryManager(query_store, on_change=query_changed)),
        grpc_sources.SourceServicer(sources), grpc_imports.ImportServicer(imports),
        grpc_tenants.CollectorTenantServicer(offboarding)]
    port = await app.serve_grpc(
        [servicer.register for servicer in servicers],
        [grpc_api.SERVICE_NAME, grpc_queries.SERVICE_NAME, grpc_sources.SERVICE_NAME,
         grpc_imports.SERVICE_NAME, grpc_tenants.SERVICE_NAME],
        host=_host(settings.bind_host), port=c.grpc_port, port_file=c.port_file)

    # Runs in flight finish (within the grace period) and publish before the server and NATS stop.
    await imports.start()  # resumes jobs an earlier run left unfinished
    app.run_worker("the query-change outbox", outbox)
    app.on_stop("the import runner", imports.stop)
    if c.scheduler.enabled:
        scheduler.start()
        app.on_stop("the scheduler", scheduler.stop)
    logger.info("collector gRPC listening on %s:%d (subjects under %r)", _host(settings.bind_host), port,
                settings.subject_root)
    local = "127.0.0.1" if settings.bind_host in ("0.0.0.0", "::", "") else _host(settings.bind_host)
    return Collector(port=port, target=f"{local}:{port}", scheduler=scheduler, imports=imports,
                     outbox=outbox)
