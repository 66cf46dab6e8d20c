"""Gateway settings: everything of the gateway's own is in ``gateway`` (``DENGAR_GATEWAY__<FIELD>``,
``DENGAR_GATEWAY__RATE_LIMIT__PER_S``...); the shared ones are top-level (``DENGAR_MONGO_URI``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dengar_common.settings import CommonSettings


class RateLimitConfig(BaseModel):
    """Per-key token bucket, in each replica: sustained requests per second and burst size. 0
    disables it. The tenant's shared limit over all its keys and replicas is in ``quotas``."""

    model_config = ConfigDict(frozen=True)

    per_s: float = Field(20.0, ge=0)
    burst: int = Field(100, ge=1)


class WebhookLimitConfig(BaseModel):
    """``POST /v1/webhooks/{id}`` (no API key): token buckets per client address and per source, in
    pools of their own (``max_entries`` buckets each) so webhook traffic never evicts an API key's
    bucket. 0 disables a bucket."""

    model_config = ConfigDict(frozen=True)

    per_address_per_s: float = Field(20.0, ge=0)
    per_address_burst: int = Field(100, ge=1)
    per_source_per_s: float = Field(20.0, ge=0)
    per_source_burst: int = Field(100, ge=1)
    max_entries: int = Field(50_000, ge=100)


class AuthFailureLimitConfig(BaseModel):
    """Failed authentications (401) per client address: a bucket of ``burst`` that refills at
    ``per_s``; an empty one answers 429 before any key is checked. 0 disables it."""

    model_config = ConfigDict(frozen=True)

    per_s: float = Field(0.5, ge=0)
    burst: int = Field(30, ge=1)
    max_entries: int = Field(50_000, ge=100)


class IdempotencyConfig(BaseModel):
    """Idempotency-Key records live ``ttl_s``; an in-flight record older than ``lock_s`` is
    abandoned (its request died) and may be taken over."""

    model_config = ConfigDict(frozen=True)

    ttl_s: int = Field(24 * 3600, ge=60)
    lock_s: float = Field(120.0, gt=0)


class LimitsConfig(BaseModel):
    """Request limits (POST /v1/posts is the largest legitimate JSON body)."""

    model_config = ConfigDict(frozen=True)

    max_body_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    max_posts: int = Field(1000, ge=1)
    # POST /v1/imports takes files up to this size (streamed to the collector, which has its own
    # limit), and the whole upload to the collector may take this long.
    import_max_bytes: int = Field(2 * 1024**3, ge=1024)
    import_timeout_s: float = Field(3600.0, gt=0)
    # Uploads a tenant may have in flight through this gateway process at once: each is buffered in
    # the gateway's temporary directory before the collector (which holds the tenant's quotas) sees it.
    import_max_concurrent_per_tenant: int = Field(2, ge=1)


class StreamConfig(BaseModel):
    """Live streams (GET /v1/stream/mentions, Server-Sent Events)."""

    model_config = ConfigDict(frozen=True)

    # A comment line this often keeps proxies and clients from timing out an idle stream.
    heartbeat_s: float = Field(15.0, gt=0)
    # Concurrent streams per tenant, over every gateway replica (leases in the gateway's store;
    # a tenant's own value wins: `dengar tenants limits TENANT max_streams=N`).
    max_per_tenant: int = Field(5, ge=1)
    # A replica renews its streams' leases every third of this; a crashed replica's streams stop
    # counting this long after its last renewal.
    lease_ttl_s: float = Field(60.0, ge=3)
    # Retry-After of the 429 over that limit, and the reconnection delay suggested to clients.
    retry_after_s: int = Field(5, ge=1)


class QuotaConfig(BaseModel):
    """Per-tenant quotas the gateway owns (see ``service_layer/quotas.py``); each one a tenant may
    override: ``dengar tenants limits TENANT rate_per_s=... max_keys=...``."""

    model_config = ConfigDict(frozen=True)

    # Requests per second of a tenant over all of its keys and every gateway replica, counted in
    # fixed windows of rate_window_s (so a burst of rate_per_s * rate_window_s is allowed). 0: off.
    rate_per_s: float = Field(50.0, ge=0)
    rate_window_s: float = Field(10.0, ge=1, le=3600)
    # Requests of a window a replica claims from the shared count at once (0: a 20th of the
    # window's limit). Larger: fewer store writes; smaller: less left unused per replica.
    rate_chunk: int = Field(0, ge=0)
    # Unrevoked API keys per tenant.
    max_keys: int = Field(50, ge=1)
    # How long a replica keeps a tenant's own limits before reading them again.
    limits_cache_s: float = Field(30.0, ge=0)


class GatewayConfig(BaseModel):
    """The public REST API and dashboard."""

    model_config = ConfigDict(frozen=True)

    http_port: int = Field(8080, ge=0, le=65535)
    # When set, the bound port is written here once the server accepts requests (port 0 = any).
    port_file: str | None = None
    db: str = "dengar_gateway"

    collector_target: str = "127.0.0.1:50051"
    nlp_target: str = "127.0.0.1:50052"
    insights_target: str = "127.0.0.1:50053"
    # Deadline of each backend call; analysis of 100 long texts is the slowest one.
    grpc_timeout_s: float = Field(30.0, gt=0)
    # How long an export may wait for the next batch of rows. The first one can take long: a store
    # without an index-ordered read (SecantusDB) sorts every match before it sends any.
    export_idle_timeout_s: float = Field(600.0, gt=0)
    readiness_timeout_s: float = Field(2.0, gt=0)

    rate_limit: RateLimitConfig = RateLimitConfig()
    webhook_limit: WebhookLimitConfig = WebhookLimitConfig()
    auth_failures: AuthFailureLimitConfig = AuthFailureLimitConfig()
    limits: LimitsConfig = LimitsConfig()
    idempotency: IdempotencyConfig = IdempotencyConfig()
    stream: StreamConfig = StreamConfig()
    quotas: QuotaConfig = QuotaConfig()


class GatewaySettings(CommonSettings):
    """Typed configuration of the gateway process."""

    gateway: GatewayConfig = GatewayConfig()
