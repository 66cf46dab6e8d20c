"""Typed settings that fail fast, naming the environment variable that is wrong."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(RuntimeError):
    """Raised at start-up when a setting is missing or invalid."""


class CommonSettings(BaseSettings):
    """Settings every service shares. Service settings subclass this.

    Naming: a top-level field ``mongo_uri`` is ``DENGAR_MONGO_URI``; a field of a nested model is
    reached with ``__`` (``collector.scheduler.max_concurrent`` is
    ``DENGAR_COLLECTOR__SCHEDULER__MAX_CONCURRENT``). Nested models are the configs the code takes
    directly, so nothing is copied field by field.
    """

    model_config = SettingsConfigDict(env_prefix="DENGAR_", env_nested_delimiter="__", extra="ignore",
                                      frozen=True)

    mongo_uri: str = "mongodb://127.0.0.1:27017"
    # One server, or a comma-separated list of a JetStream cluster's nodes.
    nats_url: str = "nats://127.0.0.1:4222"
    # Replicas of every JetStream stream (and so of its consumers): 3 on a three-node cluster.
    nats_stream_replicas: int = Field(1, ge=1, le=5)
    # Roots every subject and stream name, so that several deployments (or tests) share one server.
    subject_root: str = "dengar"
    bind_host: str = "127.0.0.1"
    log_level: str = "INFO"
    log_json: bool = False
    otel_console: bool = False
    # Hosts that outbound HTTP may send trace context to (JSON list; ".example.com" for subdomains).
    # None by default: connectors and webhooks talk to third parties, Dengar itself to gRPC and NATS.
    otel_propagate_hosts: tuple[str, ...] = ()
    # Exporting is configured by the standard OTEL_* variables (dengar_common.telemetry); these two
    # are Dengar's own: a Prometheus scrape endpoint on this port (off when unset; 0 picks a free
    # port), and the tenant id as an attribute of the per-post counters (off: cardinality).
    prometheus_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_tenant_id: bool = False
    shutdown_grace_s: float = 10.0


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build ``cls`` from the environment; raise ConfigError naming each bad variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = []
        for err in exc.errors():
            field = "__".join(str(p) for p in err["loc"]) or "?"
            info = cls.model_fields.get(str(err["loc"][0])) if err["loc"] else None
            # A key or password must not end up in a start-up error (and so in logs).
            got = "hidden" if info is not None and info.annotation is SecretStr else repr(err.get("input"))
            problems.append(f"{prefix}{field.upper()}: {err['msg']} (got {got})")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


def write_port_file(path: str | None, port: int) -> None:
    """Tell a supervisor (tests, `make run`) which port a service bound when asked for port 0."""
    if path:
        from pathlib import Path

        tmp = Path(path + ".tmp")
        tmp.write_text(str(port))
        tmp.replace(path)
