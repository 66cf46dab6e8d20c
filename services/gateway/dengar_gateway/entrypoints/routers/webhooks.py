"""POST /v1/webhooks/{source_id}: signed pushes to a webhook source. No API key: the signature,
made with the source's secret, authenticates the request (see SIGNING_DOC)."""

from __future__ import annotations

import logging
from typing import Annotated

import grpc
from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response

from dengar.v1 import collector_pb2
from dengar_common.postjson import ItemError
from dengar_gateway.adapters.backends import BackendError
from dengar_gateway.entrypoints.deps import Deps
from dengar_gateway.entrypoints.problems import ApiProblem, problem_responses, retry_after
from dengar_gateway.entrypoints.schemas import IngestResult

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

SIGNING_DOC = """\
**Signed webhooks**: a `webhook` source (`POST /v1/sources` with `"kind": "webhook"`) receives posts
at `POST /v1/webhooks/{source_id}` without an API key. Each request carries

- `X-Dengar-Timestamp`: the current time in Unix seconds, and
- `X-Dengar-Signature`: `sha256=` + the lower-case hex HMAC-SHA256, keyed with the source's secret,
  of the timestamp, a `.`, and the raw request body.

Requests whose timestamp is more than 5 minutes from the server's clock are refused, so a captured
request cannot be replayed later; a wrong signature, an unknown source and a stale timestamp all get
the same 401. Example (Python):

```python
import hashlib, hmac, json, time, httpx
body = json.dumps({"posts": [{"platform": "x", "external_id": "1", "text": "hi",
                              "created_at": "2026-12-01T10:00:00Z"}]}).encode()
ts = str(int(time.time()))
sig = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
httpx.post(f"{base}/v1/webhooks/{source_id}", content=body, headers={
    "Content-Type": "application/json", "X-Dengar-Timestamp": ts, "X-Dengar-Signature": sig})
```
"""


def _unauthorized() -> ApiProblem:
    return ApiProblem(401, "invalid webhook signature or timestamp", slug="invalid-signature",
                      headers={"WWW-Authenticate": 'DengarSignature realm="dengar"'})


@router.post(
    "/{source_id}", status_code=202, response_model=IngestResult, summary="Push posts to a webhook source",
    description=(
        "The body is `{\"posts\": [...]}`, one post object, or NDJSON (`application/x-ndjson`, one post "
        "per line), in the format of `POST /v1/posts`; at most 1,000 posts and 5 MB. Each post is "
        "validated on its own, as there. No API key: sign the request as described in the API "
        "introduction (*Signed webhooks*). 401 for a bad signature or timestamp, 409 when the source is "
        "paused, 429 (with Retry-After) past the per-source rate limit, which is the per-key limit of "
        "the API."),
    responses=problem_responses(400, 401, 409, 413, 429, 503),
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/PostBatchIn"}},
        "application/x-ndjson": {"schema": {"type": "string"}}}}},
)
async def push(
    request: Request, deps: Deps,
    source_id: Annotated[str, Path(max_length=64, description="The webhook source's id")],
    x_dengar_timestamp: Annotated[str | None, Header(description="Unix seconds")] = None,
    x_dengar_signature: Annotated[str | None, Header(description="`sha256=<hex HMAC>`")] = None,
) -> Response:
    if not x_dengar_timestamp or not x_dengar_signature:
        raise _unauthorized()
    # No API key to limit by: the source id is what a flood (signed or not) targets, and limiting
    # before the body is read keeps a forged flood from costing a collector call each.
    wait = deps.limiter.acquire(f"webhook:{source_id}")
    if wait > 0:
        raise ApiProblem(429, "rate limit exceeded for this webhook source", slug="rate-limited",
                         headers={"Retry-After": retry_after(wait)})
    body = await request.body()
    try:
        resp = await deps.backends.push_webhook(collector_pb2.PushWebhookRequest(
            source_id=source_id, timestamp=x_dengar_timestamp[:32], signature=x_dengar_signature[:200],
            body=body, content_type=request.headers.get("content-type", "")))
    except BackendError as exc:
        if exc.code == grpc.StatusCode.UNAUTHENTICATED:
            raise _unauthorized() from None
        if exc.code == grpc.StatusCode.FAILED_PRECONDITION:
            raise ApiProblem(409, exc.detail or "the source is paused", slug="source-paused") from None
        raise
    result = IngestResult(
        accepted=resp.accepted, rejected=resp.rejected, ids=list(resp.post_ids),
        errors=[ItemError(index=e.index, field=e.field, message=e.message) for e in resp.errors])
    return Response(result.model_dump_json(), status_code=202, media_type="application/json")
