"""GET /v1/stream/mentions: the tenant's new mentions, live, as Server-Sent Events."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import grpc
from fastapi import APIRouter, Header, Query
from grpc import aio

from dengar.v1 import insights_pb2
from dengar_common.grpcerrors import RemoteError
from dengar_gateway.domain.streams import StreamSlot, parse_event_id
from dengar_gateway.entrypoints.deps import Deps, GatewayDeps, ReadPrincipal
from dengar_gateway.entrypoints.mapping import mention_out
from dengar_gateway.entrypoints.params import query_error
from dengar_gateway.entrypoints.problems import Answer, ApiProblem, problem_responses, remote_problem
from dengar_gateway.entrypoints.routers.mentions import MentionFilters
from dengar_gateway.entrypoints.streaming import EVENT_STREAM, EventStreamResponse, mention_events

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/stream", tags=["stream"])

# Insights' request fields -> this route's parameters, for its INVALID_ARGUMENT answers.
_PARAMS = {"query": "q", "query_ids": "query_id", "category_ids": "category_id", "languages": "lang",
           "aspects": "aspect", "sentiments": "sentiment", "platforms": "platform",
           "resume_after": "last_event_id", "start_time": "from", "end_time": "to",
           "workflow_states": "state", "assignees": "assignee", "tags": "tag"}

DESCRIPTION = """\
The tenant's mentions as they are stored (or changed: a re-collected or re-enriched post comes
again with its new content), as [Server-Sent Events](https://html.spec.whatwg.org/multipage/server-sent-events.html).
The filters are those of `GET /v1/mentions` (`from`/`to` apply to the post's creation time;
`state`, `assignee` and `tag` to the mention's inbox workflow when its event is sent: a workflow
change alone sends no event).

Events: first `open` (data `{"position": ...}`), sent once subscribed; then one `mention` per
mention, its data the same JSON object as an item of `GET /v1/mentions`. Every event carries an
`id:`, its position: reconnect with the `Last-Event-ID` header (browsers' `EventSource` does) or
the `last_event_id` parameter to continue right after it, without gaps or repeats, for positions
of at least the last hour. A comment line (`: heartbeat`) comes every few seconds without events
(`DENGAR_GATEWAY__STREAM__HEARTBEAT_S`). The stream ends when the gateway shuts down; reconnect.

Each tenant may hold a limited number of streams at once over every gateway replica
(`DENGAR_GATEWAY__STREAM__MAX_PER_TENANT`, or the tenant's own `max_streams`); beyond it the answer
is a 429 `too-many-streams` with `Retry-After`, `limit` and `current`. Requires `read`.
"""


def stream_request(filters: insights_pb2.SearchMentionsRequest, *, tenant_id: str,
                   resume_after: str) -> insights_pb2.StreamMentionsRequest:
    """The StreamMentions request for the filters of /v1/mentions (``mention_filters``)."""
    request = insights_pb2.StreamMentionsRequest(
        tenant_id=tenant_id, sentiments=filters.sentiments, platforms=filters.platforms,
        languages=filters.languages, aspects=filters.aspects, query=filters.query,
        query_ids=filters.query_ids, category_ids=filters.category_ids,
        workflow_states=filters.workflow_states, assignees=filters.assignees, tags=filters.tags,
        resume_after=resume_after)
    if filters.HasField("start_time"):
        request.start_time.CopyFrom(filters.start_time)
    if filters.HasField("end_time"):
        request.end_time.CopyFrom(filters.end_time)
    return request


async def _stream_slot(deps: GatewayDeps, tenant_id: str) -> StreamSlot:
    """This process's slot and the tenant's lease over every replica, released together; 429
    (``too-many-streams``, with ``limit`` and ``current``) over the tenant's limit."""
    cfg, streams = deps.config.stream, deps.streams
    local = streams.limits.acquire(tenant_id)
    if local is None:
        raise ApiProblem(429, f"this tenant already holds {streams.limits.max_per_tenant} live streams "
                              "on this gateway", slug="too-many-streams",
                         headers={"Retry-After": str(cfg.retry_after_s)})
    try:
        shared = await deps.stream_quota.acquire(tenant_id, retry_after_s=cfg.retry_after_s)
    except BaseException:
        local.release()
        raise

    def release(_tenant: str) -> None:
        shared.release()
        local.release()

    return StreamSlot(tenant_id, release)


def _bad_filter(exc: RemoteError) -> Exception:
    if exc.code == grpc.StatusCode.INVALID_ARGUMENT:
        name = _PARAMS.get(exc.field or "", exc.field or "q")
        return query_error(name, exc.detail or "invalid")
    # Insights limits StreamMentions per tenant as well (gRPC clients included): the same 429.
    return remote_problem(exc, {"too-many-streams": Answer(429, "too-many-streams")})


@router.get(
    "/mentions", summary="Stream new mentions (Server-Sent Events)", description=DESCRIPTION,
    response_class=EventStreamResponse, status_code=200,
    responses={200: {"content": {EVENT_STREAM: {"schema": {"type": "string"}}},
                     "description": "An endless text/event-stream."},
               **problem_responses(401, 403, 422, 429, 502, 503)},
)
async def stream_mentions(
    deps: Deps, principal: ReadPrincipal, filters: MentionFilters,
    last_event_id: Annotated[str | None, Query(max_length=64, description=(
        "Resume after this event id (the `Last-Event-ID` header wins when both are sent)."))] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID", max_length=64,
                                                       include_in_schema=False)] = None,
) -> EventStreamResponse:
    resume = last_event_id_header if last_event_id_header and last_event_id_header.strip() else last_event_id
    name = "Last-Event-ID" if resume is last_event_id_header else "last_event_id"
    try:
        position = parse_event_id(resume)
    except ValueError as exc:
        raise query_error(name, str(exc), resume) from None
    request = stream_request(filters, tenant_id=principal.tenant_id, resume_after=position or "")

    cfg, streams = deps.config.stream, deps.streams
    if streams.closing:
        raise ApiProblem(503, "the gateway is shutting down", headers={"Retry-After": "1"})
    slot = await _stream_slot(deps, principal.tenant_id)
    call = deps.backends.insights.StreamMentions(request)
    try:
        # The first message says insights validated the filters and subscribed: only then 200.
        first = await asyncio.wait_for(call.read(), timeout=deps.config.grpc_timeout_s)
        if first is aio.EOF:
            raise ApiProblem(502, "the insights service ended the stream", slug="backend-error")
    except aio.AioRpcError as exc:
        slot.release()
        raise _bad_filter(RemoteError.from_rpc_error("insights", exc)) from None
    except TimeoutError:
        slot.release()
        call.cancel()
        raise ApiProblem(504, "the insights service did not answer in time", slug="backend-timeout") from None
    except BaseException:
        slot.release()
        call.cancel()
        raise
    logger.info("live stream opened for %s after %s", principal.tenant_id, first.position)
    body = mention_events(call, streams, tenant_id=principal.tenant_id, start=first.position,
                          heartbeat_s=cfg.heartbeat_s, retry_ms=cfg.retry_after_s * 1000,
                          render=lambda m: mention_out(m).model_dump_json())
    return EventStreamResponse(body, slot, on_end=call.cancel)
