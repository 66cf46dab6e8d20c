"""The ``mentions`` collection: one document per unique post, keyed by its natural-key id.

Every method takes the tenant first and filters on it, even where ``_id`` alone would do: the id
is derived from the tenant, but the filter makes isolation visible and keeps every query on an
index that starts with ``tenant_id``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from dengar_common.errors import Unavailable
from dengar_insights.adapters.periods import created_from
from dengar_insights.adapters.store import ids_filter, store_errors
from dengar_insights.domain.search import (
    ENGAGEMENT_DESC,
    TIME_ASC,
    Cursor,
    SearchQuery,
    time_from_key,
)
from dengar_insights.domain.workflow import OPEN, STATES

logger = logging.getLogger(__name__)

Doc = dict[str, Any]

# Bookkeeping the ingest protocol needs; everything else is the mention itself.
STATE_FIELDS = ("rev", "pending", "contribution", "content_hash", "collected_at")
# Never sent to readers: bookkeeping, or large and only useful for matching and clustering.
# ``audit_outbox``: workflow audit entries written with their change, not yet in ``mention_audit``.
# Audit entries of workflow changes not yet moved to the audit log, per mention: a bound far above
# what a healthy inbox leaves there (each change moves its own right after the write).
MAX_AUDIT_OUTBOX = 500
HIDDEN = {"terms": 0, "pending": 0, "contribution": 0, "content_hash": 0, "embedding": 0,
          "audit_outbox": 0}

INDEXES: list[tuple[str, list[tuple[str, int]]]] = [
    ("tenant_created", [("tenant_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)]),
    ("tenant_engagement", [("tenant_id", ASCENDING), ("engagement_score", DESCENDING),
                           ("_id", DESCENDING)]),
    ("tenant_terms", [("tenant_id", ASCENDING), ("terms", ASCENDING)]),
    ("tenant_sentiment_created", [("tenant_id", ASCENDING), ("sentiment.label", ASCENDING),
                                  ("created_at", DESCENDING)]),
    ("tenant_aspect_created", [("tenant_id", ASCENDING), ("aspects.name", ASCENDING),
                               ("created_at", DESCENDING)]),
    ("tenant_platform_created", [("tenant_id", ASCENDING), ("platform", ASCENDING),
                                 ("created_at", DESCENDING)]),
    ("tenant_language_created", [("tenant_id", ASCENDING), ("language", ASCENDING),
                                 ("created_at", DESCENDING)]),
    ("tenant_query_created", [("tenant_id", ASCENDING), ("query_ids", ASCENDING),
                              ("created_at", DESCENDING)]),
    ("tenant_category_created", [("tenant_id", ASCENDING), ("category_ids", ASCENDING),
                                 ("created_at", DESCENDING)]),
    # The monitoring inbox's filters and counts (see domain/workflow.py).
    ("tenant_wfstate_created", [("tenant_id", ASCENDING), ("workflow.state", ASCENDING),
                                ("created_at", DESCENDING)]),
    ("tenant_wfassignee_created", [("tenant_id", ASCENDING), ("workflow.assignee", ASCENDING),
                                   ("created_at", DESCENDING)]),
    ("tenant_wftags_created", [("tenant_id", ASCENDING), ("workflow.tags", ASCENDING),
                               ("created_at", DESCENDING)]),
]


def workflow_clauses(query: SearchQuery) -> list[Doc]:
    """Filters on the workflow sub-document; a mention without one is open and unassigned."""
    clauses: list[Doc] = []
    if query.states:
        states: Doc = {"workflow.state": {"$in": list(query.states)}}
        if OPEN in query.states:
            states = {"$or": [states, {"workflow.state": {"$exists": False}}]}
        clauses.append(states)
    if query.assignees:
        clauses.append({"workflow.assignee": {"$in": list(query.assignees)}})
    if query.tags:
        clauses.append({"workflow.tags": {"$in": list(query.tags)}})
    return clauses


@store_errors
class MentionRepository:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db["mentions"]

    async def ensure_indexes(self) -> None:
        for name, keys in INDEXES:
            await self._col.create_index(keys, name=name)

    # -- reads -----------------------------------------------------------------------------------

    async def get(self, tenant_id: str, mention_id: str) -> Doc | None:
        return await self._col.find_one({"_id": mention_id, "tenant_id": tenant_id}, projection=HIDDEN)

    async def get_state(self, tenant_id: str, mention_id: str) -> Doc | None:
        return await self._col.find_one({"_id": mention_id, "tenant_id": tenant_id},
                                        projection=list(STATE_FIELDS))

    async def get_states(self, tenant_id: str, mention_ids: Iterable[str]) -> dict[str, Doc]:
        """Ingest state of several mentions in one round trip (absent ids are missing)."""
        ids = list(dict.fromkeys(mention_ids))
        if not ids:
            return {}
        cursor = self._col.find(ids_filter(tenant_id, ids),
                                projection=list(STATE_FIELDS))
        return {doc["_id"]: doc async for doc in cursor}

    async def get_for_stream(self, tenant_id: str, mention_id: str) -> Doc | None:
        """The mention with ``terms`` (for the stream's filter) and ``content_hash`` (its revision)."""
        return await self._col.find_one({"_id": mention_id, "tenant_id": tenant_id},
                                        projection={"pending": 0, "contribution": 0, "embedding": 0,
                                                    "audit_outbox": 0})

    async def get_document(self, tenant_id: str, mention_id: str) -> Doc | None:
        return await self._col.find_one({"_id": mention_id, "tenant_id": tenant_id},
                                        projection={"terms": 0, "audit_outbox": 0})

    @staticmethod
    def _scan_filter(tenant_id: str, since: datetime | None, tagged: tuple[str, str] | None) -> Doc:
        flt: Doc = {"tenant_id": tenant_id}
        if since is not None:
            flt["created_at"] = created_from(since)
        if tagged is not None:
            flt[tagged[0]] = tagged[1]
        return flt

    async def scan(self, tenant_id: str, *, since: datetime | None, tagged: tuple[str, str] | None,
                   after: tuple[datetime, str] | None, limit: int) -> list[Doc]:
        """Backfill batches, oldest first, on the tenant_created index (read backwards)."""
        flt = self._scan_filter(tenant_id, since, tagged)
        if after is not None:
            at, mid = after
            flt = {"$and": [flt, {"$or": [{"created_at": {"$gt": at}},
                                          {"created_at": at, "_id": {"$gt": mid}}]}]}
        cursor = (self._col.find(flt, projection={"terms": 0})
                  .sort([("created_at", ASCENDING), ("_id", ASCENDING)]).limit(limit))
        return await cursor.to_list()

    async def count(self, tenant_id: str, *, since: datetime | None, tagged: tuple[str, str] | None) -> int:
        return await self._col.count_documents(self._scan_filter(tenant_id, since, tagged))

    @staticmethod
    def _search_plan(tenant_id: str, query: SearchQuery, after: Cursor | None
                     ) -> tuple[Doc, list[tuple[str, int]]]:
        """The filter and sort of ``query``, strictly after ``after``."""
        clauses: list[Doc] = [{"tenant_id": tenant_id}]
        if query.start is not None or query.end is not None:
            window: Doc = {}
            if query.start is not None:
                window.update(created_from(query.start))
            if query.end is not None:
                window["$lt"] = query.end
            clauses.append({"created_at": window})
        for field, values in (("sentiment.label", query.sentiments), ("platform", query.platforms),
                              ("language", query.languages), ("aspects.name", query.aspects),
                              ("query_ids", query.query_ids),
                              ("category_ids", query.category_ids)):
            if values:
                clauses.append({field: {"$in": list(values)}})
        if query.terms:
            clauses.append({"terms": {"$all": list(query.terms)}})
        clauses.extend(workflow_clauses(query))

        if query.sort == ENGAGEMENT_DESC:
            key_field, direction, key_value = "engagement_score", DESCENDING, after.key if after else None
        else:
            direction = ASCENDING if query.sort == TIME_ASC else DESCENDING
            key_field, key_value = "created_at", time_from_key(after.key) if after else None
        if after is not None:
            cmp = "$gt" if direction == ASCENDING else "$lt"
            clauses.append({"$or": [{key_field: {cmp: key_value}},
                                    {key_field: key_value, "_id": {cmp: after.id}}]})
        flt = clauses[0] if len(clauses) == 1 else {"$and": clauses}
        return flt, [(key_field, direction), ("_id", direction)]

    async def search(self, tenant_id: str, query: SearchQuery, after: Cursor | None,
                     limit: int) -> list[Doc]:
        """Up to ``limit`` mentions matching ``query`` in its sort order, strictly after ``after``."""
        flt, sort = self._search_plan(tenant_id, query, after)
        # When a filter's index wins over the sort's (a common word in a big tenant), the server
        # sorts the matches; letting that spill to disk beats failing at the in-memory limit.
        cursor = self._col.find(flt, projection=HIDDEN, allow_disk_use=True).sort(sort).limit(limit)
        return await cursor.to_list()

    async def iter_search(self, tenant_id: str, query: SearchQuery, batch: int) -> AsyncIterator[list[Doc]]:
        """Every mention matching ``query`` in its sort order, in lists of up to ``batch``, from one
        store cursor (an export: one query, not one per page; memory is one batch)."""
        flt, sort = self._search_plan(tenant_id, query, None)
        cursor = self._col.find(flt, projection=HIDDEN, allow_disk_use=True, batch_size=batch).sort(sort)
        out: list[Doc] = []
        try:
            async for doc in cursor:
                out.append(doc)
                if len(out) >= batch:
                    yield out
                    out = []
            if out:
                yield out
        except PyMongoError as exc:
            logger.warning("MentionRepository.iter_search failed on the store: %s", exc)
            raise Unavailable("store unavailable, retry later") from exc
        finally:
            await cursor.close()

    # -- the ingest protocol's writes (see service_layer/ingest.py) ----------------------------------

    async def insert_new(self, tenant_id: str, doc: Mapping[str, Any]) -> bool:
        """Insert a first version; False when the mention already exists (someone was faster)."""
        if doc.get("tenant_id") != tenant_id:
            raise ValueError("document tenant does not match")
        try:
            await self._col.insert_one(dict(doc))
        except DuplicateKeyError:
            return False
        return True

    async def insert_many_new(self, tenant_id: str, docs: Sequence[Mapping[str, Any]]) -> list[bool]:
        """Insert first versions in one round trip; per document, False when it already existed."""
        if not docs:
            return []
        if any(d.get("tenant_id") != tenant_id for d in docs):
            raise ValueError("document tenant does not match")
        try:
            await self._col.insert_many([dict(d) for d in docs], ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors) or exc.details.get("writeConcernErrors"):
                raise
            existed = {e["index"] for e in errors}
            return [i not in existed for i in range(len(docs))]
        return [True] * len(docs)

    async def compare_and_set(self, tenant_id: str, mention_id: str, rev: int,
                              fields: Mapping[str, Any]) -> bool:
        """Set ``fields`` and bump the revision iff the mention is still at ``rev``."""
        res = await self._col.update_one(
            {"_id": mention_id, "tenant_id": tenant_id, "rev": rev},
            {"$set": dict(fields), "$inc": {"rev": 1}})
        return res.matched_count == 1

    async def mark_applied(self, tenant_id: str, ops: Sequence[tuple[str, str]], bucket: str) -> None:
        """Remember that each (mention id, op) reached ``bucket``, so a late resumption skips it."""
        if not ops:
            return
        # Op ids are unique per mention, so matching any of them can only match its own mention.
        await self._col.update_many(
            {**ids_filter(tenant_id, [mid for mid, _ in ops]),
             "pending.op": {"$in": [op for _, op in ops]}},
            {"$addToSet": {"pending.done": bucket}})

    async def move_pending(self, tenant_id: str, ops: Sequence[tuple[str, str]], batch: str,
                           new_batch: str) -> None:
        """Move each (mention id, op) still pending in ``batch`` to ``new_batch``."""
        if not ops:
            return
        await self._col.update_many(
            {**ids_filter(tenant_id, [mid for mid, _ in ops]),
             "pending.op": {"$in": [op for _, op in ops]}, "pending.batch": batch},
            {"$set": {"pending.batch": new_batch}})

    async def complete(self, tenant_id: str, ops: Sequence[tuple[str, str]], at: datetime) -> int:
        """For each (mention id, op): record the op's target (``pending.to``) as the applied
        contribution and clear the op.

        Guarded by the op, so completing twice is harmless. One update for all of them, in which
        the store copies each target over (a pipeline update): a completion sends the ids, not the
        contribution a second time. Op ids are unique per mention, so matching any of them can only
        match its own mention. Returns how many this call completed.
        """
        if not ops:
            return 0
        res = await self._col.update_many(
            {**ids_filter(tenant_id, [mid for mid, _ in ops]),
             "pending.op": {"$in": [op for _, op in ops]}},
            [{"$set": {"contribution": "$pending.to", "rollups_at": at, "rev": {"$add": ["$rev", 1]}}},
             {"$unset": "pending"}])
        return res.modified_count

    # -- for category calibration -----------------------------------------------------------------------

    async def recent_embeddings(self, tenant_id: str, limit: int) -> list[bytes]:
        """The stored embeddings of up to ``limit`` of the tenant's most recent mentions."""
        cursor = (self._col.find({"tenant_id": tenant_id, "embedding": {"$exists": True}},
                                 projection={"embedding": 1, "_id": 0})
                  .sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit))
        return [bytes(d["embedding"]) async for d in cursor if d.get("embedding")]

    # -- the monitoring inbox (domain/workflow.py); never touches the ingest bookkeeping ----------

    async def get_workflow(self, tenant_id: str, mention_id: str) -> Doc | None:
        """``{"workflow": ..., "audit_outbox": [...]}`` of one mention (a key absent when it has
        none); None when absent."""
        return await self._col.find_one({"_id": mention_id, "tenant_id": tenant_id},
                                        projection={"workflow": 1, "audit_outbox": 1})

    async def get_workflows(self, tenant_id: str, mention_ids: Sequence[str]) -> dict[str, Doc]:
        ids = list(dict.fromkeys(mention_ids))
        cursor = self._col.find(ids_filter(tenant_id, ids), projection={"workflow": 1})
        return {doc["_id"]: doc async for doc in cursor}

    async def set_workflow(self, tenant_id: str, mention_id: str, expected_version: int,
                           workflow: Mapping[str, Any], audit: Sequence[Mapping[str, Any]] = ()) -> bool:
        """Replace the workflow iff it is still at ``expected_version`` (0: it has none yet), and in
        the same single-document write append ``audit`` to the mention's ``audit_outbox`` (bounded
        to the newest MAX_AUDIT_OUTBOX), from where the inbox moves them to the audit log."""
        guard: Doc = ({"workflow.version": expected_version} if expected_version
                      else {"$or": [{"workflow": {"$exists": False}}, {"workflow.version": 0}]})
        update: Doc = {"$set": {"workflow": dict(workflow)}}
        if audit:
            update["$push"] = {"audit_outbox": {"$each": [dict(e) for e in audit],
                                                "$slice": -MAX_AUDIT_OUTBOX}}
        res = await self._col.update_one({"_id": mention_id, "tenant_id": tenant_id, **guard}, update)
        return res.matched_count == 1

    async def clear_audit_outbox(self, tenant_id: str, mention_id: str, entry_ids: Sequence[str]) -> None:
        """Drop these entries from the mention's outbox (they are in the audit log now)."""
        await self._col.update_one({"_id": mention_id, "tenant_id": tenant_id},
                                   {"$pull": {"audit_outbox": {"_id": {"$in": list(entry_ids)}}}})

    async def workflow_counts(self, tenant_id: str) -> dict[str, int]:
        """Mentions per workflow state; those without a workflow count as open."""
        counts = {state: 0 for state in STATES}
        for state in STATES:
            flt: Doc = {"tenant_id": tenant_id, "workflow.state": state}
            if state == OPEN:
                flt = {"tenant_id": tenant_id, "$or": [{"workflow.state": OPEN},
                                                       {"workflow.state": {"$exists": False}}]}
            counts[state] = await self._col.count_documents(flt)
        return counts
