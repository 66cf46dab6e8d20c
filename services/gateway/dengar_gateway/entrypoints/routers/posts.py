"""POST /v1/posts: push posts into the pipeline."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from dengar.v1 import collector_pb2
from dengar_common.postjson import PostBatchIn, post_to_proto, validate_items
from dengar_gateway.adapters.store import Reservation
from dengar_gateway.entrypoints.deps import Deps, IngestPrincipal, read_json
from dengar_gateway.entrypoints.mapping import ingest_result
from dengar_gateway.entrypoints.problems import ApiProblem, problem_responses
from dengar_gateway.entrypoints.schemas import IngestResult

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/posts", tags=["posts"])

# Printable ASCII: the key is echoed in logs and stored; UUIDs and ULIDs fit easily.
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _body_hash(body: Any) -> str:
    # Canonical JSON, so the same posts re-sent with other whitespace or key order still match.
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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
        response = await deps.backends.ingest_posts(request)
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
    items = _envelope(body, deps.settings.gateway_max_posts)
    tenant = principal.tenant_id

    if idempotency_key is None:
        result = await _ingest(deps, tenant, items)
        return Response(result.model_dump_json(), status_code=202, media_type="application/json")

    if not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise ApiProblem(400, "Idempotency-Key must be 1-255 printable ASCII characters")
    repo = deps.store.idempotency
    outcome = await repo.reserve(tenant, idempotency_key, _body_hash(body), datetime.now(UTC))
    if outcome.reservation is Reservation.REPLAY:
        return Response(outcome.response, status_code=outcome.status, media_type="application/json",
                        headers={"Idempotent-Replayed": "true"})
    if outcome.reservation is Reservation.BODY_MISMATCH:
        raise ApiProblem(409, "this Idempotency-Key was already used with a different request body",
                         slug="idempotency-key-reused")
    if outcome.reservation is Reservation.IN_FLIGHT:
        raise ApiProblem(409, "a request with this Idempotency-Key is still in progress; retry later",
                         slug="idempotency-request-in-flight", headers={"Retry-After": "1"})
    try:
        result = await _ingest(deps, tenant, items)
    except BaseException:
        # Nothing was stored for this key, so the client may retry it as it is. (Had the release
        # failed too, the reservation would expire after the lock time.)
        try:
            await repo.release(tenant, idempotency_key, outcome.owner)
        except Exception:
            logger.warning("could not release idempotency key of %s", tenant, exc_info=True)
        raise
    payload = result.model_dump_json()
    await repo.complete(tenant, idempotency_key, outcome.owner, 202, payload)
    return Response(payload, status_code=202, media_type="application/json")


# Models only referenced from openapi_extra; registered so the schema above resolves.
OPENAPI_MODELS = [PostBatchIn]
