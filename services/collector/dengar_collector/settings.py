"""Collector settings (environment variables prefixed DENGAR_, see docs/service-conventions.md)."""

from __future__ import annotations

from pydantic import Field

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
