"""Gateway settings: every field can be set from the environment as ``DENGAR_<FIELD>``."""

from __future__ import annotations

from pydantic import Field

from dengar_common.settings import CommonSettings


class GatewaySettings(CommonSettings):
    """Typed configuration of the public REST API and dashboard."""

    gateway_http_port: int = Field(8080, ge=0, le=65535)
    # When set, the bound port is written here once the server accepts requests (port 0 = any).
    gateway_port_file: str | None = None
    gateway_db: str = "dengar_gateway"

    collector_target: str = "127.0.0.1:50051"
    nlp_target: str = "127.0.0.1:50052"
    insights_target: str = "127.0.0.1:50053"
    # Deadline of each backend call; analysis of 100 long texts is the slowest one.
    gateway_grpc_timeout_s: float = Field(30.0, gt=0)
    gateway_readiness_timeout_s: float = Field(2.0, gt=0)

    # Per-key token bucket: sustained requests per second and burst size. 0 disables the limiter.
    gateway_rate_limit_per_s: float = Field(20.0, ge=0)
    gateway_rate_limit_burst: int = Field(100, ge=1)

    # Request limits (POST /v1/posts is the largest legitimate body).
    gateway_max_body_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    gateway_max_posts: int = Field(1000, ge=1)
    # POST /v1/imports takes files up to this size (streamed to the collector, which has its own
    # limit), and the whole upload to the collector may take this long.
    gateway_import_max_bytes: int = Field(2 * 1024**3, ge=1024)
    gateway_import_timeout_s: float = Field(3600.0, gt=0)

    # Idempotency-Key records live this long; an in-flight record older than the lock is abandoned
    # (its request died) and may be taken over.
    gateway_idempotency_ttl_s: int = Field(24 * 3600, ge=60)
    gateway_idempotency_lock_s: float = Field(120.0, gt=0)
