"""The NLP service as the categories' ``Embedder``: its ``Analyze`` RPC with the embedding asked for.

Example posts are embedded by the same model, with the same text handling, as the posts whose
stored embeddings they are compared with.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import grpc
from grpc import aio

from dengar.v1 import nlp_pb2, nlp_pb2_grpc
from dengar_common.embedding import quantize
from dengar_common.errors import InvalidArgument, Unavailable
from dengar_common.grpcutil import insecure_channel

logger = logging.getLogger(__name__)


class NlpEmbedder:
    def __init__(self, channel: aio.Channel, *, timeout_s: float) -> None:
        self._channel = channel
        self._stub = nlp_pb2_grpc.NlpServiceStub(channel)
        self._timeout = timeout_s

    @classmethod
    def connect(cls, target: str, *, timeout_s: float) -> NlpEmbedder:
        # Connects lazily: insights starts (and ingests) while NLP is still down.
        return cls(insecure_channel(target), timeout_s=timeout_s)

    async def close(self) -> None:
        await self._channel.close()

    async def embed(self, tenant_id: str, texts: Sequence[str]) -> list[bytes]:
        try:
            resp = await self._stub.Analyze(
                nlp_pb2.AnalyzeRequest(texts=list(texts), include_embedding=True, tenant_id=tenant_id),
                timeout=self._timeout)
        except aio.AioRpcError as exc:
            logger.warning("NLP Analyze failed: %s %s", exc.code().name, exc.details())
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidArgument(f"the examples were refused by NLP: {exc.details()}",
                                      field="examples") from None
            raise Unavailable("NLP is unavailable; the examples cannot be embedded now") from None
        if len(resp.results) != len(texts):
            raise Unavailable("NLP answered a different number of embeddings")
        # NLP may send the float vector, the int8 one or both; the int8 one is what mentions store.
        return [bytes(r.embedding_i8) if r.embedding_i8 else quantize(list(r.embedding))
                for r in resp.results]
