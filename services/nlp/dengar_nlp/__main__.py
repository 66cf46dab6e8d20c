"""`python -m dengar_nlp`: the NLP service."""

from __future__ import annotations

import sys

from dengar_common.entry import run_service

if __name__ == "__main__":
    from dengar_nlp.bootstrap import main
    from dengar_nlp.settings import NlpSettings

    sys.exit(run_service("dengar-nlp", NlpSettings, main))
