"""``python -m dengar_gateway``: the REST API and dashboard."""

from __future__ import annotations

import asyncio
import logging

from dengar_common.logs import configure_logging
from dengar_common.settings import ConfigError, load_settings
from dengar_common.telemetry import configure_tracing
from dengar_gateway import bootstrap
from dengar_gateway.settings import GatewaySettings

logger = logging.getLogger("dengar_gateway")


def run() -> int:
    try:
        settings = load_settings(GatewaySettings)
    except ConfigError as exc:
        configure_logging()
        logger.error("%s", exc)
        return 2
    configure_logging(settings.log_level, json_format=settings.log_json)
    configure_tracing("dengar-gateway", console=settings.otel_console)
    asyncio.run(bootstrap.main(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
