"""Old import path of ``dengar_nlp.domain.results`` (``scripts/train_heads.py`` and the CLI's tests
still use it while they are reworked in parallel).  Delete once nothing imports it."""

from dengar_nlp.domain.results import *  # noqa: F403
from dengar_nlp.domain.results import __all__ as __all__
