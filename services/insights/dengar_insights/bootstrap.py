"""Composition root of the insights service: store, bus consumer and gRPC API on the kit's ServiceApp."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from grpc import aio
from pymongo import AsyncMongoClient

from dengar.v1 import insights_pb2, insights_pb2_grpc
from dengar_common import bus
from dengar_common.app import ServiceApp
from dengar_common.http_safety import SafeHttpClient, SafeHttpConfig
from dengar_common.secrets import SecretBox
from dengar_common.tenant_data import TenantOffboarding, Tombstones
from dengar_insights.adapters.alert_bus import NatsAlertPublisher
from dengar_insights.adapters.alerts import MongoAlertRuleStore, MongoAlertStore
from dengar_insights.adapters.audit import MongoAuditLog
from dengar_insights.adapters.backfills import BackfillRepository
from dengar_insights.adapters.categories import MongoCategoryStore
from dengar_insights.adapters.deliveries import MongoChannelStore, MongoDeliveryStore
from dengar_insights.adapters.digests import MongoDigestStore
from dengar_insights.adapters.insight_reads import MongoMentionReads, MongoRollupReads
from dengar_insights.adapters.mention_events import NatsMentionEvents
from dengar_insights.adapters.mentions import MentionRepository
from dengar_insights.adapters.nlp import NlpEmbedder
from dengar_insights.adapters.retention import MongoRetentionStore
from dengar_insights.adapters.rollups import RollupRepository
from dengar_insights.adapters.senders import HttpWebhookSender, SmtpEmailSender, UrlCheck
from dengar_insights.adapters.stream_leases import MongoStreamLeases
from dengar_insights.adapters.topic_store import MongoTopicReads, MongoTopicRegistry
from dengar_insights.adapters.voice_reads import MongoVoiceReads
from dengar_insights.entrypoints.alert_scheduler import AlertScheduler
from dengar_insights.entrypoints.consumer import EnrichedPostHandler
from dengar_insights.entrypoints.grpc_alerts import AlertServicer
from dengar_insights.entrypoints.grpc_api import InsightsServicer
from dengar_insights.entrypoints.grpc_categories import CategoryServicer
from dengar_insights.entrypoints.grpc_channels import ChannelServicer, DigestServicer
from dengar_insights.entrypoints.grpc_tenants import InsightsTenantServicer, RetentionWorker
from dengar_insights.entrypoints.query_events import QueryChangedHandler
from dengar_insights.service_layer.alert_conditions import EngineConditions
from dengar_insights.service_layer.alerts import AlertEngine, AlertHistory, AlertRules, ChannelDirectory
from dengar_insights.service_layer.backfill import BackfillRunner, Backfills, IncomingTags, loaders
from dengar_insights.service_layer.categories import CategoryManager, CategoryTagger
from dengar_insights.service_layer.deliveries import (
    ChannelManager,
    Deliveries,
    DeliveryConfig,
    DeliveryWorker,
)
from dengar_insights.service_layer.digests import DigestConfig, DigestManager, DigestScheduler
from dengar_insights.service_layer.inbox import Inbox
from dengar_insights.service_layer.ingest import MentionIngestor
from dengar_insights.service_layer.insight_engine import InsightEngine
from dengar_insights.service_layer.ports import Dispatcher, Embedder
from dengar_insights.service_layer.queries import InsightsQueries
from dengar_insights.service_layer.retention import RetentionCutoffs, RetentionPolicy, RetentionSweep
from dengar_insights.service_layer.stream import MentionStream
from dengar_insights.service_layer.stream_quota import StreamQuota
from dengar_insights.service_layer.topics import TopicLimits, TopicsEngine
from dengar_insights.service_layer.voices import Voices
from dengar_insights.settings import InsightsSettings

logger = logging.getLogger(__name__)

SERVICE_NAMES = (insights_pb2.DESCRIPTOR.services_by_name["InsightsService"].full_name,
                 insights_pb2.DESCRIPTOR.services_by_name["CategoryService"].full_name,
                 insights_pb2.DESCRIPTOR.services_by_name["ChannelService"].full_name,
                 insights_pb2.DESCRIPTOR.services_by_name["DigestService"].full_name,
                 insights_pb2.DESCRIPTOR.services_by_name["AlertService"].full_name,
                 insights_pb2.DESCRIPTOR.services_by_name["InsightsTenantService"].full_name)
STAGE = "insights"


@dataclass(frozen=True)
class Insights:
    """The started service; tests read its port and counters."""

    settings: InsightsSettings
    port: int
    worker: bus.PullWorker
    handler: EnrichedPostHandler
    backfill_runner: BackfillRunner
    query_events: QueryChangedHandler
    tagger: CategoryTagger
    channels: ChannelManager
    deliveries: Deliveries
    delivery_worker: DeliveryWorker
    digests: DigestManager
    digest_scheduler: DigestScheduler
    alerts: AlertEngine | None = None
    alert_rules: AlertRules | None = None
    alert_history: AlertHistory | None = None

    @property
    def processed(self) -> int:
        """Messages acked after a successful ingest."""
        return self.worker.processed

    @property
    def dead_lettered(self) -> int:
        return self.worker.dead_lettered

    @property
    def results(self) -> Counter[str]:
        """Ingest results by kind (inserted, updated, duplicate, ...)."""
        return self.handler.results


async def start(app: ServiceApp, settings: InsightsSettings, *,
                mongo_client: AsyncMongoClient[dict[str, Any]] | None = None,
                embedder: Embedder | None = None, dispatcher: Dispatcher | None = None) -> Insights:
    """Start the service inside ``app`` (which stops it, in reverse order)."""
    cfg = settings.insights
    db = app.mongo(settings.mongo_uri, client=mongo_client)[cfg.db]
    mentions, rollups = MentionRepository(db), RollupRepository(db)
    categories = MongoCategoryStore(db, max_per_tenant=cfg.categories.max_per_tenant)
    await mentions.ensure_indexes()
    await rollups.ensure_indexes()
    backfills = BackfillRepository(db)
    await backfills.ensure_indexes()
    await categories.ensure_indexes()
    if embedder is None:
        nlp = NlpEmbedder.connect(cfg.nlp_target, timeout_s=cfg.nlp_timeout_s)
        app.on_stop("the NLP channel", nlp.close)
        embedder = nlp
    tagger = CategoryTagger(categories, ttl_s=cfg.categories.cache_ttl_s,
                            max_age_s=cfg.categories.max_age_s)
    # Query changes and category writes schedule backfills; the runner (started below, after the
    # consumer) re-tags stored mentions batch by batch.
    ingestor = MentionIngestor(mentions, rollups)
    # Registered before the consumer and the backfill runner, so it runs after both have stopped.
    app.on_stop("finished batch records", ingestor.flush)
    targets = loaders(categories)
    runner = BackfillRunner(backfills, mentions, ingestor, targets, cfg.backfill)
    category_servicer = CategoryServicer(CategoryManager(
        categories, embedder, mentions, on_change=tagger.invalidate,
        background_sample=cfg.categories.background_sample,
        backfills=Backfills(backfills, runner.wake)))
    topic_registry = MongoTopicRegistry(db)
    await topic_registry.ensure_indexes()

    channel_store, channels, deliveries, delivery_worker = await _start_deliveries(app, settings, db)

    subjects = bus.Subjects(settings.subject_root)
    js = (await app.connect_nats(settings.nats_url)).jetstream()
    await bus.ensure_streams(js, subjects, replicas=settings.nats_stream_replicas)

    mention_events = NatsMentionEvents(js, subjects)
    mention_reads = MongoMentionReads(db)
    engine = InsightEngine(MongoRollupReads(rollups), mention_reads)
    digest_store = MongoDigestStore(db)
    await digest_store.ensure_indexes()
    digests = DigestManager(digest_store, channel_store, max_per_tenant=cfg.digests.max_per_tenant)
    digest_scheduler = DigestScheduler(digest_store, channel_store, engine, deliveries, DigestConfig(
        poll_s=cfg.digests.poll_s, lease_s=cfg.digests.lease_s, cards=cfg.digests.cards))
    audit_log = MongoAuditLog(db)
    await audit_log.ensure_indexes()
    inbox = Inbox(mentions, audit_log)
    voices = Voices(MongoVoiceReads(db), mention_reads)
    topics = TopicsEngine(MongoTopicReads(db), topic_registry,
                          limits=TopicLimits(sample_cap=cfg.topics_sample_cap))
    stream_leases = MongoStreamLeases(db)
    await stream_leases.ensure_indexes()
    stream_quota = StreamQuota(stream_leases, max_per_tenant=cfg.stream.max_per_tenant,
                               lease_ttl_s=cfg.stream.lease_ttl_s, retry_after_s=cfg.stream.retry_after_s)
    app.run_task("stream leases", stream_quota.renew_forever())
    app.on_stop("the stream leases", stream_quota.close)
    servicer = InsightsServicer(InsightsQueries(mentions, rollups, max_buckets=cfg.max_timeseries_buckets),
                                engine, voices, topics,
                                backfills=backfills,
                                stream=MentionStream(mention_events, mentions, quota=stream_quota),
                                inbox=inbox)

    # Alerts go to the tenant's channels through the deliveries (tests may pass another dispatcher).
    if dispatcher is None:
        dispatcher = deliveries
    alert_rule_store = MongoAlertRuleStore(db, max_per_tenant=cfg.alerts.max_rules_per_tenant)
    alert_store = MongoAlertStore(db)
    await alert_rule_store.ensure_indexes()
    await alert_store.ensure_indexes()
    alerts = AlertEngine(alert_rule_store, alert_store,
                         EngineConditions(engine, MongoRollupReads(rollups), topics, voices),
                         dispatcher, NatsAlertPublisher(js, subjects), owner=uuid.uuid4().hex,
                         ttl_s=cfg.alerts.cache_ttl_s, lease_s=max(2 * cfg.alerts.evaluate_interval_s, 30.0))
    alert_rules = AlertRules(alert_rule_store,
                             channels=dispatcher if isinstance(dispatcher, ChannelDirectory) else None,
                             on_change=alerts.invalidate, store=alert_store)
    alert_history = AlertHistory(alert_store, dispatcher)
    alert_servicer = AlertServicer(alert_rules, alert_history)

    tombstones = Tombstones(db, ttl_s=cfg.tombstone_ttl_s)
    retention_store = MongoRetentionStore(db)
    retention = RetentionPolicy(retention_store, default_days=cfg.retention.default_days)
    offboarding = TenantOffboarding(db, tombstones, before=[retention_store.delete_alert_leases],
                                    on_deleted=[tagger.invalidate, alerts.invalidate])
    tenant_servicer = InsightsTenantServicer(offboarding, retention)

    def register(server: aio.Server) -> None:
        insights_pb2_grpc.add_InsightsServiceServicer_to_server(servicer, server)
        insights_pb2_grpc.add_CategoryServiceServicer_to_server(category_servicer, server)
        insights_pb2_grpc.add_ChannelServiceServicer_to_server(ChannelServicer(channels, deliveries), server)
        insights_pb2_grpc.add_DigestServiceServicer_to_server(DigestServicer(digests), server)
        insights_pb2_grpc.add_AlertServiceServicer_to_server(alert_servicer, server)
        tenant_servicer.register(server)

    port = await app.serve_grpc([register], SERVICE_NAMES, host=settings.bind_host, port=cfg.grpc_port,
                                port_file=cfg.port_file)
    # Registered after the gRPC server, so it runs before the server stops: live streams end first.
    app.on_stop("live mention streams", mention_events.close)

    handler = EnrichedPostHandler(ingestor, tagger, IncomingTags(backfills, targets, cfg.backfill),
                                  events=mention_events, alerts=alerts, deleted=tombstones,
                                  retention=RetentionCutoffs(retention), consumer_group=cfg.durable)
    worker = bus.PullWorker(js, subjects, bus.WorkerConfig(
        stream=subjects.stream("enriched"), durable=cfg.durable, filter_subject=subjects.enriched_all,
        batch_size=cfg.batch_size, max_wait_s=cfg.batch_wait_s, max_deliver=cfg.max_deliver,
        ack_wait_s=cfg.ack_wait_s, stage=STAGE,
    ), handler)
    # Stopped first at shutdown: the in-flight batch finishes and is acked.
    app.run_worker("consumer", worker)

    # Backfills: query changes schedule jobs, the runner re-tags stored mentions batch by batch.
    app.run_worker("backfill runner", runner)
    query_events = QueryChangedHandler(backfills, runner.wake)
    app.run_worker("query-change consumer", bus.PullWorker(js, subjects, bus.WorkerConfig(
        stream=subjects.stream("queries"), durable=cfg.query_events_durable,
        filter_subject=subjects.queries_changed_all, batch_size=cfg.batch_size, max_wait_s=cfg.batch_wait_s,
        max_deliver=cfg.max_deliver, ack_wait_s=cfg.ack_wait_s, stage="insights-queries",
    ), query_events))
    app.run_worker("alert evaluator", AlertScheduler(alerts, cfg.alerts.evaluate_interval_s))
    logger.info("insights service started: gRPC on %s:%d, database %s, consuming %s",
                settings.bind_host, port, cfg.db, subjects.enriched_all)
    app.run_worker("delivery worker", delivery_worker)
    app.run_worker("digest scheduler", digest_scheduler)
    retention_sweep = RetentionSweep(retention_store, retention, owner=uuid.uuid4().hex,
                                     lease_s=max(600.0, 2 * cfg.retention.sweep_interval_s),
                                     batch=cfg.retention.batch)
    app.run_worker("retention sweep", RetentionWorker(retention_sweep, cfg.retention.sweep_interval_s))
    return Insights(settings, port, worker, handler, runner, query_events, tagger, channels, deliveries,
                    delivery_worker, digests, digest_scheduler, alerts, alert_rules, alert_history)


async def _start_deliveries(app: ServiceApp, settings: InsightsSettings, db: Any,
                            ) -> tuple[MongoChannelStore, ChannelManager, Deliveries, DeliveryWorker]:
    cfg = settings.insights
    box = SecretBox.from_setting(cfg.secrets_keys.get_secret_value())
    if not box.encrypts:
        logger.warning("DENGAR_INSIGHTS__SECRETS_KEYS is not set: webhook signing secrets are stored "
                       "unencrypted")
    channel_store, delivery_store = MongoChannelStore(db, box), MongoDeliveryStore(db)
    await channel_store.ensure_indexes()
    await delivery_store.ensure_indexes()
    policy = cfg.egress.policy()
    # Redirects are not followed: a receiver that moved answers 3xx, which is logged as a failure.
    http = SafeHttpClient(SafeHttpConfig(policy=policy, max_redirects=0, total_timeout_s=
                                         cfg.deliveries.attempt_timeout_s + 1,
                                         user_agent="Dengar-Webhooks/1"))
    app.on_stop("the webhook HTTP client", http.aclose)
    email = SmtpEmailSender(cfg.smtp)
    d = cfg.deliveries
    worker = DeliveryWorker(channel_store, delivery_store, HttpWebhookSender(http), email, DeliveryConfig(
        max_attempts=d.max_attempts, attempt_timeout_s=d.attempt_timeout_s, backoff_base_s=d.backoff_base_s,
        backoff_cap_s=d.backoff_cap_s, concurrency=d.concurrency, poll_s=d.poll_s, per_channel=d.per_channel,
        # Well past an attempt's timeout, so that a slow send is never taken over mid-way.
        lease_s=max(60.0, 3 * d.attempt_timeout_s)))
    channels = ChannelManager(channel_store, email_configured=email.configured, check_url=UrlCheck(policy),
                              max_per_tenant=d.max_channels_per_tenant)
    return channel_store, channels, Deliveries(channel_store, delivery_store, wake=worker.wake), worker
