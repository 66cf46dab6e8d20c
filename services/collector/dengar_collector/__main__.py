"""``python -m dengar_collector``: the collector service."""

import sys

from dengar_collector import bootstrap
from dengar_collector.settings import CollectorSettings
from dengar_common.entry import run_app

if __name__ == "__main__":
    sys.exit(run_app("dengar-collector", CollectorSettings, bootstrap.start))
