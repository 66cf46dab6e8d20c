"""The platform's metric instruments, named after the OpenTelemetry semantic conventions where one
exists (``rpc.server.call.duration``; HTTP's ``http.server.request.duration`` comes from the FastAPI
instrumentation) and under ``dengar.`` otherwise.

Attributes stay bounded: methods, routes, stages, consumers, platforms and outcomes. A tenant id is
added only where a caller passes ``tenant`` *and* the operator enabled it
(``DENGAR_METRICS_TENANT_ID``, see ``enable_tenant_attribute``), since every tenant multiplies
the series of a high-volume metric.

Instruments are created on first use from the global meter provider (a no-op until
``configure_telemetry`` installs one), never at import time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

# Durations in seconds (the conventions' unit), from a few milliseconds to a stuck call.
DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
                      30.0)
TENANT_ATTRIBUTE = "dengar.tenant.id"

_tenant_enabled = [False]
# The last pending count each consumer saw, by (stream, durable); read when metrics are collected.
_pending: dict[tuple[str, str], int] = {}


def set_consumer_pending(stream: str, consumer: str, pending: int) -> None:
    """Record a consumer's lag (JetStream ``num_pending``); reported as a gauge."""
    instruments()
    _pending[(stream, consumer)] = pending


def _observe_pending(_options: CallbackOptions) -> Iterable[Observation]:
    for (stream, consumer), pending in list(_pending.items()):
        yield Observation(pending, {"messaging.system": "nats", "messaging.destination.name": stream,
                                    "messaging.consumer.group.name": consumer})


def enable_tenant_attribute(enabled: bool) -> None:
    """Let the per-post counters carry ``dengar.tenant.id`` (off by default: cardinality)."""
    _tenant_enabled[0] = enabled


def attrs(base: Mapping[str, str | int | bool], tenant: str | None = None) -> dict[str, str | int | bool]:
    """``base``, plus the tenant when that is enabled."""
    out = dict(base)
    if tenant and _tenant_enabled[0]:
        out[TENANT_ATTRIBUTE] = tenant
    return out


@dataclass(frozen=True)
class Instruments:
    rpc_server_duration: metrics.Histogram
    consumer_pending: metrics.ObservableGauge
    consumer_redeliveries: metrics.Counter
    consumer_dead_lettered: metrics.Counter
    consumer_processed: metrics.Counter
    process_duration: metrics.Histogram
    posts_ingested: metrics.Counter
    posts_enriched: metrics.Counter
    posts_stored: metrics.Counter
    nlp_batch_duration: metrics.Histogram
    nlp_batch_size: metrics.Histogram
    alert_deliveries: metrics.Counter


@cache
def instruments() -> Instruments:
    """The instruments on the global meter provider (created once)."""
    return make_instruments(metrics.get_meter("dengar"))


def make_instruments(meter: metrics.Meter) -> Instruments:
    """The instruments on ``meter`` (tests pass their own provider's)."""
    return Instruments(
        rpc_server_duration=meter.create_histogram(
            "rpc.server.call.duration", unit="s",
            description="Measures the duration of an incoming Remote Procedure Call (RPC).",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S),
        consumer_pending=meter.create_observable_gauge(
            "dengar.messaging.consumer.pending", callbacks=[_observe_pending], unit="{message}",
            description="Messages of the JetStream stream not yet delivered to the consumer (its lag)."),
        consumer_redeliveries=meter.create_counter(
            "dengar.messaging.consumer.redeliveries", unit="{message}",
            description="Messages received again after a failure or an expired ack wait."),
        consumer_dead_lettered=meter.create_counter(
            "dengar.messaging.consumer.dead_lettered", unit="{message}",
            description="Messages moved to the dead-letter stream after max_deliver attempts."),
        consumer_processed=meter.create_counter(
            "messaging.client.consumed.messages", unit="{message}",
            description="Messages a consumer received and handled (acked or failed)."),
        process_duration=meter.create_histogram(
            "messaging.process.duration", unit="s",
            description="Duration of processing one batch of consumed messages.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S),
        posts_ingested=meter.create_counter(
            "dengar.posts.ingested", unit="{post}",
            description="Posts the collector accepted and published (duplicates included)."),
        posts_enriched=meter.create_counter(
            "dengar.posts.enriched", unit="{post}",
            description="Posts NLP analysed and published as enriched."),
        posts_stored=meter.create_counter(
            "dengar.posts.stored", unit="{post}",
            description="Enriched posts insights handled, by result (inserted, updated, duplicate...)."),
        nlp_batch_duration=meter.create_histogram(
            "dengar.nlp.batch.duration", unit="s",
            description="Time to analyse one batch of texts (the model version is a resource attribute).",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S),
        nlp_batch_size=meter.create_histogram(
            "dengar.nlp.batch.size", unit="{text}", description="Texts per analysed batch.",
            explicit_bucket_boundaries_advisory=(1, 2, 4, 8, 16, 32, 64, 128, 256)),
        alert_deliveries=meter.create_counter(
            "dengar.alert.deliveries", unit="{delivery}",
            description="Attempts to deliver an alert or digest to a channel, by channel kind and outcome."),
    )
