"""Request and response bodies of the monitoring inbox (routers/inbox.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dengar_gateway.entrypoints.schema_types import INT64_MAX

State = Literal["open", "in_progress", "resolved", "ignored"]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Assignee = Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]
NoteText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
MentionId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
MAX_BULK = 500


class WorkflowChangeIn(BaseModel):
    """Only the members that are present change. `tags` replaces the tags; `add_tags` and
    `remove_tags` apply after it. `note` appends a note written by the calling key."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"state": "in_progress", "assignee": "dina", "add_tags": ["refund"], "version": 3}]})

    state: State | None = None
    assignee: Assignee | None = Field(None, description="A user id; \"\" unassigns.")
    tags: list[Tag] | None = Field(None, max_length=20)
    add_tags: list[Tag] = Field(default_factory=list, max_length=20)
    remove_tags: list[Tag] = Field(default_factory=list, max_length=20)
    note: NoteText | None = None


class WorkflowPatchIn(WorkflowChangeIn):
    version: int | None = Field(None, ge=0, le=INT64_MAX,
                                description="Change only if the workflow is still at "
                                            "this version (or send `If-Match`).")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: NoteText
    version: int | None = Field(None, ge=0, le=INT64_MAX)


class BulkWorkflowIn(BaseModel):
    """The same change on up to 500 mentions (last writer wins, no versions): those of `ids`, or
    without `ids` those matching the query string's filters (as on `GET /v1/mentions`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"ids": ["65f0c1d2e3a4b5c6d7e8f901"], "change": {"state": "resolved"}}]})

    ids: list[MentionId] | None = Field(None, min_length=1, max_length=MAX_BULK)
    change: WorkflowChangeIn


class BulkWorkflowOut(BaseModel):
    updated: list[str] = Field(description="Changed (or already as asked).")
    missing: list[str] = Field(description="Unknown ids (or another tenant's).")


class AuditEntryOut(BaseModel):
    actor: str = Field(description="Name of the API key that made the change.")
    at: datetime | None
    field: str = Field(description="state, assignee, tags or note.")
    old: Any
    new: Any
    version: int = Field(description="The workflow version the change produced.")


class AuditPage(BaseModel):
    data: list[AuditEntryOut]


class InboxCountsOut(BaseModel):
    open: int
    in_progress: int
    resolved: int
    ignored: int
    total: int
