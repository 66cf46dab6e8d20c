"""Old import path of ``dengar_nlp.service_layer.ports`` (``dengar_nlp/cli.py`` still uses it while it
moves to entrypoints in parallel).  Delete once nothing imports it."""

from dengar_nlp.service_layer.ports import TextAnalyzer

__all__ = ["TextAnalyzer"]
