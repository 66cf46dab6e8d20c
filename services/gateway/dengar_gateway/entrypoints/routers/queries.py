"""/v1/queries: the tenant's listening queries (managed with `admin`, read and validated with `read`)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from dengar.v1 import collector_pb2, insights_pb2
from dengar_gateway.entrypoints.backfills import backfill_out, backfills_of, pending
from dengar_gateway.entrypoints.deps import AdminPrincipal, Deps, ReadPrincipal, json_body
from dengar_gateway.entrypoints.mapping import from_timestamp
from dengar_gateway.entrypoints.problems import (
    Answer,
    ApiProblem,
    RemoteAnswers,
    answering,
    problem_responses,
)
from dengar_gateway.entrypoints.schemas_queries import (
    BackfillOut,
    QueryCreateIn,
    QueryOut,
    QueryPage,
    QueryPatchIn,
    QueryRoleName,
    QuerySyntaxErrorOut,
    QueryValidateIn,
    QueryValidateOut,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/queries", tags=["queries"])

_ROLES: dict[str, int] = {
    "brand": collector_pb2.QUERY_ROLE_BRAND,
    "competitor": collector_pb2.QUERY_ROLE_COMPETITOR,
    "topic": collector_pb2.QUERY_ROLE_TOPIC,
}
_ROLE_NAMES: dict[int, QueryRoleName] = {v: k for k, v in _ROLES.items()}  # type: ignore[misc]  # the keys are exactly the role literals

_SYNTAX_DOC = ("A syntax error in `expression` is a 422 problem with `position` (0-based character "
               "offset) and `expected` members.")


def _body_doc(model: str, example: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model}"}, "example": example}}}}


def _query_out(q: collector_pb2.ListeningQuery) -> QueryOut:
    return QueryOut(
        id=q.id, name=q.name, role=_ROLE_NAMES.get(q.role, "topic"), expression=q.expression,
        enabled=q.enabled,
        created_at=from_timestamp(q.created_at) if q.HasField("created_at") else None,
        updated_at=from_timestamp(q.updated_at) if q.HasField("updated_at") else None)


_BACKFILL_KIND = "query"


def _backfill_out(q: collector_pb2.ListeningQuery, job: insights_pb2.Backfill | None) -> BackfillOut | None:
    """The backfill of the query's current version: a job that has not reached insights yet (or
    that an older version left) is pending."""
    if job is None or job.target_version < q.version:
        return pending(q.version) if q.version > 0 else None
    return backfill_out(job)


async def _with_backfills(deps: Deps, tenant_id: str, queries: list[collector_pb2.ListeningQuery]
                          ) -> list[QueryOut]:
    """The queries with their backfill progress, read from insights in one call."""
    jobs = await backfills_of(deps, tenant_id, _BACKFILL_KIND, [q.id for q in queries if q.version > 0])
    if jobs is None:
        return [_query_out(q) for q in queries]
    return [_query_out(q).model_copy(update={"backfill": _backfill_out(q, jobs.get(q.id))}) for q in queries]


def _own(q: collector_pb2.ListeningQuery, tenant_id: str) -> collector_pb2.ListeningQuery:
    # Defence in depth: the collector filters by tenant; anything else is a bug there.
    if q.tenant_id and q.tenant_id != tenant_id:
        logger.error("collector returned query %s of another tenant; hidden", q.id)
        raise ApiProblem(404, "no such listening query")
    return q


# A create/update: a syntax error (located by the collector) names its position in `expression`;
# the tenant's query limit is a conflict with what exists, not an outage.
_DEFINITION_ANSWERS: RemoteAnswers = {
    "INVALID_ARGUMENT": Answer(422, "query-syntax-error", title="Invalid query expression",
                               errors_field="expression", needs_position=True),
    "RESOURCE_EXHAUSTED": Answer(409, "query-limit-reached"),
}


@router.post(
    "", status_code=201, response_model=QueryOut, summary="Create a listening query",
    description="Every post collected afterwards is tagged with the ids of the enabled queries it "
                "matches; the mentions stored in the last 30 days are tagged in the background "
                "(`backfill` shows the progress). Names are unique per tenant (409 otherwise); a "
                "tenant has a limited number of queries (409 `query-limit-reached`). "
                f"{_SYNTAX_DOC} Requires `admin`.",
    responses={**problem_responses(400, 401, 403, 409, 413, 415, 422, 429, 502, 503),
               201: {"description": "Created; `Location` is the query's URL."}},
    openapi_extra=_body_doc("QueryCreateIn", {"name": "GoCepat complaints", "role": "brand",
                                              "expression": "(gocepat OR @gocepat_id) AND telat"}),
)
async def create_query(
    deps: Deps, principal: AdminPrincipal, response: Response,
    body: Annotated[QueryCreateIn, Depends(json_body(QueryCreateIn))],
) -> QueryOut:
    request = collector_pb2.CreateQueryRequest(
        tenant_id=principal.tenant_id, name=body.name, role=_ROLES[body.role],  # type: ignore[arg-type]  # int for the proto enum
        expression=body.expression, enabled=body.enabled)
    with answering(_DEFINITION_ANSWERS):
        created = _own(await deps.backends.call(deps.backends.queries.CreateQuery, request),
                       principal.tenant_id)
    response.headers["Location"] = f"/v1/queries/{created.id}"
    logger.info("query %s created for %s by %s", created.id, principal.tenant_id, principal.key_id)
    # Nothing can have run yet: its backfill is pending.
    return _query_out(created).model_copy(update={"backfill": _backfill_out(created, None)})


@router.get("", response_model=QueryPage, summary="List listening queries",
            description="The tenant's queries ordered by name, optionally of one role. Follow "
                        "`next_cursor` (with the same `role`) until it is null. Requires `read`.",
            responses=problem_responses(400, 401, 403, 422, 429, 502, 503))
async def list_queries(
    deps: Deps, principal: ReadPrincipal,
    role: Annotated[QueryRoleName | None, Query(description="Only queries of this role.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048, description="`next_cursor` of the previous page")]
    = None,
) -> QueryPage:
    response = await deps.backends.call(deps.backends.queries.ListQueries, collector_pb2.ListQueriesRequest(
        tenant_id=principal.tenant_id, role=_ROLES[role] if role else collector_pb2.QUERY_ROLE_UNSPECIFIED,  # type: ignore[arg-type]  # int for the proto enum
        page_size=limit, page_token=cursor or ""))
    own = []
    for q in response.queries:
        if q.tenant_id and q.tenant_id != principal.tenant_id:
            logger.error("collector listed query %s of another tenant; dropped", q.id)
            continue
        own.append(q)
    data = await _with_backfills(deps, principal.tenant_id, own)
    return QueryPage(data=data, next_cursor=response.next_page_token or None)


@router.post(
    "/validate", response_model=QueryValidateOut, summary="Check a query expression",
    description="Parses and compiles an expression without storing anything: `valid`, or the "
                "`errors` with their position. Requires `read`.",
    responses=problem_responses(400, 401, 403, 413, 415, 422, 429, 502, 503),
    openapi_extra=_body_doc("QueryValidateIn", {"expression": "gocepat AND"}),
)
async def validate_query(
    deps: Deps, principal: ReadPrincipal,
    body: Annotated[QueryValidateIn, Depends(json_body(QueryValidateIn))],
) -> QueryValidateOut:
    result = await deps.backends.call(deps.backends.queries.ValidateQuery,
        collector_pb2.ValidateQueryRequest(expression=body.expression))
    return QueryValidateOut(valid=result.valid, errors=[
        QuerySyntaxErrorOut(position=e.position, expected=e.expected, message=e.message)
        for e in result.errors])


QueryId = Annotated[str, Path(max_length=64, description="The query id, e.g. q_3f9a1c2b7d4e5f60")]


@router.get("/{query_id}", response_model=QueryOut, summary="Get a listening query",
            description="With `backfill`: the progress of tagging the mentions stored in the last days "
                        "(`DENGAR_INSIGHTS__BACKFILL__DAYS`, 30) after the query was created or its "
                        "`expression` or `enabled` changed. Requires `read`.",
            responses=problem_responses(401, 403, 404, 429, 502, 503))
async def get_query(deps: Deps, principal: ReadPrincipal, query_id: QueryId) -> QueryOut:
    q = await deps.backends.call(deps.backends.queries.GetQuery,
        collector_pb2.GetQueryRequest(tenant_id=principal.tenant_id, id=query_id))
    [out] = await _with_backfills(deps, principal.tenant_id, [_own(q, principal.tenant_id)])
    return out


@router.patch(
    "/{query_id}", response_model=QueryOut, summary="Change a listening query",
    description="Only the members present in the body change (e.g. `{\"enabled\": false}`); the next "
                "posts are tagged by the new version, and a change of `expression` or `enabled` "
                "re-tags the mentions of the last 30 days in the background (tags added and removed; "
                "disabling removes the tag everywhere). "
                f"{_SYNTAX_DOC} Requires `admin`.",
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 502, 503),
    openapi_extra=_body_doc("QueryPatchIn", {"enabled": False}),
)
async def update_query(
    deps: Deps, principal: AdminPrincipal, query_id: QueryId,
    body: Annotated[QueryPatchIn, Depends(json_body(QueryPatchIn))],
) -> QueryOut:
    request = collector_pb2.UpdateQueryRequest(tenant_id=principal.tenant_id, id=query_id)
    for field in sorted(body.model_fields_set):
        value = getattr(body, field)
        if value is None:
            raise ApiProblem(422, f"'{field}' cannot be null; leave it out to keep its value",
                             slug="validation-error",
                             errors=[{"location": "body", "field": field, "message": "must not be null"}])
        setattr(request, field, _ROLES[value] if field == "role" else value)
    with answering(_DEFINITION_ANSWERS):
        updated = _own(await deps.backends.call(deps.backends.queries.UpdateQuery, request),
                       principal.tenant_id)
    logger.info("query %s of %s updated by %s", query_id, principal.tenant_id, principal.key_id)
    [out] = await _with_backfills(deps, principal.tenant_id, [updated])
    return out


@router.delete("/{query_id}", status_code=204, summary="Delete a listening query",
               description="Posts collected afterwards are no longer tagged with it, and a background "
                           "backfill removes its id from the stored mentions that carry it (so it "
                           "leaves every count). Requires `admin`.",
               responses=problem_responses(401, 403, 404, 429, 502, 503))
async def delete_query(deps: Deps, principal: AdminPrincipal, query_id: QueryId) -> Response:
    await deps.backends.call(deps.backends.queries.DeleteQuery,
        collector_pb2.DeleteQueryRequest(tenant_id=principal.tenant_id, id=query_id))
    logger.info("query %s of %s deleted by %s", query_id, principal.tenant_id, principal.key_id)
    return Response(status_code=204)


# Models only referenced from openapi_extra; registered so the schema above resolves.
OPENAPI_MODELS = [QueryCreateIn, QueryPatchIn, QueryValidateIn]
