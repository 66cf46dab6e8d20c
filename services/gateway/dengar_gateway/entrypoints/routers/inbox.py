"""The monitoring inbox: a workflow per mention (state, assignee, tags, notes), bulk changes,
counts per state and an audit trail, all in insights (InsightsService).

Changes require the `admin` scope (reads `read`). Every change is recorded under the calling
key's name. A workflow's version is its ETag; `If-Match` (or a `version` member) makes a change
conditional, and a change that lost the race answers 409.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.exceptions import RequestValidationError

from dengar.v1 import insights_pb2
from dengar_gateway.entrypoints.deps import AdminPrincipal, Deps, ReadPrincipal, json_body
from dengar_gateway.entrypoints.mapping import from_timestamp, workflow_out
from dengar_gateway.entrypoints.problems import Answer, RemoteAnswers, answering, problem_responses
from dengar_gateway.entrypoints.routers.mentions import MentionFilters
from dengar_gateway.entrypoints.schemas import WorkflowOut
from dengar_gateway.entrypoints.schemas_inbox import (
    AuditEntryOut,
    AuditPage,
    BulkWorkflowIn,
    BulkWorkflowOut,
    InboxCountsOut,
    NoteIn,
    WorkflowChangeIn,
    WorkflowPatchIn,
)

logger = logging.getLogger(__name__)

router = APIRouter(tags=["inbox"])

_ANSWERS: RemoteAnswers = {
    "version-conflict": Answer(409, "version-conflict", title="Version conflict",
                               default_detail="the workflow changed meanwhile; read it and retry"),
    "FAILED_PRECONDITION": Answer(409, "version-conflict", title="Version conflict"),
    "INVALID_ARGUMENT": Answer(422, "validation-error", errors_field="body"),
}
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')
MentionIdPath = Annotated[str, Path(max_length=128, description="The mention id")]
IfMatch = Annotated[str | None, Header(alias="If-Match",
                                       description="The workflow's ETag (its version): change only "
                                                   "if nobody else changed it meanwhile.")]


def _expected_version(if_match: str | None, version: int | None) -> int | None:
    from_header = None
    if if_match is not None and if_match.strip() != "*":
        m = _ETAG.match(if_match)
        if m is None:
            raise _header_error("If-Match", 'expected an ETag like "3"', if_match)
        from_header = int(m.group(1))
    if from_header is not None and version is not None and from_header != version:
        raise _header_error("If-Match", "If-Match and version disagree", if_match)
    return from_header if from_header is not None else version


def _header_error(name: str, message: str, value: Any) -> RequestValidationError:
    return RequestValidationError([{"loc": ("header", name), "msg": message, "type": "value_error",
                                    "input": value}])


def change_proto(body: WorkflowChangeIn) -> insights_pb2.WorkflowChange:
    change = insights_pb2.WorkflowChange(add_tags=body.add_tags, remove_tags=body.remove_tags,
                                         note=body.note or "")
    if body.state is not None:
        change.state = body.state
    if body.assignee is not None:
        change.assignee = body.assignee
    if body.tags is not None:
        change.tags.CopyFrom(insights_pb2.TagList(tags=body.tags))
    return change


async def _update(deps: Deps, principal: AdminPrincipal, mention_id: str,
                  change: insights_pb2.WorkflowChange, expected: int | None,
                  response: Response) -> WorkflowOut:
    request = insights_pb2.UpdateMentionWorkflowRequest(
        tenant_id=principal.tenant_id, id=mention_id, change=change, actor=principal.actor)
    if expected is not None:
        request.expected_version = expected
    with answering(_ANSWERS):
        wf = await deps.backends.call(deps.backends.insights.UpdateMentionWorkflow, request)
    response.headers["ETag"] = f'"{wf.version}"'
    logger.info("workflow of mention %s of %s changed by key %s (version %d)", mention_id,
                principal.tenant_id, principal.key_id, wf.version)
    return workflow_out(wf)


@router.patch(
    "/v1/mentions/{mention_id}/workflow", response_model=WorkflowOut, summary="Change a mention's workflow",
    description="Set the state (`open`, `in_progress`, `resolved`, `ignored`), the assignee, tags, "
                "or add a note. Answers the new workflow with its version as `ETag`. With `If-Match` "
                "or `version`, 409 when the workflow moved meanwhile. Requires `admin`.",
    responses=problem_responses(401, 403, 404, 409, 415, 422, 429, 502, 503),
)
async def patch_workflow(
    deps: Deps, principal: AdminPrincipal, response: Response, mention_id: MentionIdPath,
    body: Annotated[WorkflowPatchIn, Depends(json_body(WorkflowPatchIn))],
    if_match: IfMatch = None,
) -> WorkflowOut:
    expected = _expected_version(if_match, body.version)
    return await _update(deps, principal, mention_id, change_proto(body), expected, response)


@router.post(
    "/v1/mentions/{mention_id}/notes", response_model=WorkflowOut, status_code=201,
    summary="Add a note to a mention",
    description="Appends a note (notes are never edited or removed) written by the calling key. "
                "`If-Match` or `version` make it conditional like PATCH. Requires `admin`.",
    responses=problem_responses(401, 403, 404, 409, 415, 422, 429, 502, 503),
)
async def add_note(
    deps: Deps, principal: AdminPrincipal, response: Response, mention_id: MentionIdPath,
    body: Annotated[NoteIn, Depends(json_body(NoteIn))], if_match: IfMatch = None,
) -> WorkflowOut:
    expected = _expected_version(if_match, body.version)
    return await _update(deps, principal, mention_id, insights_pb2.WorkflowChange(note=body.text),
                         expected, response)


@router.post(
    "/v1/mentions/workflow:bulk", response_model=BulkWorkflowOut, summary="Change many workflows",
    description="The same change on up to 500 mentions (no versions: last writer wins): those of "
                "`ids`, or, without `ids`, those matching the filters in the query string (the "
                "parameters of `GET /v1/mentions`, e.g. `?state=open&tag=spam`; 422 when more than "
                "500 match). Unknown ids are listed in `missing`. Requires `admin`.",
    responses=problem_responses(401, 403, 415, 422, 429, 502, 503),
)
async def bulk_workflow(
    deps: Deps, principal: AdminPrincipal,
    body: Annotated[BulkWorkflowIn, Depends(json_body(BulkWorkflowIn))], filters: MentionFilters,
) -> BulkWorkflowOut:
    request = insights_pb2.BulkUpdateMentionWorkflowRequest(
        tenant_id=principal.tenant_id, ids=body.ids or [], change=change_proto(body.change),
        actor=principal.actor)
    if body.ids is None:
        filters.tenant_id = principal.tenant_id
        request.filter.CopyFrom(filters)
    with answering(_ANSWERS):
        resp = await deps.backends.call(deps.backends.insights.BulkUpdateMentionWorkflow, request)
    logger.info("bulk workflow change of %d mentions of %s by key %s", len(resp.updated_ids),
                principal.tenant_id, principal.key_id)
    return BulkWorkflowOut(updated=list(resp.updated_ids), missing=list(resp.missing_ids))


def _loads(value: str) -> Any:
    try:
        return json.loads(value) if value else None
    except ValueError:
        return value


@router.get(
    "/v1/mentions/{mention_id}/audit", response_model=AuditPage, summary="A mention's audit trail",
    description="Who (the API key's name) changed what in the mention's workflow, oldest first. "
                "Requires `read`.",
    responses=problem_responses(401, 403, 404, 422, 429, 502, 503),
)
async def mention_audit(
    deps: Deps, principal: ReadPrincipal, mention_id: MentionIdPath,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
) -> AuditPage:
    resp = await deps.backends.call(deps.backends.insights.ListMentionAudit,
                                    insights_pb2.ListMentionAuditRequest(
                                        tenant_id=principal.tenant_id, id=mention_id, limit=limit))
    return AuditPage(data=[AuditEntryOut(
        actor=e.actor, at=from_timestamp(e.at) if e.HasField("at") else None, field=e.field,
        old=_loads(e.old_json), new=_loads(e.new_json), version=e.version) for e in resp.entries])


@router.get(
    "/v1/inbox/counts", response_model=InboxCountsOut, summary="Mentions per inbox state",
    description="How many of the tenant's mentions are in each workflow state (a mention never "
                "touched is `open`). Requires `read`.",
    responses=problem_responses(401, 403, 429, 502, 503),
)
async def inbox_counts(deps: Deps, principal: ReadPrincipal) -> InboxCountsOut:
    c = await deps.backends.call(deps.backends.insights.GetInboxCounts,
                                 insights_pb2.GetInboxCountsRequest(tenant_id=principal.tenant_id))
    return InboxCountsOut(open=c.open, in_progress=c.in_progress, resolved=c.resolved,
                          ignored=c.ignored, total=c.open + c.in_progress + c.resolved + c.ignored)
