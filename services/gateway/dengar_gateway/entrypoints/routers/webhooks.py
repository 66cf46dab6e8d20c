"""POST /v1/webhooks/{source_id}: signed pushes to a webhook source. No API key: the signature,
made with the source's secret, authenticates the request (see SIGNING_DOC)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response

from dengar.v1 import collector_pb2
from dengar_common.errors import Unauthenticated
from dengar_common.postjson import ItemError
from dengar_gateway.entrypoints.deps import Deps, client_address
from dengar_gateway.entrypoints.problems import (
    Answer,
    ApiProblem,
    RemoteAnswers,
    answering,
    problem_responses,
)
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


_UNAUTHORIZED = Answer(401, "invalid-signature", detail="invalid webhook signature or timestamp",
                      headers={"WWW-Authenticate": 'DengarSignature realm="dengar"'})
# The collector checks the signature: its refusal is the caller's 401, a paused source a conflict.
_PUSH_ANSWERS: RemoteAnswers = {
    "UNAUTHENTICATED": _UNAUTHORIZED,
    "FAILED_PRECONDITION": Answer(409, "source-paused", default_detail="the source is paused"),
}


def _unauthorized() -> ApiProblem:
    return ApiProblem(_UNAUTHORIZED.status, _UNAUTHORIZED.detail, slug=_UNAUTHORIZED.slug,
                      headers=_UNAUTHORIZED.headers)


@router.post(
    "/{source_id}", status_code=202, response_model=IngestResult, summary="Push posts to a webhook source",
    description=(
        "The body is `{\"posts\": [...]}`, one post object, or NDJSON (`application/x-ndjson`, one post "
        "per line), in the format of `POST /v1/posts`; at most 1,000 posts and 5 MB. Each post is "
        "validated on its own, as there. No API key: sign the request as described in the API "
        "introduction (*Signed webhooks*). 401 for a bad signature or timestamp, 409 when the source is "
        "paused, 429 (with Retry-After) past the per-client-address or the per-source rate limit "
        "(`DENGAR_GATEWAY__WEBHOOK_LIMIT__*`)."),
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
    # No API key to limit by. Everything here happens before the body is read, cheapest first: the
    # id's format, the headers, then the client address's and the source's buckets, which are the
    # webhook path's own pools (random ids or addresses cannot evict API keys' buckets).
    try:
        deps.webhooks.admit(client_address(request), source_id)
    except Unauthenticated:
        raise _unauthorized() from None
    if not x_dengar_timestamp or not x_dengar_signature:
        raise _unauthorized()
    body = await request.body()
    request_pb = collector_pb2.PushWebhookRequest(
        source_id=source_id, timestamp=x_dengar_timestamp[:32], signature=x_dengar_signature[:200],
        body=body, content_type=request.headers.get("content-type", ""))
    with answering(_PUSH_ANSWERS):
        resp = await deps.backends.call(deps.backends.sources.PushWebhook, request_pb)
    result = IngestResult(
        accepted=resp.accepted, rejected=resp.rejected, ids=list(resp.post_ids),
        errors=[ItemError(index=e.index, field=e.field, message=e.message) for e in resp.errors])
    return Response(result.model_dump_json(), status_code=202, media_type="application/json")
