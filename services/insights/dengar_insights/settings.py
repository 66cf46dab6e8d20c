"""Settings of the insights service: ``DENGAR_INSIGHTS__<FIELD>`` (e.g. ``DENGAR_INSIGHTS__GRPC_PORT``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dengar_common.settings import CommonSettings


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
    # Mentions clustered per window for topics; a bigger window is hash-sampled to this many.
    topics_sample_cap: int = Field(10_000, ge=10, le=100_000)


class InsightsSettings(CommonSettings):
    insights: InsightsConfig = InsightsConfig()
