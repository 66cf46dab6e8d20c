"""Settings of the insights service: ``DENGAR_INSIGHTS__<FIELD>`` (e.g. ``DENGAR_INSIGHTS__GRPC_PORT``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dengar_common.settings import CommonSettings
from dengar_insights.service_layer.backfill import BackfillConfig


class CategoryConfig(BaseModel):
    """``DENGAR_INSIGHTS__CATEGORIES__*``: the per-tenant limit and the ingest's cache of categories."""

    model_config = ConfigDict(frozen=True)

    # Each category is evaluated (expression and similarity) on every new mention of its tenant.
    max_per_tenant: int = Field(50, ge=1, le=1000)
    # How long a replica tags with its cached set before checking the store's version (changes
    # made through this replica apply at once).
    cache_ttl_s: float = Field(5.0, ge=0)
    # Reload regardless of the version after this long (a writer may die before bumping it).
    max_age_s: float = Field(300.0, gt=0)
    # Recent mentions scored as the background when a threshold is calibrated.
    background_sample: int = Field(500, ge=0, le=10_000)


class AlertConfig(BaseModel):
    """``DENGAR_INSIGHTS__ALERTS__*``: alert rules and their evaluation."""

    model_config = ConfigDict(frozen=True)

    max_rules_per_tenant: int = Field(50, ge=1, le=1000)
    # The scheduled conditions (spike, negative share, topic, campaign) are checked this often.
    evaluate_interval_s: float = Field(60.0, gt=0, le=3600)
    # How long a replica matches new mentions with its cached rules before checking their version.
    cache_ttl_s: float = Field(5.0, ge=0)


class InsightsConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    grpc_port: int = Field(50053, ge=0, le=65535)
    port_file: str | None = None
    db: str = Field("dengar_insights", min_length=1, max_length=63)
    # JetStream durable consumer shared by every replica.
    durable: str = Field("insights", min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    # A batch closes at this many messages or after this long, whichever comes first.
    batch_size: int = Field(64, ge=1, le=1000)
    batch_wait_s: float = Field(0.2, gt=0, le=60)
    max_deliver: int = Field(5, ge=1, le=100)
    # Redelivery of an un-acked message, and so the recovery time of a crashed replica's batch.
    ack_wait_s: float = Field(60.0, ge=1, le=3600)
    max_timeseries_buckets: int = Field(1000, ge=1, le=100_000)
    # Re-tagging stored mentions after a listening query changed (DENGAR_INSIGHTS__BACKFILL__DAYS...).
    backfill: BackfillConfig = BackfillConfig()
    # JetStream durable consumer of query changes, shared by every replica.
    query_events_durable: str = Field("insights-queries", min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    # The NLP service embeds the example posts of categories (Analyze with the embedding).
    nlp_target: str = Field("127.0.0.1:50052", min_length=1)
    nlp_timeout_s: float = Field(30.0, gt=0, le=600)
    categories: CategoryConfig = CategoryConfig()
    # Mentions clustered per window for topics; a bigger window is hash-sampled to this many.
    topics_sample_cap: int = Field(10_000, ge=10, le=100_000)
    alerts: AlertConfig = AlertConfig()


class InsightsSettings(CommonSettings):
    insights: InsightsConfig = InsightsConfig()
