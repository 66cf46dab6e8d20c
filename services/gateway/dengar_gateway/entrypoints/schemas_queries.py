"""The JSON shapes of /v1/queries (listening queries)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

QueryRoleName = Literal["brand", "competitor", "topic"]
# A guard against huge bodies only: the collector owns the real limit and answers a longer expression
# with a positioned syntax error.
MAX_EXPRESSION_BODY_CHARS = 16_000
MAX_NAME_CHARS = 200

_EXPRESSION_DOC = (
    "In the Dengar query language: words, \"phrases\", AND/OR/NOT (or -word), parentheses, "
    "prefix wildcards (deliv*), a NEAR/n b, #hashtags, @mentions, lang:, platform:, author:, has:link.")
_ROLE_DOC = "`brand` (the tenant's own), `competitor` or `topic`."
# Surrounding whitespace is not part of a name, so "  " is as missing as "".
QueryName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_CHARS)]
_EXAMPLE_EXPRESSION = '(gocepat OR #gocepat OR @gocepat_id) AND (telat OR "late delivery") -promo'


class QueryCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "GoCepat complaints", "role": "brand", "expression": _EXAMPLE_EXPRESSION},
        {"name": "AntarYuk", "role": "competitor", "expression": "antaryuk OR @antaryuk", "enabled": False},
    ]})

    name: QueryName = Field(description="Unique within the tenant (compared without case).")
    role: QueryRoleName = Field(description=_ROLE_DOC)
    expression: str = Field(max_length=MAX_EXPRESSION_BODY_CHARS, description=_EXPRESSION_DOC)
    enabled: bool = Field(True, description="Disabled queries are kept but tag nothing.")


class QueryPatchIn(BaseModel):
    """Only the members that are present change; none of them may be null."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"enabled": False}, {"expression": "gocepat NOT (promo OR giveaway)", "name": "GoCepat"},
    ]})

    name: QueryName | None = None
    role: QueryRoleName | None = Field(None, description=_ROLE_DOC)
    expression: str | None = Field(None, max_length=MAX_EXPRESSION_BODY_CHARS, description=_EXPRESSION_DOC)
    enabled: bool | None = None


class BackfillOut(BaseModel):
    """Re-tagging of stored mentions after a query or category was created or changed what it
    matches."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["pending", "running", "done", "failed"]
    version: int = Field(description="The version it applies: a query's (bumped by each change of "
                                     "`expression` or `enabled`, and by a delete), or a category's "
                                     "(the time of its last change of definition, in ms).")
    scanned: int = Field(description="Mentions looked at so far.")
    total: int = Field(description="Mentions to look at (an estimate until done).")
    matched: int = Field(description="Mentions looked at that the query or category matches.")
    changed: int = Field(description="Mentions whose tags changed.")
    since: datetime | None = Field(description="Mentions created from then on are covered (the "
                                               "last `DENGAR_INSIGHTS__BACKFILL__DAYS` days); null: all.")
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = Field(None, description="Why it failed.")


class QueryOut(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "q_3f9a1c2b7d4e5f60", "name": "GoCepat complaints", "role": "brand",
        "expression": _EXAMPLE_EXPRESSION, "enabled": True,
        "created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-01T12:00:00Z"}]})

    id: str = Field(description="The id posts are tagged with (`query_ids` of a mention).")
    name: str
    role: QueryRoleName
    expression: str
    enabled: bool
    created_at: datetime | None
    updated_at: datetime | None
    backfill: BackfillOut | None = Field(
        None, description="Progress of tagging the mentions stored before the last change (null when "
                          "unknown: a query stored before backfills existed, or insights unreachable).")


class QueryPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: list[QueryOut] = Field(description="Ordered by name.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class QueryValidateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"expression": "gocepat AND"}]})

    expression: str = Field(max_length=MAX_EXPRESSION_BODY_CHARS, description=_EXPRESSION_DOC)


class QuerySyntaxErrorOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: int = Field(description="0-based character offset into the expression.")
    expected: str = Field(description="What would have been valid there.")
    message: str


class QueryValidateOut(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"valid": True, "errors": []},
        {"valid": False, "errors": [{"position": 11, "expected": 'a term or "("',
                                     "message": 'Expected a term or "(" after AND at position 11'}]},
    ]})

    valid: bool
    errors: list[QuerySyntaxErrorOut] = Field(description="Empty when valid.")
