"""``python -m dengar_gateway``: the REST API and dashboard."""

import sys

from dengar_common.entry import run_app
from dengar_gateway import bootstrap
from dengar_gateway.settings import GatewaySettings

if __name__ == "__main__":
    sys.exit(run_app("dengar-gateway", GatewaySettings, bootstrap.start))
