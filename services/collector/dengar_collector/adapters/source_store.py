"""The ``sources`` collection of the collector database.

One document per source, ``_id`` = the source id (``src_`` + 16 hex, unique across tenants). Besides
the definition it holds the scheduler's state: the connector cursor, run statistics and a lease
(``lease_owner`` + ``lease_until``) that a scheduler takes with one atomic ``find_one_and_update``, so
two collector replicas never run the same source at once.

Credentials and the webhook secret are sealed by a ``SecretBox`` (dengar_common.secrets) into
``credentials_sealed`` / ``webhook_secret_sealed``: encrypted when keys are configured, otherwise a
plaintext envelope. Documents from before (plain ``credentials`` / ``webhook_secret`` fields) and
envelopes that are not what the box writes now (plaintext, or an older key) are still read, and are
sealed again when the repository next writes the document with the record in hand (``update``,
``claim``, ``record_push``). Stored secrets that the keys cannot open load as a record with empty
secrets and ``secrets_error`` set, so that its run fails with that message instead of the process
crashing. They are never returned by the API and never logged; ``SourceRecord`` hides them from
``repr``.

Every index starts with ``tenant_id``, including the scheduler's: it finds the tenants that have due
sources (``due_tenants``, an index scan) and then claims per tenant, which is also what lets it cap
concurrent runs per tenant. The one lookup without a tenant is ``find_webhook``: a push names only
the source id (the URL is all a sender has), it uses the built-in ``_id`` index, and the caller must
authenticate the request with that source's secret before using anything it returns.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dengar_collector.domain.sources import SourceRecord
from dengar_collector.service_layer.ports import SourceIdTaken
from dengar_common.secrets import ResealReport, SecretBox, SecretDecryptError

logger = logging.getLogger(__name__)

Doc = dict[str, Any]

INDEXES: list[tuple[str, list[tuple[str, int]]]] = [
    ("tenant_created", [("tenant_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)]),
    ("tenant_kind_created", [("tenant_id", ASCENDING), ("kind", ASCENDING), ("created_at", ASCENDING),
                             ("_id", ASCENDING)]),
    ("tenant_due", [("tenant_id", ASCENDING), ("next_run_at", ASCENDING)]),
]

_FIELDS = ("name", "kind", "config", "interval_seconds", "created_at", "updated_at",
           "paused", "last_run_at", "next_run_at", "items_collected", "runs",
           "last_error", "last_error_at", "consecutive_failures", "last_success_at", "last_run_items",
           "cursor", "generation", "lease_owner", "lease_until")

# Record field -> stored envelope field; the record field's name is also the legacy plaintext field.
_SEALED = {"credentials": "credentials_sealed", "webhook_secret": "webhook_secret_sealed"}
_WEBHOOK_KEY = "secret"


def _context(tenant_id: str, source_id: str, name: str) -> str:
    return f"{tenant_id}/{source_id}/{name}"


def _seal_field(box: SecretBox, tenant_id: str, source_id: str, name: str, value: Any) -> Doc | None:
    if name == "webhook_secret":
        # Pull sources have none: nothing to seal.
        if not value:
            return None
        return box.seal({_WEBHOOK_KEY: value}, context=_context(tenant_id, source_id, name))
    return box.seal(dict(value or {}), context=_context(tenant_id, source_id, name))


def _sealed_fields(box: SecretBox, tenant_id: str, source_id: str, fields: Doc) -> tuple[Doc, Doc]:
    """``$set`` and ``$unset`` that store the secrets among ``fields`` sealed (others pass through)."""
    out: Doc = {}
    unset: Doc = {}
    for key, value in fields.items():
        if key in _SEALED:
            out[_SEALED[key]] = _seal_field(box, tenant_id, source_id, key, value)
            unset[key] = ""
        else:
            out[key] = value
    return out, unset


def to_doc(record: SourceRecord, box: SecretBox) -> Doc:
    doc: Doc = {"_id": record.id, "tenant_id": record.tenant_id}
    for name in _FIELDS:
        doc[name] = getattr(record, name)
    for name, sealed in _SEALED.items():
        doc[sealed] = _seal_field(box, record.tenant_id, record.id, name, getattr(record, name))
    return doc


def from_doc(doc: Doc, box: SecretBox) -> tuple[SourceRecord, str, bool]:
    """The record; why its secrets could not be opened, for the operator ("" if they could); and
    whether they are stale (not stored the way the box would store them now)."""
    values = {name: doc[name] for name in _FIELDS if name in doc and doc[name] is not None}
    record = SourceRecord(id=doc["_id"], tenant_id=doc["tenant_id"], **values)
    reason = ""
    stale = False
    for name, sealed_name in _SEALED.items():
        sealed = doc.get(sealed_name)
        if sealed is None:
            legacy = doc.get(name)
            if legacy:
                setattr(record, name, legacy)
                # Written before secrets were sealed: plaintext, which is stale once a key exists.
                stale = stale or box.encrypts
            continue
        try:
            opened = box.open(sealed, context=_context(record.tenant_id, record.id, name))
        except SecretDecryptError as exc:
            record.secrets_error = str(exc)
            reason = reason or f"{name}: {exc.reason}"
            continue
        setattr(record, name, opened.values.get(_WEBHOOK_KEY, "") if name == "webhook_secret"
                else opened.values)
        stale = stale or not opened.current
    return record, reason, stale


def _lease_free(now: datetime) -> Doc:
    return {"$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]}


class SourceRepository:
    def __init__(self, db: AsyncDatabase[Doc], box: SecretBox | None = None) -> None:
        self._col = db["sources"]
        self._box = box or SecretBox()
        # Sources whose unreadable secrets were already logged: once per process is enough.
        self._warned: set[str] = set()

    def _load(self, doc: Doc) -> SourceRecord:
        return self._load_full(doc)[0]

    def _load_full(self, doc: Doc) -> tuple[SourceRecord, bool]:
        record, reason, stale = from_doc(doc, self._box)
        if reason and record.id not in self._warned:
            self._warned.add(record.id)
            logger.warning("tenant %s: the secrets of source %s cannot be opened (%s); its runs fail "
                           "until the key is configured again or the secrets are replaced",
                           record.tenant_id, record.id, reason)
        return record, stale

    async def _load_and_reseal(self, doc: Doc) -> SourceRecord:
        """Load, and store the secrets again if they are not sealed the way the box seals now.

        The write is conditional on the stored secrets being unchanged, so a concurrent update of
        the credentials always wins; failing to write is harmless (the next write tries again).
        """
        record, stale = self._load_full(doc)
        if stale and not record.secrets_error:
            await self._reseal(doc, record)
        return record

    async def _reseal(self, doc: Doc, record: SourceRecord) -> bool:
        """Store ``record``'s secrets sealed the way the box seals now, unless ``doc``'s changed
        meanwhile (then whoever changed them sealed them with the first key). True if written."""
        flt: Doc = {"_id": record.id, "tenant_id": record.tenant_id}
        for name, sealed in _SEALED.items():
            # None also matches a missing field.
            flt[name] = doc.get(name)
            flt[sealed] = doc.get(sealed)
        set_fields, unset = _sealed_fields(self._box, record.tenant_id, record.id, {
            "credentials": record.credentials, "webhook_secret": record.webhook_secret})
        try:
            result = await self._col.update_one(flt, {"$set": set_fields, "$unset": unset})
        except Exception:
            logger.warning("re-sealing the secrets of source %s failed", record.id, exc_info=True)
            return False
        if result.modified_count:
            logger.info("tenant %s: re-sealed the secrets of source %s", record.tenant_id, record.id)
        return bool(result.modified_count)

    async def reseal_all(self) -> ResealReport:
        """Seal the secrets of every source of every tenant with the first key where they are not
        (after a key rotation, so that the old key can be dropped); an operator's command."""
        report = ResealReport()
        async for doc in self._col.find({}):
            record, stale = self._load_full(doc)
            if record.secrets_error:
                report.unreadable.append(f"{record.tenant_id}/{record.id}")
            elif stale and await self._reseal(doc, record):
                report.resealed += 1
            else:
                report.current += 1
        return report

    async def ensure_indexes(self) -> None:
        for name, keys in INDEXES:
            await self._col.create_index(keys, name=name)

    # -- the management API ------------------------------------------------------------------------

    async def insert(self, tenant_id: str, record: SourceRecord) -> None:
        if record.tenant_id != tenant_id:
            raise ValueError("record tenant does not match")
        try:
            await self._col.insert_one(to_doc(record, self._box))
        except DuplicateKeyError:
            raise SourceIdTaken(record.id) from None

    async def get(self, tenant_id: str, source_id: str) -> SourceRecord | None:
        doc = await self._col.find_one({"_id": source_id, "tenant_id": tenant_id})
        return self._load(doc) if doc else None

    async def list(self, tenant_id: str, *, kind: str = "", after: tuple[datetime, str] | None = None,
                   limit: int = 50) -> list[SourceRecord]:
        """Sources in creation order, strictly after ``after`` = (created_at, id) of the last one seen."""
        flt: Doc = {"tenant_id": tenant_id}
        if kind:
            flt["kind"] = kind
        if after is not None:
            flt["$or"] = [{"created_at": {"$gt": after[0]}},
                          {"created_at": after[0], "_id": {"$gt": after[1]}}]
        cursor = self._col.find(flt).sort([("created_at", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        return [self._load(d) async for d in cursor]

    async def update(self, tenant_id: str, source_id: str, *, set_fields: Doc,
                     inc: Doc | None = None) -> SourceRecord | None:
        """Apply ``$set`` (and ``$inc``); the updated source, or None when it does not exist.

        ``credentials`` and ``webhook_secret`` in ``set_fields`` are stored sealed.
        """
        stored, unset = _sealed_fields(self._box, tenant_id, source_id, set_fields)
        update: Doc = {"$set": stored}
        if unset:
            update["$unset"] = unset
        if inc:
            update["$inc"] = inc
        doc = await self._col.find_one_and_update({"_id": source_id, "tenant_id": tenant_id}, update,
                                                  return_document=ReturnDocument.AFTER)
        return await self._load_and_reseal(doc) if doc else None

    async def delete(self, tenant_id: str, source_id: str) -> bool:
        result = await self._col.delete_one({"_id": source_id, "tenant_id": tenant_id})
        return result.deleted_count == 1

    async def count(self, tenant_id: str) -> int:
        return await self._col.count_documents({"tenant_id": tenant_id})

    # -- webhooks ------------------------------------------------------------------------------------

    async def find_webhook(self, source_id: str) -> SourceRecord | None:
        """A webhook source by id alone (see the module docstring: authenticate before use)."""
        doc = await self._col.find_one({"_id": source_id, "kind": "webhook"})
        return self._load(doc) if doc else None

    async def record_push(self, tenant_id: str, source_id: str, *, accepted: int, now: datetime) -> None:
        doc = await self._col.find_one_and_update(
            {"_id": source_id, "tenant_id": tenant_id},
            {"$set": {"last_run_at": now, "last_success_at": now, "last_run_items": accepted},
             "$inc": {"items_collected": accepted, "runs": 1}}, return_document=ReturnDocument.AFTER)
        if doc:
            # A push is what writes a webhook source most often: the moment to re-seal its secret.
            await self._load_and_reseal(doc)

    # -- the scheduler -------------------------------------------------------------------------------

    async def due_tenants(self, now: datetime) -> list[str]:
        """Tenants with at least one active source due at ``now`` (leased ones included)."""
        values = await self._col.distinct("tenant_id", {"paused": False, "next_run_at": {"$lte": now}})
        return [str(v) for v in values]

    async def claim(self, tenant_id: str, *, owner: str, now: datetime,
                    lease_until: datetime) -> SourceRecord | None:
        """Lease the tenant's most overdue unleased active source; None when there is none."""
        doc = await self._col.find_one_and_update(
            {"tenant_id": tenant_id, "paused": False, "next_run_at": {"$lte": now}, **_lease_free(now)},
            {"$set": {"lease_owner": owner, "lease_until": lease_until}},
            sort=[("next_run_at", ASCENDING)], return_document=ReturnDocument.AFTER)
        return await self._load_and_reseal(doc) if doc else None

    async def renew_lease(self, tenant_id: str, source_id: str, *, owner: str, until: datetime) -> bool:
        result = await self._col.update_one({"_id": source_id, "tenant_id": tenant_id, "lease_owner": owner},
                                            {"$set": {"lease_until": until}})
        return result.matched_count == 1

    async def release_lease(self, tenant_id: str, source_id: str, *, owner: str) -> None:
        await self._col.update_one({"_id": source_id, "tenant_id": tenant_id, "lease_owner": owner},
                                   {"$set": {"lease_owner": None, "lease_until": None}})

    async def finish_run(self, tenant_id: str, source_id: str, *, owner: str, generation: int,
                         set_fields: Doc, inc: Doc, cursor: dict[str, Any] | None,
                         write_cursor: bool, next_run_at: datetime) -> bool:
        """Store a run's outcome and release the lease, if this owner still holds it.

        When the source's config changed during the run (another generation), only the statistics
        are stored: the cursor and the next run belong to the new config. False when the lease was lost
        (the source was deleted, or the lease expired and another worker took it).
        """
        release = {"lease_owner": None, "lease_until": None}
        full = {**set_fields, **release, "next_run_at": next_run_at}
        if write_cursor:
            full["cursor"] = cursor
        result = await self._col.update_one(
            {"_id": source_id, "tenant_id": tenant_id, "lease_owner": owner, "generation": generation},
            {"$set": full, "$inc": inc})
        if result.matched_count == 1:
            return True
        result = await self._col.update_one(
            {"_id": source_id, "tenant_id": tenant_id, "lease_owner": owner},
            {"$set": {**set_fields, **release}, "$inc": inc})
        return result.matched_count == 1
