"""/v1/sources: where the tenant's posts come from (managed with `admin`, read with `read`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from google.protobuf import json_format, struct_pb2

from dengar.v1 import collector_pb2
from dengar_gateway.adapters.backends import Backends
from dengar_gateway.domain.keys import Principal, Scope
from dengar_gateway.domain.redact import redact_config
from dengar_gateway.entrypoints.deps import AdminPrincipal, Deps, ReadPrincipal, json_body
from dengar_gateway.entrypoints.mapping import from_timestamp
from dengar_gateway.entrypoints.problems import (
    Answer,
    ApiProblem,
    RemoteAnswers,
    answering,
    problem_responses,
)
from dengar_gateway.entrypoints.schemas_sources import (
    SourceCreatedOut,
    SourceCreateIn,
    SourceOut,
    SourcePage,
    SourcePatchIn,
    SourceStatusName,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/sources", tags=["sources"])

_STATUS: dict[int, SourceStatusName] = {
    collector_pb2.SOURCE_STATUS_ACTIVE: "active",
    collector_pb2.SOURCE_STATUS_PAUSED: "paused",
    collector_pb2.SOURCE_STATUS_ERROR: "error",
}
SourceId = Annotated[str, Path(max_length=64, description="The source id (`src_...`)")]


def _struct(data: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(data)
    return s


def _time(msg: Any, field: str) -> Any:
    return from_timestamp(getattr(msg, field)) if msg.HasField(field) else None


def source_out(src: collector_pb2.Source, *, redact: bool = False) -> dict[str, Any]:
    """The public form of a source; ``redact`` (keys without ``admin``) masks what in its config
    may be a secret (domain/redact.py)."""
    webhook = src.kind == "webhook"
    config = json_format.MessageToDict(src.config)
    return dict(
        id=src.id, name=src.name, kind=src.kind, config=redact_config(config) if redact else config,
        credential_fields=list(src.credential_fields),
        interval_seconds=None if webhook else src.interval_seconds, paused=src.paused,
        status=_STATUS.get(src.status, "active"),
        created_at=_time(src, "created_at"), updated_at=_time(src, "updated_at"),
        last_run_at=_time(src, "last_run_at"), next_run_at=_time(src, "next_run_at"),
        items_collected=src.items_collected, runs=src.runs, last_error=src.last_error or None,
        last_error_at=_time(src, "last_error_at"), consecutive_failures=src.consecutive_failures,
        last_success_at=_time(src, "last_success_at"), last_run_items=src.last_run_items,
        webhook_url=f"/v1/webhooks/{src.id}" if webhook else None)


def _redacted(principal: Principal) -> bool:
    # Admins set the config, so they see it as stored; read-only keys (dashboards, integrations)
    # must not learn a feed token that a config URL carries.
    return Scope.ADMIN not in principal.scopes


def _own(src: collector_pb2.Source, tenant_id: str) -> collector_pb2.Source:
    # Defence in depth: the collector filters by tenant; anything else is a bug there.
    if src.tenant_id and src.tenant_id != tenant_id:
        logger.error("collector returned source %s of another tenant; hidden", src.id)
        raise ApiProblem(404, "no such source")
    return src


# A create/update: a definition the collector refuses (unknown kind, a bad config field, missing
# credentials) is a 422 naming the field, like any other validation problem.
_DEFINITION_ANSWERS: RemoteAnswers = {
    "INVALID_ARGUMENT": Answer(422, "invalid-source", title="Invalid source definition", errors_field=""),
    "source-limit": Answer(409, "source-limit-reached"),
}


def _doc(model: str, example: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model}"}, "example": example}}}}


@router.post(
    "", status_code=201, response_model=SourceCreatedOut, summary="Create a source",
    description=(
        "A pull source (mastodon, bluesky, reddit, youtube, x, rss, hackernews) is polled at its interval, "
        "first right away; a `webhook` source receives signed pushes at `POST /v1/webhooks/{id}`. A "
        "webhook source's signing secret is in `webhook_secret`, in this response only. Credentials "
        "are write-only. A definition that does not fit the kind is a 422 naming the field. A tenant "
        "has a limited number of sources (`DENGAR_COLLECTOR__SOURCES__MAX_PER_TENANT`): beyond it, 409 "
        "`source-limit-reached` with `limit` and `current`. Requires `admin`."),
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 429, 503),
    openapi_extra=_doc("SourceCreateIn", {"name": "Gojek on Mastodon", "kind": "mastodon",
                                          "config": {"base_url": "https://mastodon.social",
                                                     "hashtag": "gojek"},
                                          "credentials": {"access_token": "..."}, "interval_seconds": 300}),
)
async def create_source(
    deps: Deps, principal: AdminPrincipal,
    body: Annotated[SourceCreateIn, Depends(json_body(SourceCreateIn))],
) -> SourceCreatedOut:
    request = collector_pb2.CreateSourceRequest(
        tenant_id=principal.tenant_id, name=body.name, kind=body.kind, config=_struct(body.config),
        credentials=body.credentials, interval_seconds=body.interval_seconds, paused=body.paused)
    with answering(_DEFINITION_ANSWERS):
        resp = await deps.backends.call(deps.backends.sources.CreateSource, request)
    src = _own(resp.source, principal.tenant_id)
    logger.info("source %s (%s) created for %s by %s", src.id, src.kind, principal.tenant_id,
                principal.key_id)
    return SourceCreatedOut(**source_out(src), webhook_secret=resp.webhook_secret or None)


@router.get("", response_model=SourcePage, summary="List sources",
            description="The tenant's sources in creation order. Follow `next_cursor` until it is null. "
                        "Requires `read`; `config` is masked for keys without `admin` as in `GET "
                        "/v1/sources/{source_id}`.",
            responses=problem_responses(400, 401, 403, 422, 429, 503))
async def list_sources(
    deps: Deps, principal: ReadPrincipal,
    kind: Annotated[str | None, Query(max_length=32, description="Only sources of this kind")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024, description="`next_cursor` of the previous page")]
    = None,
) -> SourcePage:
    resp = await deps.backends.call(deps.backends.sources.ListSources, collector_pb2.ListSourcesRequest(
        tenant_id=principal.tenant_id, kind=kind or "", page_size=limit, page_token=cursor or ""))
    data = [SourceOut(**source_out(s, redact=_redacted(principal))) for s in resp.sources
            if not s.tenant_id or s.tenant_id == principal.tenant_id]
    return SourcePage(data=data, next_cursor=resp.next_page_token or None)


@router.get("/{source_id}", response_model=SourceOut, summary="Get a source",
            description="Definition (without credential values), state and run statistics. Requires `read`; "
                        "for a key without `admin`, `config` values that may be secrets are masked (`***`: "
                        "user info and query-string values of URLs, fields named like a token or password).",
            responses=problem_responses(401, 403, 404, 429, 503))
async def get_source(deps: Deps, principal: ReadPrincipal, source_id: SourceId) -> SourceOut:
    src = await deps.backends.call(deps.backends.sources.GetSource, collector_pb2.GetSourceRequest(
        tenant_id=principal.tenant_id, id=source_id))
    return SourceOut(**source_out(_own(src, principal.tenant_id), redact=_redacted(principal)))


@router.patch(
    "/{source_id}", response_model=SourceOut, summary="Update a source",
    description="Only the fields present change. A new `config` replaces the old one and restarts "
                "collection from the backfill window; changing config or credentials runs the source "
                "soon. Requires `admin`.",
    responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
    openapi_extra=_doc("SourcePatchIn", {"interval_seconds": 900}),
)
async def update_source(
    deps: Deps, principal: AdminPrincipal, source_id: SourceId,
    body: Annotated[SourcePatchIn, Depends(json_body(SourcePatchIn))],
) -> SourceOut:
    request = collector_pb2.UpdateSourceRequest(
        tenant_id=principal.tenant_id, id=source_id, credentials=body.credentials or {},
        replace_credentials=body.replace_credentials)
    if body.name is not None:
        request.name = body.name
    if body.config is not None:
        request.config.CopyFrom(_struct(body.config))
    if body.interval_seconds is not None:
        request.interval_seconds = body.interval_seconds
    with answering(_DEFINITION_ANSWERS):
        src = await deps.backends.call(deps.backends.sources.UpdateSource, request)
    return SourceOut(**source_out(_own(src, principal.tenant_id)))


@router.delete("/{source_id}", status_code=204, summary="Delete a source",
               description="Stops collecting; posts already collected stay. Requires `admin`.",
               responses=problem_responses(401, 403, 404, 429, 503))
async def delete_source(deps: Deps, principal: AdminPrincipal, source_id: SourceId) -> Response:
    await deps.backends.call(deps.backends.sources.DeleteSource, collector_pb2.DeleteSourceRequest(
        tenant_id=principal.tenant_id, id=source_id))
    logger.info("source %s of %s deleted by %s", source_id, principal.tenant_id, principal.key_id)
    return Response(status_code=204)


def _action(method: Callable[[Backends], Callable[..., Awaitable[collector_pb2.Source]]]
            ) -> Callable[..., Awaitable[SourceOut]]:
    async def handler(deps: Deps, principal: AdminPrincipal, source_id: SourceId) -> SourceOut:
        src = await deps.backends.call(method(deps.backends), collector_pb2.GetSourceRequest(
            tenant_id=principal.tenant_id, id=source_id))
        return SourceOut(**source_out(_own(src, principal.tenant_id)))

    return handler


router.add_api_route(
    "/{source_id}/pause", _action(lambda b: b.sources.PauseSource), methods=["POST"],
    response_model=SourceOut, summary="Pause a source", name="pause_source",
    description="A paused pull source is not run; a paused webhook source refuses pushes (409). "
                "Requires `admin`.",
    responses=problem_responses(401, 403, 404, 429, 503))
router.add_api_route(
    "/{source_id}/resume", _action(lambda b: b.sources.ResumeSource), methods=["POST"],
    response_model=SourceOut, summary="Resume a source", name="resume_source",
    description="A resumed pull source runs right away, without waiting out an error back-off. "
                "Requires `admin`.",
    responses=problem_responses(401, 403, 404, 429, 503))
router.add_api_route(
    "/{source_id}/run", _action(lambda b: b.sources.RunSourceNow), methods=["POST"],
    response_model=SourceOut, summary="Run a pull source now", name="run_source",
    description="Runs the source as soon as a worker is free (a run in progress counts). 422 for "
                "webhook and paused sources. Requires `admin`.",
    responses=problem_responses(401, 403, 404, 422, 429, 503))


@router.post(
    "/{source_id}/rotate-secret", response_model=SourceCreatedOut, summary="Rotate a webhook secret",
    description="A new signing secret, in this response only; the old one stops working at once. 422 "
                "for pull sources. Requires `admin`.",
    responses=problem_responses(401, 403, 404, 422, 429, 503))
async def rotate_secret(deps: Deps, principal: AdminPrincipal, source_id: SourceId) -> SourceCreatedOut:
    resp = await deps.backends.call(deps.backends.sources.RotateWebhookSecret, collector_pb2.GetSourceRequest(
        tenant_id=principal.tenant_id, id=source_id))
    src = _own(resp.source, principal.tenant_id)
    logger.info("webhook secret of %s (%s) rotated by %s", src.id, principal.tenant_id, principal.key_id)
    return SourceCreatedOut(**source_out(src), webhook_secret=resp.webhook_secret or None)


OPENAPI_MODELS = [SourceCreateIn, SourcePatchIn]
