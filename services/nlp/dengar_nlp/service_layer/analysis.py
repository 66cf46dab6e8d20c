"""The analysis use cases as the entrypoints call them: off the event loop, with a caller's limits.

Analyses run on one executor thread at a time: onnxruntime already spreads one call over the
configured threads, so concurrent calls would only contend for the same cores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor

from dengar_common.errors import InvalidArgument
from dengar_nlp.domain.results import Analysis
from dengar_nlp.service_layer.ports import TextAnalyzer

MAX_TEXT_CHARS = 100_000


class AnalysisService:
    def __init__(self, analyzer: TextAnalyzer, executor: Executor, *, max_texts: int,
                 max_text_chars: int = MAX_TEXT_CHARS) -> None:
        self._analyzer = analyzer
        self._executor = executor
        self._max_texts = max_texts
        self._max_text_chars = max_text_chars

    @property
    def model_version(self) -> str:
        return self._analyzer.model_version

    async def analyze_request(self, texts: Sequence[str], *, include_embedding: bool = False
                              ) -> list[Analysis]:
        """A caller's synchronous request: 1..``max_texts`` texts of at most ``max_text_chars``."""
        if not texts:
            raise InvalidArgument("texts must not be empty", field="texts")
        if len(texts) > self._max_texts:
            raise InvalidArgument(f"at most {self._max_texts} texts per call, got {len(texts)}",
                                  field="texts", expected=f"at most {self._max_texts} texts")
        too_long = [i for i, t in enumerate(texts) if len(t) > self._max_text_chars]
        if too_long:
            raise InvalidArgument(f"texts {too_long[:10]} exceed {self._max_text_chars} characters",
                                  field="texts", position=too_long[0],
                                  expected=f"at most {self._max_text_chars} characters")
        return await self._run(list(texts), include_embedding)

    async def analyze_batch(self, texts: Sequence[str]) -> list[Analysis]:
        """A consumer's batch of posts (its size is the consumer's own setting), with embeddings:
        every enriched post carries its compact one for topics and categories downstream."""
        return await self._run(list(texts), True)

    async def _run(self, texts: list[str], include_embedding: bool) -> list[Analysis]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, lambda: self._analyzer.analyze(texts, include_embedding=include_embedding))
