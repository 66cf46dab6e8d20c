"""The JSON shapes of /v1/categories (the tenant's categories, owned by the insights service)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dengar_gateway.entrypoints.schemas_queries import BackfillOut

# Guards against huge bodies only: insights owns the real limits (3-20 examples, each at most the
# post text limit) and answers a violation with the field at fault.
MAX_EXPRESSION_BODY_CHARS = 16_000
MAX_EXAMPLES_BODY = 100
MAX_EXAMPLE_BODY_CHARS = 50_000
MAX_NAME_CHARS = 200

CategoryName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                max_length=MAX_NAME_CHARS)]
Example = Annotated[str, StringConstraints(max_length=MAX_EXAMPLE_BODY_CHARS)]

_EXPRESSION_DOC = ("In the listening-query language (as /v1/queries): words, \"phrases\", AND/OR/NOT, "
                   "deliv*, a NEAR/n b, #hashtags, @mentions, lang:, platform:, author:, has:link. "
                   "Empty: match by examples only.")
_EXAMPLES_DOC = ("None, or 3-20 posts that belong to the category. A mention whose meaning is close "
                 "enough to them (sentence-embedding similarity at or above the category's "
                 "calibrated `threshold`) belongs to it, as does one its `expression` matches.")


class CategoryCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Refunds", "expression": 'refund OR "money back"',
         "examples": ["Still waiting for my refund after 3 weeks", "How do I get my money back?",
                      "Refund the cancelled ticket please"]},
        {"name": "Flight delays", "expression": "delay* OR \"late flight\""},
    ]})

    name: CategoryName = Field(description="Unique within the tenant (compared without case).")
    expression: str = Field("", max_length=MAX_EXPRESSION_BODY_CHARS, description=_EXPRESSION_DOC)
    examples: list[Example] = Field(default_factory=list, max_length=MAX_EXAMPLES_BODY,
                                    description=_EXAMPLES_DOC)


class CategoryPatchIn(BaseModel):
    """Only the members that are present change; none of them may be null. An empty `expression`
    or `examples` clears it (one of the two must remain)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Refund requests"}, {"examples": ["refund please", "money back now", "where is my refund"]},
    ]})

    name: CategoryName | None = None
    expression: str | None = Field(None, max_length=MAX_EXPRESSION_BODY_CHARS, description=_EXPRESSION_DOC)
    examples: list[Example] | None = Field(None, max_length=MAX_EXAMPLES_BODY, description=_EXAMPLES_DOC)


class CalibrationOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_median: float = Field(description="Median leave-one-out similarity of the examples.")
    member_min: float
    background_p90: float = Field(description="90th percentile of the tenant's recent mentions' "
                                              "similarity; 0 when there were too few.")
    background_p95: float
    background_size: int = Field(description="Recent mentions scored; 0: the fixed fallback "
                                             "threshold was used.")


class CategoryOut(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "c_3f9a1c2b7d4e5f60", "name": "Refunds", "expression": "refund",
        "examples": ["Still waiting for my refund", "How do I get my money back?", "Refund please"],
        "threshold": 0.93, "calibration": {"member_median": 0.94, "member_min": 0.92,
                                           "background_p90": 0.91, "background_p95": 0.92,
                                           "background_size": 500},
        "created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-01T12:00:00Z"}]})

    id: str = Field(description="The id mentions carry in `category_ids`.")
    name: str
    expression: str
    examples: list[str]
    threshold: float | None = Field(description="Similarity threshold; null without examples.")
    calibration: CalibrationOut | None
    created_at: datetime | None
    updated_at: datetime | None
    backfill: BackfillOut | None = Field(
        None, description="Re-tagging of the mentions stored in the last days "
                          "(`DENGAR_INSIGHTS__BACKFILL__DAYS`, 30) after the category was created or "
                          "its expression or examples changed (null: unknown, e.g. insights "
                          "unreachable).")


class CategoryList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: list[CategoryOut] = Field(description="Every category of the tenant, by name.")
