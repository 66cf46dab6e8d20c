"""NlpService over gRPC: synchronous analysis for the gateway and internal teams."""

from __future__ import annotations

from grpc import aio

from dengar.v1 import nlp_pb2, nlp_pb2_grpc
from dengar_nlp.entrypoints.protoconv import to_enrichment
from dengar_nlp.service_layer.analysis import AnalysisService

#: Full method names whose ``tenant_id`` may be empty (it only selects a brand dictionary).
TENANT_OPTIONAL = ("/dengar.v1.NlpService/Analyze",)


class NlpServicer(nlp_pb2_grpc.NlpServiceServicer):
    def __init__(self, analysis: AnalysisService) -> None:
        self._analysis = analysis

    async def Analyze(self, request: nlp_pb2.AnalyzeRequest,
                      context: aio.ServicerContext) -> nlp_pb2.AnalyzeResponse:
        results = await self._analysis.analyze_request(
            list(request.texts), include_embedding=request.include_embedding)
        return nlp_pb2.AnalyzeResponse(
            results=[to_enrichment(r, include_embedding=request.include_embedding) for r in results])
