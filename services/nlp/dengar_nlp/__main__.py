"""`python -m dengar_nlp`: the NLP service."""

from __future__ import annotations

import os
import sys

from dengar_common.entry import run_service

if __name__ == "__main__":
    # onnxruntime has its own thread pool (DENGAR_NLP_THREADS); numpy's BLAS threads on top of it
    # only oversubscribe the cores. Must be set before numpy is first imported.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from dengar_nlp.bootstrap import main
    from dengar_nlp.settings import NlpSettings

    sys.exit(run_service("dengar-nlp", NlpSettings, main))
