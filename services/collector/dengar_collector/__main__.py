"""``python -m dengar_collector``: load settings (fail fast), set up logging and tracing, run."""

from __future__ import annotations

import asyncio
import sys

from dengar_collector import bootstrap
from dengar_collector.settings import CollectorSettings
from dengar_common.logs import configure_logging
from dengar_common.settings import ConfigError, load_settings
from dengar_common.telemetry import configure_tracing


def main() -> None:
    try:
        settings = load_settings(CollectorSettings)
    except ConfigError as exc:
        sys.stderr.write(f"dengar-collector: {exc}\n")
        raise SystemExit(2) from None
    configure_logging(settings.log_level, json_format=settings.log_json)
    configure_tracing("dengar-collector", console=settings.otel_console)
    asyncio.run(bootstrap.main(settings))


if __name__ == "__main__":
    main()
