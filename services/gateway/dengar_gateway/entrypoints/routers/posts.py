"""POST /v1/posts: push posts into the pipeline."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from dengar.v1 import collector_pb2
from dengar_common.postjson import PostBatchIn, post_to_proto, validate_items
from dengar_gateway.entrypoints.deps import Deps, IngestPrincipal, read_json
from dengar_gateway.entrypoints.mapping import ingest_result
from dengar_gateway.entrypoints.problems import ApiProblem, problem_responses
from dengar_gateway.entrypoints.schemas import IngestResult
from dengar_gateway.service_layer.idempotency import Response as StoredResponse

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/posts", tags=["posts"])

def _envelope(body: Any, max_posts: int) -> list[Any]:
    if not isinstance(body, dict):
        raise RequestValidationError([{"loc": ("body",), "msg": "must be an object with a 'posts' array",
                                       "type": "model_type"}])
    extra = sorted(set(body) - {"posts"})
    if extra:
        raise RequestValidationError([{"loc": ("body", k), "msg": "Extra inputs are not permitted",
                                       "type": "extra_forbidden"} for k in extra])
    posts = body.get("posts")
    if not isinstance(posts, list):
        raise RequestValidationError([{"loc": ("body", "posts"), "msg": "must be an array of posts",
                                       "type": "list_type"}])
    if not posts:
        raise RequestValidationError([{"loc": ("body", "posts"), "msg": "must contain at least one post",
                                       "type": "too_short"}])
    if len(posts) > max_posts:
        raise ApiProblem(413, f"at most {max_posts} posts per request; got {len(posts)}")
    return posts


async def _ingest(deps: Deps, tenant_id: str, items: list[Any]) -> IngestResult:
    now = datetime.now(UTC)
    valid, local_errors = validate_items(items, now=now)
    rejected_locally = len({e.index for e in local_errors})
    sent_indexes = [i for i, _ in valid]
    if valid:
        request = collector_pb2.IngestPostsRequest(
            tenant_id=tenant_id, posts=[post_to_proto(p, tenant_id, now) for _, p in valid])
        response = await deps.backends.call(deps.backends.ingest.IngestPosts, request)
    else:
        response = collector_pb2.IngestPostsResponse()
    return ingest_result(sent_indexes, response, local_errors, rejected_locally)


@router.post(
    "", status_code=202, response_model=IngestResult, summary="Ingest posts",
    description=(
        "Validates each post on its own and hands the valid ones to the pipeline; invalid ones are "
        "reported in `errors` (one entry per problem, by index) and counted in `rejected`. At most "
        "1,000 posts and 5 MB per request. Requires the `ingest` scope.\n\n"
        "**Idempotency**: send an `Idempotency-Key` header (1-255 printable ASCII characters) to make "
        "retries safe for 24 hours. The same key with the same body replays the first response with "
        "`Idempotent-Replayed: true`; the same key with another body, or while the first request is "
        "still running, is a 409."
    ),
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 429, 502, 503),
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/PostBatchIn"}}}}},
)
async def ingest_posts(
    request: Request, deps: Deps, principal: IngestPrincipal,
    idempotency_key: Annotated[str | None, Header(description="Makes retries safe: see above.")] = None,
) -> Response:
    body, _ = await read_json(request)
    items = _envelope(body, deps.config.limits.max_posts)
    tenant = principal.tenant_id

    async def ingest() -> StoredResponse:
        result = await _ingest(deps, tenant, items)
        return StoredResponse(202, result.model_dump_json())

    if idempotency_key is None:
        answer = await ingest()
    else:
        answer = await deps.idempotency.run(tenant, idempotency_key, body, ingest)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(answer.payload, status_code=answer.status, media_type="application/json",
                    headers=headers)


# Models only referenced from openapi_extra; registered so the schema above resolves.
OPENAPI_MODELS = [PostBatchIn]
