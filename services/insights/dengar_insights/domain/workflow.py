"""The monitoring inbox: a mention's workflow (state, assignee, tags, notes) and its audit trail.

The workflow lives in its own sub-document of the mention (``workflow``) with its own ``version``,
so that it never races the ingest protocol (which compares and sets ``rev`` and only ``$set``s the
post's fields): a re-collected post keeps its workflow, and a workflow change never moves ``rev``.
A mention without the sub-document is ``open``, unassigned, untagged, at version 0.

``apply`` is pure: the current workflow and a change in, the next workflow and one audit entry per
changed field out. A change that changes nothing yields no entries (and no new version).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dengar_common.errors import InvalidArgument

OPEN = "open"
IN_PROGRESS = "in_progress"
RESOLVED = "resolved"
IGNORED = "ignored"
STATES = (OPEN, IN_PROGRESS, RESOLVED, IGNORED)

MAX_TAGS = 20
MAX_TAG_LEN = 40
MAX_ASSIGNEE_LEN = 128
MAX_NOTE_LEN = 4000
# Notes are append-only; the bound keeps one mention document well below the store's limit.
MAX_NOTES = 200
MAX_FILTER_VALUES = 20
_TAG_RE = re.compile(r"^[\w][\w .:/+-]*$")


@dataclass(frozen=True)
class WorkflowChange:
    """What to change; None (or empty) leaves a part as it is."""

    state: str | None = None
    # "" unassigns.
    assignee: str | None = None
    # Replaces the tags when given; add/remove apply after it.
    tags: tuple[str, ...] | None = None
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class AuditEntry:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Outcome:
    workflow: dict[str, Any]
    entries: list[AuditEntry] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.entries)


def check_state(value: str, field_name: str = "state") -> str:
    state = value.strip().lower()
    if state not in STATES:
        raise InvalidArgument(f"{field_name} must be one of {', '.join(STATES)}, not {value!r}",
                              field=field_name)
    return state


def check_tag(value: str, field_name: str = "tags") -> str:
    tag = value.strip().lower()
    if not tag or len(tag) > MAX_TAG_LEN or not _TAG_RE.match(tag):
        raise InvalidArgument(f"invalid tag {value!r}: 1-{MAX_TAG_LEN} letters, digits, spaces "
                              "or . : / + - _", field=field_name)
    return tag


def check_assignee(value: str, field_name: str = "assignee") -> str:
    assignee = value.strip()
    if len(assignee) > MAX_ASSIGNEE_LEN or any(ord(c) < 32 for c in assignee):
        raise InvalidArgument(f"assignee must be at most {MAX_ASSIGNEE_LEN} printable characters",
                              field=field_name)
    return assignee


def check_change(change: WorkflowChange) -> WorkflowChange:
    """The change validated and normalised; InvalidArgument naming the field otherwise."""
    state = check_state(change.state) if change.state is not None else None
    assignee = check_assignee(change.assignee) if change.assignee is not None else None
    tags = (tuple(dict.fromkeys(check_tag(t) for t in change.tags))
            if change.tags is not None else None)
    add = tuple(dict.fromkeys(check_tag(t, "add_tags") for t in change.add_tags))
    remove = tuple(dict.fromkeys(check_tag(t, "remove_tags") for t in change.remove_tags))
    for name, values in (("tags", tags or ()), ("add_tags", add), ("remove_tags", remove)):
        if len(values) > MAX_TAGS:
            raise InvalidArgument(f"at most {MAX_TAGS} tags", field=name)
    note = change.note.strip()
    if len(note) > MAX_NOTE_LEN:
        raise InvalidArgument(f"a note has at most {MAX_NOTE_LEN} characters", field="note")
    if state is None and assignee is None and tags is None and not add and not remove and not note:
        raise InvalidArgument("nothing to change: give state, assignee, tags or a note",
                              field="state")
    return WorkflowChange(state=state, assignee=assignee, tags=tags, add_tags=add, remove_tags=remove,
                          note=note)


def current(doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """A stored ``workflow`` sub-document with its defaults filled in."""
    wf = dict(doc or {})
    return {"state": wf.get("state") or OPEN, "assignee": wf.get("assignee") or "",
            "tags": list(wf.get("tags") or ()), "notes": list(wf.get("notes") or ()),
            "version": int(wf.get("version") or 0), "updated_at": wf.get("updated_at"),
            "updated_by": wf.get("updated_by") or ""}


def apply(stored: Mapping[str, Any] | None, change: WorkflowChange, *, actor: str,
          at: datetime) -> Outcome:
    """The workflow after ``change`` (already checked) by ``actor``, and what changed."""
    wf = current(stored)
    entries: list[AuditEntry] = []
    if change.state is not None and change.state != wf["state"]:
        entries.append(AuditEntry("state", wf["state"], change.state))
        wf["state"] = change.state
    if change.assignee is not None and change.assignee != wf["assignee"]:
        entries.append(AuditEntry("assignee", wf["assignee"], change.assignee))
        wf["assignee"] = change.assignee
    tags: list[str] = list(change.tags) if change.tags is not None else list(wf["tags"])
    tags = [t for t in dict.fromkeys([*tags, *change.add_tags]) if t not in change.remove_tags]
    if len(tags) > MAX_TAGS:
        raise InvalidArgument(f"a mention has at most {MAX_TAGS} tags", field="tags")
    if tags != wf["tags"]:
        entries.append(AuditEntry("tags", wf["tags"], tags))
        wf["tags"] = tags
    if change.note:
        if len(wf["notes"]) >= MAX_NOTES:
            raise InvalidArgument(f"a mention has at most {MAX_NOTES} notes", field="note")
        note = {"author": actor, "text": change.note, "created_at": at}
        entries.append(AuditEntry("note", None, change.note))
        wf["notes"] = [*wf["notes"], note]
    if entries:
        wf["version"] += 1
        wf["updated_at"], wf["updated_by"] = at, actor
    return Outcome(wf, entries)


def check_filter(values: Sequence[str], field_name: str, check: Any) -> tuple[str, ...]:
    """Filter values (states, assignees, tags) validated by ``check``; at most MAX_FILTER_VALUES."""
    out = tuple(sorted({check(v, field_name) for v in values if v.strip()}))
    if len(out) > MAX_FILTER_VALUES:
        raise InvalidArgument(f"{field_name}: at most {MAX_FILTER_VALUES} values", field=field_name)
    return out
