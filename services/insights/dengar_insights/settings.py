"""Settings of the insights service: ``DENGAR_INSIGHTS__<FIELD>`` (e.g. ``DENGAR_INSIGHTS__GRPC_PORT``)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from dengar_common.http_safety import EgressConfig
from dengar_common.secrets import SecretsKeys
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


_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class SmtpConfig(BaseModel):
    """``DENGAR_INSIGHTS__SMTP__*``: the server email channels send through (none: no email channels)."""

    model_config = ConfigDict(frozen=True)

    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    # none (plain, e.g. a local relay), starttls (upgrade on the submission port) or ssl (implicit TLS, 465).
    security: str = Field("starttls", pattern=r"^(none|starttls|ssl)$")
    user: str = ""
    password: SecretStr = SecretStr("")
    from_address: str = ""

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        if value and (len(value) > 253 or any(c.isspace() or c in "/:@" for c in value)):
            raise ValueError("host must be a host name or address, without scheme or port")
        return value

    @model_validator(mode="after")
    def _check_from(self) -> SmtpConfig:
        if self.host and not _ADDRESS.match(self.from_address):
            raise ValueError("from_address must be an email address when host is set")
        if self.user and not self.host:
            raise ValueError("user is set but host is not")
        return self


class DeliveriesConfig(BaseModel):
    """``DENGAR_INSIGHTS__DELIVERIES__*``: retries, time-outs and concurrency of channel deliveries."""

    model_config = ConfigDict(frozen=True)

    # Failed attempts after which a delivery is dead (POST .../redeliver revives it).
    max_attempts: int = Field(8, ge=1, le=50)
    attempt_timeout_s: float = Field(10.0, gt=0, le=300)
    backoff_base_s: float = Field(5.0, gt=0, le=3600)
    backoff_cap_s: float = Field(3600.0, gt=0, le=86_400)
    concurrency: int = Field(16, ge=1, le=512)
    # Sends in flight to one channel (0: a quarter of concurrency): a flood to a hanging receiver
    # leaves the other channels slots.
    per_channel: int = Field(0, ge=0, le=512)
    poll_s: float = Field(1.0, gt=0, le=60)
    max_channels_per_tenant: int = Field(50, ge=1, le=1000)


class DigestsConfig(BaseModel):
    """``DENGAR_INSIGHTS__DIGESTS__*``: how often replicas look for due digests."""

    model_config = ConfigDict(frozen=True)

    poll_s: float = Field(30.0, gt=0, le=3600)
    # A replica that dies while building a digest frees it for another after this.
    lease_s: float = Field(300.0, ge=10, le=3600)
    cards: int = Field(5, ge=1, le=20)
    max_per_tenant: int = Field(20, ge=1, le=500)
class AlertConfig(BaseModel):
    """``DENGAR_INSIGHTS__ALERTS__*``: alert rules and their evaluation."""

    model_config = ConfigDict(frozen=True)

    max_rules_per_tenant: int = Field(50, ge=1, le=1000)
    # The scheduled conditions (spike, negative share, topic, campaign) are checked this often.
    evaluate_interval_s: float = Field(60.0, gt=0, le=3600)
    # How long a replica matches new mentions with its cached rules before checking their version.
    cache_ttl_s: float = Field(5.0, ge=0)


class StreamConfig(BaseModel):
    """``DENGAR_INSIGHTS__STREAM__*``: concurrent StreamMentions calls per tenant, over every
    insights replica (the gateway's live streams count too: keep this at or above the gateway's
    ``DENGAR_GATEWAY__STREAM__MAX_PER_TENANT`` and tenants' own ``max_streams``)."""

    model_config = ConfigDict(frozen=True)

    max_per_tenant: int = Field(20, ge=1)
    # Leases of open streams are renewed every third of this; a crashed replica's streams stop
    # counting this long after its last renewal.
    lease_ttl_s: float = Field(60.0, ge=3)
    retry_after_s: int = Field(5, ge=1)


class RetentionConfig(BaseModel):
    """``DENGAR_INSIGHTS__RETENTION__*``: how long mentions are kept (docs/retention.md)."""

    model_config = ConfigDict(frozen=True)

    # Days a mention is kept (by its created_at) unless its tenant has its own value; 0 = forever.
    default_days: int = Field(0, ge=0, le=36_500)
    # One sweep over every tenant this often, by one replica at a time (a lease).
    sweep_interval_s: float = Field(3600.0, gt=0, le=86_400)
    # Documents removed per delete, so that no single operation runs long.
    batch: int = Field(1000, ge=1, le=100_000)


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
    deliveries: DeliveriesConfig = DeliveriesConfig()
    smtp: SmtpConfig = SmtpConfig()
    digests: DigestsConfig = DigestsConfig()
    # Outbound webhooks reach public addresses only unless this allows more (tests, `make run`).
    egress: EgressConfig = EgressConfig()
    # Fernet keys sealing webhook signing secrets at rest (as DENGAR_COLLECTOR__SECRETS_KEYS).
    secrets_keys: SecretsKeys = SecretStr("")
    alerts: AlertConfig = AlertConfig()
    stream: StreamConfig = StreamConfig()
    retention: RetentionConfig = RetentionConfig()
    # How long this process may take to learn that another replica deleted a tenant (its messages
    # are dropped from then on; `dengar tenants delete` makes a second pass after this long).
    tombstone_ttl_s: float = Field(5.0, gt=0, le=60)


class InsightsSettings(CommonSettings):
    insights: InsightsConfig = InsightsConfig()
