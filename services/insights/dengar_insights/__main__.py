"""`python -m dengar_insights`: the insights service."""

import os
import sys

# Topic clustering (numpy) runs in a worker thread; with BLAS's default one-thread-per-core pool
# on a busy machine its threads spin against each other and the same call took 2.3-12 s instead
# of 1.5-1.9 s (domain/insight/topics.py). numpy reads these when it is first imported, so they
# are set before anything is imported; an explicit setting in the environment wins.
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def main() -> int:
    for var in BLAS_THREAD_VARS:
        os.environ.setdefault(var, "1")
    from dengar_common.entry import run_app
    from dengar_insights import bootstrap
    from dengar_insights.settings import InsightsSettings

    return run_app("dengar-insights", InsightsSettings, bootstrap.start)


if __name__ == "__main__":
    sys.exit(main())
