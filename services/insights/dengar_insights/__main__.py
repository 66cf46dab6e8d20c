"""`python -m dengar_insights`: the insights service."""

from __future__ import annotations

import sys

from dengar_common.entry import run_service

if __name__ == "__main__":
    from dengar_insights.bootstrap import main
    from dengar_insights.settings import InsightsSettings

    sys.exit(run_service("dengar-insights", InsightsSettings, main))
