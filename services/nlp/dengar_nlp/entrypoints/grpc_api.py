"""NlpService over gRPC: synchronous analysis for the gateway and internal teams."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor

import grpc
from grpc import aio

from dengar.v1 import nlp_pb2, nlp_pb2_grpc
from dengar_nlp.ports import TextAnalyzer
from dengar_nlp.protoconv import to_enrichment

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 100_000


class NlpServicer(nlp_pb2_grpc.NlpServiceServicer):
    def __init__(self, analyzer: TextAnalyzer, executor: Executor, *, max_texts: int) -> None:
        self._analyzer = analyzer
        self._executor = executor
        self._max_texts = max_texts

    async def Analyze(self, request: nlp_pb2.AnalyzeRequest,
                      context: aio.ServicerContext) -> nlp_pb2.AnalyzeResponse:
        texts = list(request.texts)
        if not texts:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "texts must not be empty")
        if len(texts) > self._max_texts:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"at most {self._max_texts} texts per call, got {len(texts)}")
        too_long = [i for i, t in enumerate(texts) if len(t) > MAX_TEXT_CHARS]
        if too_long:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"texts {too_long[:10]} exceed {MAX_TEXT_CHARS} characters")
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(
            self._executor,
            lambda: self._analyzer.analyze(texts, include_embedding=request.include_embedding))
        return nlp_pb2.AnalyzeResponse(
            results=[to_enrichment(r, include_embedding=request.include_embedding) for r in results])
