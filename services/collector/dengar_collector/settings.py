"""Collector settings: ``DENGAR_*`` shared ones and ``DENGAR_COLLECTOR__*`` (see docs/service-conventions.md).

The collector's own settings are one nested model whose parts are the configs the code takes
directly: ``DENGAR_COLLECTOR__SCHEDULER__MAX_CONCURRENT`` is ``SchedulerConfig.max_concurrent``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from dengar_collector.adapters.nats_publisher import PublishConfig
from dengar_collector.service_layer.import_service import ImportConfig
from dengar_collector.service_layer.query_outbox import OutboxConfig
from dengar_collector.service_layer.query_tagger import QueryConfig
from dengar_collector.service_layer.source_scheduler import SchedulerConfig
from dengar_collector.service_layer.source_service import SourcePolicy
from dengar_common.http_safety import EgressConfig
from dengar_common.secrets import SecretsKeys
from dengar_common.settings import CommonSettings


class CollectorConfig(BaseModel):
    """``DENGAR_COLLECTOR__*``."""

    model_config = ConfigDict(frozen=True)

    # 0 picks a free port (tests, `make run`); the bound port is logged and written to the port file.
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    port_file: str | None = None
    # Listening queries, sources with their cursors and credentials, import jobs.
    db: str = "dengar_collector"
    # The explicit development mode for secrets: without it the collector refuses to start with no
    # secrets_keys, so a forgotten key cannot silently store credentials in plaintext. `make run`
    # generates a key instead; only tests and throw-away set this.
    allow_unencrypted_secrets: bool = False
    # Source credentials and webhook secrets at rest: comma-separated urlsafe-base64 32-byte keys,
    # the first encrypts, all decrypt (rotation). Required unless allow_unencrypted_secrets.
    secrets_keys: SecretsKeys = Field(default=SecretStr(""), validate_default=True)
    publish: PublishConfig = PublishConfig()
    queries: QueryConfig = QueryConfig()
    # Publishing listening-query changes (the insights backfill follows them).
    outbox: OutboxConfig = OutboxConfig()
    sources: SourcePolicy = SourcePolicy()
    scheduler: SchedulerConfig = SchedulerConfig()
    imports: ImportConfig = Field(default_factory=ImportConfig)
    egress: EgressConfig = EgressConfig()
    # How long this process may take to learn that another replica deleted a tenant (its posts
    # are dropped from then on; `dengar tenants delete` makes a second pass after this long).
    tombstone_ttl_s: float = Field(default=5.0, gt=0, le=60)

    @field_validator("secrets_keys")
    @classmethod
    def _keys_required(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        if not value.get_secret_value().strip() and not info.data.get("allow_unencrypted_secrets"):
            raise ValueError(
                "a key is required to encrypt source credentials at rest (urlsafe base64 of 32 "
                "random bytes, see docs/sources.md); for development only, "
                "DENGAR_COLLECTOR__ALLOW_UNENCRYPTED_SECRETS=true stores them unencrypted")
        return value


class CollectorSettings(CommonSettings):
    # Validated even when no DENGAR_COLLECTOR__* is set: the default (no key) is only valid in the
    # development mode, and the error must name DENGAR_COLLECTOR__SECRETS_KEYS.
    collector: CollectorConfig = Field(default={}, validate_default=True)  # type: ignore[assignment]  # a dict validated into the model
