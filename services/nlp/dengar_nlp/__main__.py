"""`python -m dengar_nlp`: the NLP service."""

import os
import sys

if __name__ == "__main__":
    # onnxruntime has its own thread pool (DENGAR_NLP__THREADS); numpy's BLAS threads on top of it
    # only oversubscribe the cores. Must be set before numpy is first imported, so before bootstrap.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from dengar_common.entry import run_app
    from dengar_nlp import bootstrap
    from dengar_nlp.settings import NlpSettings

    sys.exit(run_app("dengar-nlp", NlpSettings, bootstrap.start, resource=bootstrap.telemetry_resource))
