"""/v1/categories: the tenant's categories (managed with `admin`, read with `read`).

Insights owns them: it embeds the examples (through NLP), calibrates the threshold, and assigns
every new mention to the categories it belongs to.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from dengar.v1 import insights_pb2
from dengar_gateway.entrypoints.backfills import backfill_out, backfills_of
from dengar_gateway.entrypoints.deps import AdminPrincipal, Deps, ReadPrincipal, json_body
from dengar_gateway.entrypoints.mapping import from_timestamp
from dengar_gateway.entrypoints.problems import (
    Answer,
    ApiProblem,
    RemoteAnswers,
    answering,
    problem_responses,
)
from dengar_gateway.entrypoints.schemas_categories import (
    CalibrationOut,
    CategoryCreateIn,
    CategoryList,
    CategoryOut,
    CategoryPatchIn,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/categories", tags=["categories"])

_ERRORS_DOC = ("A syntax error in `expression` is a 422 problem with `position` (0-based character "
               "offset) and `expected`; other invalid members (e.g. 2 examples) are a 422 naming the "
               "`field`. 409 `category-limit-reached` beyond the tenant's limit, 409 for a name in use, "
               "503 when the examples cannot be embedded right now.")

# A syntax error (located by insights) names its position in `expression`; any other refusal names
# its field (examples[2]); the tenant's limit is a conflict with what exists, not an outage.
_DEFINITION_ANSWERS: RemoteAnswers = {
    "query-syntax": Answer(422, "category-expression-error", title="Invalid category expression",
                           errors_field="expression", needs_position=True),
    "INVALID_ARGUMENT": Answer(422, "validation-error", errors_field="body"),
    "RESOURCE_EXHAUSTED": Answer(409, "category-limit-reached"),
}


def _body_doc(model: str, example: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model}"}, "example": example}}}}


def _category_out(c: insights_pb2.Category) -> CategoryOut:
    cal = c.calibration
    return CategoryOut(
        id=c.id, name=c.name, expression=c.expression, examples=list(c.examples),
        threshold=round(c.threshold, 6) if c.HasField("threshold") else None,
        calibration=CalibrationOut(
            member_median=round(cal.member_median, 6), member_min=round(cal.member_min, 6),
            background_p90=round(cal.background_p90, 6), background_p95=round(cal.background_p95, 6),
            background_size=cal.background_size) if c.HasField("calibration") else None,
        created_at=from_timestamp(c.created_at) if c.HasField("created_at") else None,
        updated_at=from_timestamp(c.updated_at) if c.HasField("updated_at") else None)


def _own(c: insights_pb2.Category, tenant_id: str) -> insights_pb2.Category:
    # Defence in depth: insights filters by tenant; anything else is a bug there.
    if c.tenant_id and c.tenant_id != tenant_id:
        logger.error("insights returned category %s of another tenant; hidden", c.id)
        raise ApiProblem(404, "no such category")
    return c


_BACKFILL_KIND = "category"


async def _with_backfills(deps: Deps, tenant_id: str, categories: list[insights_pb2.Category]
                          ) -> list[CategoryOut]:
    """The categories with the progress of re-tagging the stored mentions after their last change
    of definition (scheduled by insights in the same call that changed it)."""
    jobs = await backfills_of(deps, tenant_id, _BACKFILL_KIND, [c.id for c in categories])
    return [_category_out(c).model_copy(update={
        "backfill": backfill_out(jobs[c.id]) if jobs and c.id in jobs else None}) for c in categories]


@router.post(
    "", status_code=201, response_model=CategoryOut, summary="Create a category",
    description="A category (\"Refunds\", \"Flight delays\") is an `expression`, 3-20 `examples`, or "
                "both. Every mention stored afterwards is assigned the categories it matches (the "
                "expression OR similarity to the examples), which filter mentions "
                "(`GET /v1/mentions?category_id=`), split the analytics (`category_id=`) and explain "
                "spikes (driver kind `category`). The similarity threshold is calibrated on the "
                f"examples and the tenant's recent mentions. {_ERRORS_DOC} Requires `admin`.",
    responses={**problem_responses(400, 401, 403, 409, 413, 415, 422, 429, 502, 503),
               201: {"description": "Created; `Location` is the category's URL."}},
    openapi_extra=_body_doc("CategoryCreateIn", {
        "name": "Refunds", "expression": 'refund OR "money back"',
        "examples": ["Still waiting for my refund after 3 weeks", "How do I get my money back?",
                     "Refund the cancelled ticket please"]}),
)
async def create_category(
    deps: Deps, principal: AdminPrincipal, response: Response,
    body: Annotated[CategoryCreateIn, Depends(json_body(CategoryCreateIn))],
) -> CategoryOut:
    request = insights_pb2.CreateCategoryRequest(
        tenant_id=principal.tenant_id, name=body.name, expression=body.expression,
        examples=body.examples)
    with answering(_DEFINITION_ANSWERS):
        created = _own(await deps.backends.call(deps.backends.categories.CreateCategory, request),
                       principal.tenant_id)
    response.headers["Location"] = f"/v1/categories/{created.id}"
    logger.info("category %s created for %s by %s", created.id, principal.tenant_id, principal.key_id)
    [out] = await _with_backfills(deps, principal.tenant_id, [created])
    return out


@router.get("", response_model=CategoryList, summary="List categories",
            description="Every category of the tenant (a tenant has a bounded number), by name. "
                        "Requires `read`.",
            responses=problem_responses(401, 403, 429, 502, 503))
async def list_categories(deps: Deps, principal: ReadPrincipal) -> CategoryList:
    response = await deps.backends.call(deps.backends.categories.ListCategories,
        insights_pb2.ListCategoriesRequest(tenant_id=principal.tenant_id))
    own = []
    for c in response.categories:
        if c.tenant_id and c.tenant_id != principal.tenant_id:
            logger.error("insights listed category %s of another tenant; dropped", c.id)
            continue
        own.append(c)
    return CategoryList(data=await _with_backfills(deps, principal.tenant_id, own))


CategoryId = Annotated[str, Path(max_length=64, description="The category id, e.g. c_3f9a1c2b7d4e5f60")]


@router.get("/{category_id}", response_model=CategoryOut, summary="Get a category",
            description="Requires `read`.", responses=problem_responses(401, 403, 404, 429, 502, 503))
async def get_category(deps: Deps, principal: ReadPrincipal, category_id: CategoryId) -> CategoryOut:
    c = await deps.backends.call(deps.backends.categories.GetCategory,
        insights_pb2.GetCategoryRequest(tenant_id=principal.tenant_id, id=category_id))
    [out] = await _with_backfills(deps, principal.tenant_id, [_own(c, principal.tenant_id)])
    return out


@router.patch(
    "/{category_id}", response_model=CategoryOut, summary="Change a category",
    description="Only the members present in the body change; `examples` (even unchanged ones) are "
                "embedded and the threshold recalibrated on the tenant's current mentions. Mentions "
                "stored afterwards are assigned by the new definition, and a change of `expression` or "
                "`examples` re-tags the mentions of the last days in the background (`backfill`). "
                f"{_ERRORS_DOC} Requires `admin`.",
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 502, 503),
    openapi_extra=_body_doc("CategoryPatchIn", {"name": "Refund requests"}),
)
async def update_category(
    deps: Deps, principal: AdminPrincipal, category_id: CategoryId,
    body: Annotated[CategoryPatchIn, Depends(json_body(CategoryPatchIn))],
) -> CategoryOut:
    request = insights_pb2.UpdateCategoryRequest(tenant_id=principal.tenant_id, id=category_id)
    for field in sorted(body.model_fields_set):
        value = getattr(body, field)
        if value is None:
            raise ApiProblem(422, f"'{field}' cannot be null; leave it out to keep its value",
                             slug="validation-error",
                             errors=[{"location": "body", "field": field, "message": "must not be null"}])
        if field == "examples":
            request.examples.CopyFrom(insights_pb2.CategoryExamples(texts=value))
        else:
            setattr(request, field, value)
    with answering(_DEFINITION_ANSWERS):
        updated = _own(await deps.backends.call(deps.backends.categories.UpdateCategory, request),
                       principal.tenant_id)
    logger.info("category %s of %s updated by %s", category_id, principal.tenant_id, principal.key_id)
    [out] = await _with_backfills(deps, principal.tenant_id, [updated])
    return out


@router.delete("/{category_id}", status_code=204, summary="Delete a category",
               description="Mentions stored afterwards are no longer assigned to it, and a backfill "
                           "removes its id from the stored mentions that carry it. Requires `admin`.",
               responses=problem_responses(401, 403, 404, 429, 502, 503))
async def delete_category(deps: Deps, principal: AdminPrincipal, category_id: CategoryId) -> Response:
    await deps.backends.call(deps.backends.categories.DeleteCategory,
        insights_pb2.DeleteCategoryRequest(tenant_id=principal.tenant_id, id=category_id))
    logger.info("category %s of %s deleted by %s", category_id, principal.tenant_id, principal.key_id)
    return Response(status_code=204)


# Models only referenced from openapi_extra; registered so the schema above resolves.
OPENAPI_MODELS = [CategoryCreateIn, CategoryPatchIn]
