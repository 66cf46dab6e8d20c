"""The monitoring inbox's use cases: change one or many mentions' workflows, counts, audit trail.

A change is a compare-and-set on the workflow's own version (see domain/workflow.py), so it never
disturbs the ingest protocol. ``update`` with an expected version answers FAILED_PRECONDITION
(reason ``version-conflict``) when someone else changed the workflow first; without one it retries
on the current version. Every effective change writes its audit entries in the same atomic
single-document update as the workflow (the mention's ``audit_outbox``), then moves them to the
audit log (idempotently: they carry their ids). A crash between the two leaves them queued, never
lost, and never an entry for a change that was not stored; the next change of that mention, or
reading its audit trail, moves them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from dengar_common.errors import FailedPrecondition, InvalidArgument, NotFound
from dengar_insights.domain import workflow
from dengar_insights.domain.search import SearchQuery
from dengar_insights.domain.workflow import WorkflowChange

logger = logging.getLogger(__name__)

Doc = dict[str, Any]
MAX_BULK = 500
MAX_AUDIT = 500
_ATTEMPTS = 5


class WorkflowStore(Protocol):
    async def get_workflow(self, tenant_id: str, mention_id: str) -> Doc | None: ...

    async def set_workflow(self, tenant_id: str, mention_id: str, expected_version: int,
                           workflow: Mapping[str, Any], audit: Sequence[Mapping[str, Any]] = ()) -> bool:
        """Compare-and-set the workflow and, in the same atomic write, queue ``audit`` in the
        mention's ``audit_outbox``."""
        ...

    async def clear_audit_outbox(self, tenant_id: str, mention_id: str, entry_ids: Sequence[str]) -> None: ...

    async def workflow_counts(self, tenant_id: str) -> dict[str, int]: ...

    def iter_search(self, tenant_id: str, query: SearchQuery, batch: int) -> AsyncIterator[list[Doc]]: ...


class AuditLog(Protocol):
    async def append(self, tenant_id: str, entries: Sequence[Mapping[str, Any]]) -> None:
        """Store the entries; one already stored (the same ``_id``) is not stored again."""
        ...

    async def list(self, tenant_id: str, mention_id: str, limit: int) -> list[Doc]: ...


class VersionConflict(FailedPrecondition):
    def __init__(self, mention_id: str, expected: int, actual: int) -> None:
        super().__init__(f"mention {mention_id} is at workflow version {actual}, not {expected}",
                         field="version", reason="version-conflict")


def _utcnow() -> datetime:
    # BSON dates hold milliseconds: what is returned is what a later read gives back.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class Inbox:
    def __init__(self, store: WorkflowStore, audit: AuditLog,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock

    async def update(self, tenant_id: str, mention_id: str, change: WorkflowChange, *, actor: str,
                     expected_version: int | None = None) -> dict[str, Any]:
        """The mention's workflow after ``change``; NotFound, VersionConflict or InvalidArgument."""
        if not mention_id:
            raise InvalidArgument("id is required", field="id")
        if not actor:
            raise InvalidArgument("actor is required", field="actor")
        if expected_version is not None and expected_version < 0:
            raise InvalidArgument("version must not be negative", field="version")
        change = workflow.check_change(change)
        for _ in range(_ATTEMPTS):
            doc = await self._store.get_workflow(tenant_id, mention_id)
            if doc is None:
                raise NotFound(f"mention {mention_id} not found")
            await self._move_outbox(tenant_id, mention_id, doc)
            stored = workflow.current(doc.get("workflow"))
            if expected_version is not None and stored["version"] != expected_version:
                raise VersionConflict(mention_id, expected_version, stored["version"])
            at = self._clock()
            outcome = workflow.apply(doc.get("workflow"), change, actor=actor, at=at)
            if not outcome.changed:
                return stored
            version = outcome.workflow["version"]
            entries = [{"_id": f"{tenant_id}:{mention_id}:{version:010d}:{i}", "tenant_id": tenant_id,
                        "mention_id": mention_id, "actor": actor, "at": at, "field": e.field,
                        "old": e.old, "new": e.new, "version": version}
                       for i, e in enumerate(outcome.entries)]
            if await self._store.set_workflow(tenant_id, mention_id, stored["version"], outcome.workflow,
                                              entries):
                await self._move_outbox(tenant_id, mention_id, {"audit_outbox": entries})
                return outcome.workflow
            if expected_version is not None:
                latest = await self._store.get_workflow(tenant_id, mention_id)
                actual = workflow.current((latest or {}).get("workflow"))["version"]
                raise VersionConflict(mention_id, expected_version, actual)
        raise FailedPrecondition(f"the workflow of mention {mention_id} kept changing; try again",
                                 field="version", reason="version-conflict")

    async def _move_outbox(self, tenant_id: str, mention_id: str, doc: Mapping[str, Any]) -> None:
        """Move the audit entries queued in a mention's outbox to the audit log. A failure leaves
        them queued (the change itself is stored): the next change or audit read moves them."""
        entries = list(doc.get("audit_outbox") or ())
        if not entries:
            return
        try:
            await self._audit.append(tenant_id, entries)
            await self._store.clear_audit_outbox(tenant_id, mention_id, [e["_id"] for e in entries])
        except Exception:
            logger.warning("moving %d audit entries of mention %s to the audit log failed; they stay "
                           "queued", len(entries), mention_id, exc_info=True)

    async def bulk_update(self, tenant_id: str, mention_ids: Sequence[str], change: WorkflowChange, *,
                          actor: str) -> tuple[list[str], list[str]]:
        """Apply ``change`` to each mention (last writer wins); (updated or unchanged ids, missing ids)."""
        ids = list(dict.fromkeys(i.strip() for i in mention_ids if i.strip()))
        if not ids:
            raise InvalidArgument("give at least one mention id", field="ids")
        if len(ids) > MAX_BULK:
            raise InvalidArgument(f"at most {MAX_BULK} mentions per bulk update", field="ids")
        change = workflow.check_change(change)
        done, missing = [], []
        for mid in ids:
            try:
                await self.update(tenant_id, mid, change, actor=actor)
            except NotFound:
                missing.append(mid)
            else:
                done.append(mid)
        return done, missing

    async def matching_ids(self, tenant_id: str, query: SearchQuery) -> list[str]:
        """The ids of the mentions matching ``query``; InvalidArgument when more than MAX_BULK do."""
        ids: list[str] = []
        async for batch in self._store.iter_search(tenant_id, query, MAX_BULK + 1):
            ids.extend(d["_id"] for d in batch)
            if len(ids) > MAX_BULK:
                raise InvalidArgument(f"the filter matches more than {MAX_BULK} mentions; narrow it",
                                      field="filter")
        return ids

    async def counts(self, tenant_id: str) -> dict[str, int]:
        return await self._store.workflow_counts(tenant_id)

    async def audit(self, tenant_id: str, mention_id: str, limit: int = MAX_AUDIT) -> list[Doc]:
        if not mention_id:
            raise InvalidArgument("id is required", field="id")
        doc = await self._store.get_workflow(tenant_id, mention_id)
        if doc is None:
            raise NotFound(f"mention {mention_id} not found")
        # Entries a crash left queued are listed too: the trail never misses a stored change.
        await self._move_outbox(tenant_id, mention_id, doc)
        return await self._audit.list(tenant_id, mention_id, max(1, min(limit, MAX_AUDIT)))
