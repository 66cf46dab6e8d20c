"""`python -m dengar_insights`: the insights service."""

import sys

from dengar_common.entry import run_app
from dengar_insights import bootstrap
from dengar_insights.settings import InsightsSettings

if __name__ == "__main__":
    sys.exit(run_app("dengar-insights", InsightsSettings, bootstrap.start))
