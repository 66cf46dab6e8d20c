"""Collector settings (environment variables prefixed DENGAR_, see docs/service-conventions.md)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from dengar_collector.adapters.secrets import parse_keys
from dengar_common.settings import CommonSettings


class CollectorSettings(CommonSettings):
    # 0 picks a free port (tests, `make run`); the bound port is logged and written to the port file.
    collector_grpc_port: int = Field(default=50051, ge=0, le=65535)
    # Listening queries, sources with their cursors and credentials, import jobs.
    collector_db: str = "dengar_collector"
    collector_port_file: str | None = None
    # A JetStream ack normally takes milliseconds; past this the bus is considered unavailable and
    # the whole batch fails, so that the caller retries instead of hanging.
    collector_publish_timeout_s: float = Field(default=5.0, gt=0)
    # Publishes in flight per request: enough to hide the ack round trip, bounded so one large batch
    # does not flood the connection's pending buffer.
    collector_publish_concurrency: int = Field(default=64, ge=1, le=1024)
    # File imports: uploads are spooled here (one file per job, deleted when the job ends), at most
    # import_max_bytes each; import_concurrency jobs run at once per replica, the others wait queued.
    collector_import_dir: str = Field(
        default_factory=lambda: str(Path(tempfile.gettempdir()) / "dengar-imports"))
    collector_import_max_bytes: int = Field(default=2 * 1024**3, ge=1)
    collector_import_concurrency: int = Field(default=2, ge=1)
    # Posts per IngestService batch (the unit of progress and of the resume checkpoint).
    collector_import_batch_size: int = Field(default=500, ge=1, le=500)
    # A running job's lease, renewed every batch; jobs of a replica that died are resumed by the one
    # that holds the spool directory once their lease has expired.
    collector_import_lease_s: float = Field(default=120.0, gt=0)
    # Listening queries: each one is evaluated (through an index) on every post of its tenant.
    collector_max_queries_per_tenant: int = Field(default=500, ge=1)
    # How long a replica tags with its compiled query set before checking the store's version of the
    # tenant's queries (changes made through this replica apply at once).
    collector_query_cache_ttl_s: float = Field(default=5.0, ge=0)
    # Reload regardless of the version after this long (a writer may die before bumping it).
    collector_query_max_age_s: float = Field(default=300.0, gt=0)
    # Sources: polling interval of a pull source when the tenant gives none, and the shortest allowed.
    collector_source_interval_default_s: int = Field(default=300, ge=1)
    collector_source_interval_min_s: int = Field(default=30, ge=1)
    # The scheduler of pull sources (off: this replica only serves the API; others run the sources).
    collector_scheduler_enabled: bool = True
    collector_scheduler_max_concurrent: int = Field(default=16, ge=1)
    collector_scheduler_max_per_tenant: int = Field(default=2, ge=1)
    # How often the store is asked for due sources (creating, resuming or running one wakes it at once).
    collector_scheduler_poll_s: float = Field(default=1.0, gt=0)
    # A run holds its source's lease this long, renewed while it lasts; a crashed replica's sources
    # are picked up by the others once it expires.
    collector_scheduler_lease_s: float = Field(default=300.0, gt=0)
    collector_scheduler_fetch_limit: int = Field(default=100, ge=1, le=1000)
    # Retryable failures back off exponentially from base to max; failures that need a person
    # (bad credentials, a rejected query) wait error_backoff. Resuming or editing a source retries now.
    collector_source_retry_base_s: float = Field(default=30.0, gt=0)
    collector_source_retry_max_s: float = Field(default=3600.0, gt=0)
    collector_source_error_backoff_s: float = Field(default=6 * 3600.0, gt=0)
    # A backfill in progress ("more available") runs again after this pause.
    collector_source_more_delay_s: float = Field(default=1.0, ge=0)
    # Signed webhooks: how far a push's X-Dengar-Timestamp may be from now (replay protection).
    collector_webhook_tolerance_s: float = Field(default=300.0, gt=0)
    collector_webhook_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Outbound HTTP of the connectors reaches only public addresses unless told otherwise: private
    # ones (a self-hosted Mastodon on the LAN, tests on 127.0.0.1) with allow_private, or exactly the
    # listed CIDRs (preferred: it opens only what is needed). Cloud metadata stays closed either way.
    collector_egress_allow_private: bool = False
    collector_egress_allowed_cidrs: list[str] = Field(default_factory=list)
    # Source credentials and webhook secrets at rest: comma-separated urlsafe-base64 32-byte keys,
    # the first encrypts, all decrypt (rotation). Empty: stored unencrypted (warned at start-up).
    collector_secrets_keys: SecretStr = SecretStr("")

    @field_validator("collector_secrets_keys")
    @classmethod
    def _check_secrets_keys(cls, value: SecretStr) -> SecretStr:
        parse_keys(value.get_secret_value())
        return value
