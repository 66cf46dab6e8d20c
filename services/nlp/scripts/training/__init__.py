"""Training of the NLP heads (sentiment, emotion, aspects) for ``make models``.

Used only by ``services/nlp/scripts/train_heads.py`` (and the bench's aspect report, for the gold
mapping); the services never import it.  Modules: ``data`` (loaders, de-duplication, embedding
cache), ``fit`` (numpy models, scikit-learn fitting, metrics), ``heads`` (the three training runs),
``export`` (ONNX graphs, JSON metadata, parity fixture) and ``report`` (``METRICS.md``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPO = ROOT.parents[1]
# The training scripts run with a bare interpreter too (``python services/nlp/scripts/...``), where
# dengar_nlp is not installed: make the service package importable for the modules below.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 13
NUSAX_LANGS = (
    "english",
    "indonesian",
    "javanese",
    "sundanese",
    "minangkabau",
    "balinese",
    "acehnese",
    "banjarese",
    "buginese",
    "madurese",
    "ngaju",
    "toba_batak",
)
# Near-duplicate threshold (estimated Jaccard of char 5-shingles) for the SmSA/NusaX de-duplication.
DUP_JACCARD = 0.5
FIXTURE = REPO / "tests" / "unit" / "nlp" / "fixtures" / "heads_parity.npz"
# The committed quality set's heads (services/nlp/models/quality) have their own.
QUALITY_FIXTURE = FIXTURE.with_name("heads_parity_quality.npz")
# Lexical sentiment model (hashed char 1-5-grams + word uni/bigrams, see
# dengar_nlp.domain.hashed_features): hashing space, L2 strength of its logistic regression, and that
# of the 6 -> 3 stacker that combines it with the embedding head.
LEX_BUCKETS = 1 << 18
LEX_C = 4.0
STACK_C = 1.0
EMOTION_SANITY = REPO / "tests" / "unit" / "nlp" / "fixtures" / "emotion_id_sanity.json"
