"""The monitoring inbox's workflow: validation, transitions, versions and audit entries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dengar_common.errors import InvalidArgument
from dengar_insights.domain.workflow import (
    MAX_TAGS,
    AuditEntry,
    WorkflowChange,
    apply,
    check_change,
    current,
)

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_mention_without_a_workflow_is_open_at_version_0() -> None:
    assert current(None) == {"state": "open", "assignee": "", "tags": [], "notes": [], "version": 0,
                             "updated_at": None, "updated_by": ""}


def test_every_state_can_follow_every_other() -> None:
    wf = None
    for i, state in enumerate(("in_progress", "resolved", "open", "ignored", "resolved"), start=1):
        out = apply(wf, check_change(WorkflowChange(state=state)), actor="k", at=AT)
        assert out.workflow["state"] == state and out.workflow["version"] == i
        wf = out.workflow


def test_changes_are_audited_per_field_and_notes_append() -> None:
    first = apply(None, check_change(WorkflowChange(state="In_Progress", assignee=" dina ",
                                                    tags=("VIP", "vip", "refund"), note=" hi ")),
                  actor="support", at=AT)
    assert first.entries == [AuditEntry("state", "open", "in_progress"),
                             AuditEntry("assignee", "", "dina"),
                             AuditEntry("tags", [], ["vip", "refund"]), AuditEntry("note", None, "hi")]
    wf = first.workflow
    assert (wf["version"], wf["updated_by"], wf["updated_at"]) == (1, "support", AT)
    second = apply(wf, check_change(WorkflowChange(add_tags=("late",), remove_tags=("vip",),
                                                   note="again")), actor="other", at=AT)
    assert second.workflow["tags"] == ["refund", "late"]
    assert [n["text"] for n in second.workflow["notes"]] == ["hi", "again"]
    assert second.workflow["notes"][0] == {"author": "support", "text": "hi", "created_at": AT}
    assert second.workflow["version"] == 2


def test_a_change_that_changes_nothing_keeps_the_version() -> None:
    wf = apply(None, check_change(WorkflowChange(state="resolved")), actor="k", at=AT).workflow
    again = apply(wf, check_change(WorkflowChange(state="resolved", assignee="", tags=())),
                  actor="k", at=AT)
    assert not again.changed and again.workflow["version"] == 1


@pytest.mark.parametrize(("change", "field"), [
    (WorkflowChange(state="done"), "state"),
    (WorkflowChange(assignee="x" * 200), "assignee"),
    (WorkflowChange(tags=("",)), "tags"),
    (WorkflowChange(add_tags=("bad\ntag",)), "add_tags"),
    (WorkflowChange(remove_tags=("x" * 41,)), "remove_tags"),
    (WorkflowChange(tags=tuple(f"t{i}" for i in range(MAX_TAGS + 1))), "tags"),
    (WorkflowChange(note="x" * 5000), "note"),
    (WorkflowChange(), "state"),
])
def test_bad_changes_name_their_field(change: WorkflowChange, field: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        check_change(change)
    assert exc.value.field == field
