"""MongoDB store of channels (``channels``) and deliveries (``deliveries``).

A webhook's signing secret is sealed by a ``SecretBox`` (dengar_common.secrets) for its channel, as
the collector seals inbound webhook secrets. A delivery embeds the notification it carries, so the
worker of any replica can send it; ``(tenant_id, key, channel_id)`` is unique, which makes recording
idempotent. The lease (``lease_owner``, ``lease_until``) makes one worker at a time send a delivery.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from dengar_common.secrets import ResealReport, SecretBox, SecretDecryptError
from dengar_insights.adapters.store import store_errors
from dengar_insights.domain.channels import Channel
from dengar_insights.domain.notification import Delivery, DeliveryAttempt, Notification
from dengar_insights.service_layer.deliveries import Claimed

logger = logging.getLogger(__name__)

Doc = dict[str, Any]
MAX_ATTEMPTS_KEPT = 50


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _context(tenant_id: str, channel_id: str) -> str:
    return f"channel:{tenant_id}:{channel_id}:secret"


@store_errors
class MongoChannelStore:
    def __init__(self, db: AsyncDatabase[Doc], box: SecretBox | None = None) -> None:
        self._col = db["channels"]
        self._box = box or SecretBox()

    async def ensure_indexes(self) -> None:
        await self._col.create_index([("tenant_id", ASCENDING), ("_id", ASCENDING)])

    def _seal(self, channel: Channel, secret: str) -> Doc | None:
        if not secret:
            return None
        return self._box.seal({"secret": secret}, context=_context(channel.tenant_id, channel.id))

    def _channel(self, doc: Doc) -> Channel:
        secret = ""
        sealed = doc.get("secret")
        if sealed:
            try:
                opened = self._box.open(sealed, context=_context(doc["tenant_id"], doc["_id"]))
                secret = opened.values["secret"]
            except (SecretDecryptError, KeyError) as exc:
                # The channel still lists; a send fails (and is logged) until the secret is rotated.
                logger.warning("the secret of channel %s cannot be opened: %s", doc["_id"], exc)
        return Channel(id=doc["_id"], tenant_id=doc["tenant_id"], name=doc["name"], kind=doc["kind"],
                       url=doc.get("url") or "", format=doc.get("format") or "dengar",
                       recipients=tuple(doc.get("recipients") or ()), language=doc.get("language") or "en",
                       created_at=_utc(doc.get("created_at")), updated_at=_utc(doc.get("updated_at")),
                       secret=secret)

    async def insert(self, channel: Channel) -> None:
        await self._col.insert_one({
            "_id": channel.id, "tenant_id": channel.tenant_id, "name": channel.name, "kind": channel.kind,
            "url": channel.url, "format": channel.format, "recipients": list(channel.recipients),
            "language": channel.language, "created_at": channel.created_at, "updated_at": channel.updated_at,
            "secret": self._seal(channel, channel.secret)})

    async def get(self, tenant_id: str, channel_id: str) -> Channel | None:
        doc = await self._col.find_one({"_id": channel_id, "tenant_id": tenant_id})
        return self._channel(doc) if doc else None

    async def list(self, tenant_id: str) -> list[Channel]:
        cursor = self._col.find({"tenant_id": tenant_id}).sort("name", ASCENDING)
        return [self._channel(d) async for d in cursor]

    async def replace(self, channel: Channel) -> Channel | None:
        doc = await self._col.find_one_and_update(
            {"_id": channel.id, "tenant_id": channel.tenant_id},
            {"$set": {"name": channel.name, "url": channel.url, "format": channel.format,
                      "recipients": list(channel.recipients), "language": channel.language,
                      "updated_at": channel.updated_at}},
            return_document=ReturnDocument.AFTER)
        return self._channel(doc) if doc else None

    async def set_secret(self, tenant_id: str, channel_id: str, secret: str, now: datetime) -> bool:
        sealed = self._box.seal({"secret": secret}, context=_context(tenant_id, channel_id))
        result = await self._col.update_one({"_id": channel_id, "tenant_id": tenant_id},
                                            {"$set": {"secret": sealed, "updated_at": now}})
        return result.matched_count == 1

    async def delete(self, tenant_id: str, channel_id: str) -> bool:
        result = await self._col.delete_one({"_id": channel_id, "tenant_id": tenant_id})
        return result.deleted_count == 1

    async def reseal_all(self) -> ResealReport:
        """Seal every channel's signing secret with the first key where it is not (after a key
        rotation, so that the old key can be dropped); the secret itself stays the same. An
        operator's command, over every tenant."""
        report = ResealReport()
        async for doc in self._col.find({"secret": {"$ne": None}}):
            sealed = doc["secret"]
            try:
                opened = self._box.open(sealed, context=_context(doc["tenant_id"], doc["_id"]))
            except SecretDecryptError:
                report.unreadable.append(f"{doc['tenant_id']}/{doc['_id']}")
                continue
            if opened.current:
                report.current += 1
                continue
            fresh = self._box.seal(opened.values, context=_context(doc["tenant_id"], doc["_id"]))
            # Unless rotated meanwhile (then sealed with the first key already).
            result = await self._col.update_one(
                {"_id": doc["_id"], "tenant_id": doc["tenant_id"], "secret": sealed},
                {"$set": {"secret": fresh}})
            if result.modified_count:
                report.resealed += 1
            else:
                report.current += 1
        return report


def _notification_doc(n: Notification) -> Doc:
    return {"tenant_id": n.tenant_id, "key": n.key, "kind": n.kind, "title": dict(n.title),
            "text": dict(n.text), "payload": dict(n.payload), "created_at": n.created_at,
            "severity": n.severity, "links": dict(n.links)}


def _notification(doc: Doc) -> Notification:
    return Notification(tenant_id=doc["tenant_id"], key=doc["key"], kind=doc["kind"], title=doc["title"],
                        text=doc["text"], payload=doc.get("payload") or {},
                        created_at=_utc(doc["created_at"]) or datetime.now(UTC),
                        severity=doc.get("severity") or "info", links=doc.get("links") or {})


def _delivery(doc: Doc) -> Delivery:
    return Delivery(
        id=doc["_id"], tenant_id=doc["tenant_id"], key=doc["key"], channel_id=doc["channel_id"],
        state=doc["state"],
        attempts=tuple(DeliveryAttempt(at=_utc(a["at"]) or datetime.now(UTC), status=a["status"],
                                       latency_ms=a["latency_ms"], error=a.get("error") or "")
                       for a in doc.get("attempts") or ()),
        next_attempt_at=_utc(doc.get("next_attempt_at")))


@store_errors
class MongoDeliveryStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db["deliveries"]

    async def ensure_indexes(self) -> None:
        await self._col.create_index(
            [("tenant_id", ASCENDING), ("key", ASCENDING), ("channel_id", ASCENDING)], unique=True)
        await self._col.create_index([("state", ASCENDING), ("next_attempt_at", ASCENDING)])
        await self._col.create_index([("tenant_id", ASCENDING), ("created_at", ASCENDING)])

    async def record(self, notification: Notification, channel_ids: Sequence[str],
                     now: datetime) -> list[str]:
        n = _notification_doc(notification)
        ops = [UpdateOne(
            {"tenant_id": notification.tenant_id, "key": notification.key, "channel_id": channel_id},
            {"$setOnInsert": {"_id": uuid.uuid4().hex, "state": "pending", "attempts": [], "failures": 0,
                              "next_attempt_at": now, "lease_owner": None, "lease_until": None,
                              "created_at": now, "notification": n}},
            upsert=True) for channel_id in channel_ids]
        try:
            await self._col.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            # A racing replica inserted the same key between the upsert's match and insert: its
            # delivery is the one; anything else is a real failure.
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
        ids: dict[str, str] = {}
        async for doc in self._col.find({"tenant_id": notification.tenant_id, "key": notification.key,
                                         "channel_id": {"$in": list(channel_ids)}}, {"channel_id": 1}):
            ids[doc["channel_id"]] = doc["_id"]
        return [ids[c] for c in channel_ids if c in ids]

    async def claim(self, owner: str, now: datetime, lease_until: datetime,
                    skip_channels: Sequence[str] = ()) -> Claimed | None:
        query: Doc = {"state": "pending", "next_attempt_at": {"$lte": now},
                      # Not "or ours": this worker may be sending it right now in another task.
                      "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]}
        if skip_channels:
            query["channel_id"] = {"$nin": list(skip_channels)}
        doc = await self._col.find_one_and_update(
            query,
            {"$set": {"lease_owner": owner, "lease_until": lease_until}},
            sort=[("next_attempt_at", ASCENDING)], return_document=ReturnDocument.AFTER)
        if doc is None:
            return None
        return Claimed(_delivery(doc), _notification(doc["notification"]), int(doc.get("failures") or 0))

    async def finish(self, delivery_id: str, owner: str, attempt: DeliveryAttempt, state: str,
                     next_attempt_at: datetime | None) -> bool:
        entry = {"at": attempt.at, "status": attempt.status, "latency_ms": attempt.latency_ms,
                 "error": attempt.error}
        result = await self._col.update_one(
            {"_id": delivery_id, "lease_owner": owner, "state": "pending"},
            {"$push": {"attempts": {"$each": [entry], "$slice": -MAX_ATTEMPTS_KEPT}},
             "$inc": {"failures": 1 if attempt.error else 0},
             "$set": {"state": state, "next_attempt_at": next_attempt_at, "lease_owner": None,
                      "lease_until": None, "updated_at": attempt.at}})
        return result.modified_count == 1

    async def list(self, tenant_id: str, *, key: str | None = None, state: str | None = None,
                   limit: int = 100) -> list[Delivery]:
        query: Doc = {"tenant_id": tenant_id}
        if key is not None:
            query["key"] = key
        if state is not None:
            query["state"] = state
        cursor = self._col.find(query, {"notification": 0}).sort("created_at", -1).limit(limit)
        return [_delivery(d) async for d in cursor]

    async def get(self, tenant_id: str, delivery_id: str) -> Delivery | None:
        doc = await self._col.find_one({"_id": delivery_id, "tenant_id": tenant_id}, {"notification": 0})
        return _delivery(doc) if doc else None

    async def redeliver(self, tenant_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        doc = await self._col.find_one_and_update(
            {"_id": delivery_id, "tenant_id": tenant_id, "state": "dead"},
            {"$set": {"state": "pending", "failures": 0, "next_attempt_at": now, "lease_owner": None,
                      "lease_until": None, "updated_at": now}},
            projection={"notification": 0}, return_document=ReturnDocument.AFTER)
        return _delivery(doc) if doc else None
