"""Settings of the insights service (environment variables DENGAR_INSIGHTS_*)."""

from __future__ import annotations

from pydantic import Field

from dengar_common.settings import CommonSettings


class InsightsSettings(CommonSettings):
    insights_grpc_port: int = Field(50053, ge=0, le=65535)
    insights_port_file: str | None = None
    insights_db: str = Field("dengar_insights", min_length=1, max_length=63)
    # JetStream durable consumer shared by every replica.
    insights_durable: str = Field("insights", min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    # A batch closes at this many messages or after this long, whichever comes first.
    insights_batch_size: int = Field(64, ge=1, le=1000)
    insights_batch_wait_s: float = Field(0.2, gt=0, le=60)
    insights_max_deliver: int = Field(5, ge=1, le=100)
    # Redelivery of an un-acked message, and so the recovery time of a crashed replica's batch.
    insights_ack_wait_s: float = Field(60.0, ge=1, le=3600)
    insights_max_timeseries_buckets: int = Field(1000, ge=1, le=100_000)
