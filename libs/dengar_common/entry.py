"""The shared `python -m dengar_<service>` entry: settings first (fail fast), then logging and telemetry."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from dengar_common import metrics
from dengar_common.app import ServiceApp, serve
from dengar_common.logs import configure_logging
from dengar_common.service_cli import parse_service_args
from dengar_common.settings import CommonSettings, ConfigError, load_settings
from dengar_common.telemetry import TelemetryConfigError, configure_telemetry

S = TypeVar("S", bound=CommonSettings)


def run_app(name: str, settings_cls: type[S],
            start: Callable[[ServiceApp, S], Awaitable[object]], argv: Sequence[str] | None = None, *,
            resource: Callable[[S], Mapping[str, str]] | None = None) -> int:
    """``python -m dengar_<name>``: settings (fail fast), logging, telemetry (``resource`` adds the
    service's own resource attributes), then the service's ``start(app, settings)`` inside a
    ``ServiceApp`` until SIGTERM. Returns an exit code. ``--help`` and ``--version`` (``argv``,
    default the process's) answer and exit before any of it."""
    parse_service_args(name, name.replace("-", "_"), settings_cls, sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings(settings_cls)
    except ConfigError as exc:
        sys.stderr.write(f"{name}: {exc}\n")
        return 2
    configure_logging(settings.log_level, json_format=settings.log_json)
    metrics.enable_tenant_attribute(settings.metrics_tenant_id)
    try:
        telemetry = configure_telemetry(
            name, console=settings.otel_console, prometheus_port=settings.prometheus_port,
            prometheus_host=settings.bind_host, resource_attributes=resource(settings) if resource else None,
            propagate_hosts=settings.otel_propagate_hosts)
    except (TelemetryConfigError, OSError) as exc:
        sys.stderr.write(f"{name}: telemetry: {exc}\n")
        return 2
    try:
        asyncio.run(serve(name, settings.shutdown_grace_s, lambda app: start(app, settings)))
    finally:
        # The last spans and metrics (those of the shutdown itself) are flushed before exiting.
        telemetry.shutdown()
    return 0
