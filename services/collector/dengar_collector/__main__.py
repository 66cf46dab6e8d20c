"""``python -m dengar_collector``: the collector service (settings fail fast, then logging and tracing)."""

from __future__ import annotations

import sys

from dengar_common.entry import run_service

if __name__ == "__main__":
    from dengar_collector.bootstrap import main
    from dengar_collector.settings import CollectorSettings

    sys.exit(run_service("dengar-collector", CollectorSettings, main))
