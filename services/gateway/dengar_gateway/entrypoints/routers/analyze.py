"""POST /v1/analyze: run the NLP pipeline on texts, synchronously, without storing anything."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends

from dengar.v1 import nlp_pb2
from dengar_gateway.entrypoints.deps import Deps, ReadPrincipal, json_body
from dengar_gateway.entrypoints.mapping import analysis_out
from dengar_gateway.entrypoints.problems import ApiProblem, problem_responses
from dengar_gateway.entrypoints.schemas import AnalyzeIn, AnalyzeOut

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/analyze", tags=["analyze"])


@router.post(
    "", response_model=AnalyzeOut, summary="Analyze texts",
    description="Language, sentiment, emotion, aspects, entities (from the tenant's brand "
                "dictionary) and extracted hashtags, mentions, URLs, cashtags and emojis of up to "
                "100 texts. Nothing is stored. Requires `read`.",
    responses=problem_responses(400, 401, 403, 413, 415, 422, 429, 502, 503),
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/AnalyzeIn"}}}}},
)
async def analyze(
    deps: Deps, principal: ReadPrincipal,
    body: Annotated[AnalyzeIn, Depends(json_body(AnalyzeIn))],
) -> AnalyzeOut:
    response = await deps.backends.call(deps.backends.nlp.Analyze, nlp_pb2.AnalyzeRequest(
        texts=body.texts, include_embedding=body.include_embedding, tenant_id=principal.tenant_id))
    if len(response.results) != len(body.texts):
        logger.error("nlp returned %d results for %d texts", len(response.results), len(body.texts))
        raise ApiProblem(502, "the nlp service returned an incomplete answer", slug="backend-error")
    return AnalyzeOut(results=[analysis_out(r, include_embedding=body.include_embedding)
                               for r in response.results])


OPENAPI_MODELS = [AnalyzeIn]
