"""MongoDB store of alert rules and incidents.

Collections:

* ``alert_rules`` and ``alert_rule_state`` (per tenant: ``count`` for the limit, ``version`` for
  the match cache), as categories do;
* ``alert_keys``: one document per incident key (tenant:rule:scope) with ``firing``, ``seq`` and
  ``last_fired_at``. Firing is one conditional upsert on it (not firing and cooled down): of two
  replicas only one matches or inserts it, the other gets nothing or a duplicate key;
* ``alerts``: the incidents, ``_id`` derived from (key, seq), so a retried insert is recognised.
  The alert document is written into the key document (``pending``) by the same update that marks
  the key firing, then inserted, then ``pending`` is cleared: a crash in between leaves an intent
  that ``repair`` completes, never a marked incident without its alert;
* ``alert_leases``: the per-rule lease of the scheduled evaluator.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dengar_common.errors import InvalidArgument, ResourceExhausted
from dengar_insights.adapters.leases import take_lease
from dengar_insights.adapters.store import store_errors
from dengar_insights.domain.alerts import (
    FIRING,
    MAX_EVIDENCE,
    RESOLVED,
    Alert,
    AlertRule,
    Finding,
    QuietHours,
    alert_id,
    incident_key,
)
from dengar_insights.service_layer.alerts import AlertPage

logger = logging.getLogger(__name__)

Doc = dict[str, Any]


def _aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def _rule_doc(rule: AlertRule) -> Doc:
    qh = rule.quiet_hours
    return {"name": rule.name, "condition": rule.condition, "severity": rule.severity,
            "query_id": rule.query_id, "metric": rule.metric, "threshold": rule.threshold,
            "window_minutes": rule.window_minutes, "min_volume": rule.min_volume,
            "expression": rule.expression, "cooldown_s": rule.cooldown_s,
            "quiet_hours": {"start": qh.start, "end": qh.end, "time_zone": qh.time_zone} if qh else None,
            "channel_ids": list(rule.channel_ids), "enabled": rule.enabled,
            "updated_at": rule.updated_at}


def _rule(doc: Doc) -> AlertRule:
    qh = doc.get("quiet_hours")
    return AlertRule(
        id=doc["_id"], tenant_id=doc["tenant_id"], name=doc["name"], condition=doc["condition"],
        severity=doc["severity"], query_id=doc.get("query_id") or "", metric=doc.get("metric") or "volume",
        threshold=float(doc.get("threshold") or 0.0), window_minutes=int(doc["window_minutes"]),
        min_volume=int(doc.get("min_volume") or 0), expression=doc.get("expression") or "",
        cooldown_s=int(doc.get("cooldown_s") or 0),
        quiet_hours=QuietHours(qh["start"], qh["end"], qh.get("time_zone") or "UTC") if qh else None,
        channel_ids=tuple(doc.get("channel_ids") or ()), enabled=bool(doc.get("enabled", True)),
        created_at=_aware(doc.get("created_at")), updated_at=_aware(doc.get("updated_at")))


def _alert(doc: Doc) -> Alert:
    return Alert(
        id=doc["_id"], tenant_id=doc["tenant_id"], rule_id=doc["rule_id"], rule_name=doc["rule_name"],
        condition=doc["condition"], key=doc["key"], scope=doc["scope"], severity=doc["severity"],
        state=doc["state"], summary=doc.get("summary") or "",
        fired_at=_aware(doc["fired_at"]) or doc["fired_at"],
        resolved_at=_aware(doc.get("resolved_at")), evidence_ids=tuple(doc.get("evidence_ids") or ()),
        filters=dict(doc.get("filters") or {}), channel_ids=tuple(doc.get("channel_ids") or ()),
        notify_fired_at=_aware(doc.get("notify_fired_at")),
        fired_notified=bool(doc.get("fired_notified")),
        notify_resolved_at=_aware(doc.get("notify_resolved_at")),
        resolved_notified=bool(doc.get("resolved_notified")), summary_id=doc.get("summary_id") or "")


def _alert_body(a: Alert) -> Doc:
    """The stored document of a newly fired incident, less its ``_id``."""
    return {"tenant_id": a.tenant_id, "rule_id": a.rule_id, "rule_name": a.rule_name,
            "condition": a.condition, "key": a.key, "scope": a.scope, "severity": a.severity,
            "state": FIRING, "summary": a.summary, "summary_id": a.summary_id, "fired_at": a.fired_at,
            "resolved_at": None, "evidence_ids": list(a.evidence_ids), "last_evidence_at": a.fired_at,
            "filters": dict(a.filters), "channel_ids": list(a.channel_ids),
            "notify_fired_at": a.notify_fired_at, "fired_notified": False,
            "notify_resolved_at": None, "resolved_notified": False}


def _cursor(a: Alert) -> str:
    return f"{int(a.fired_at.timestamp() * 1000)}.{a.id}"


def _parse_cursor(token: str) -> tuple[datetime, str]:
    try:
        ms, _, aid = token.partition(".")
        return datetime.fromtimestamp(int(ms) / 1000, UTC), aid
    except ValueError as exc:
        raise InvalidArgument("invalid page token", field="page_token") from exc


@store_errors
class MongoAlertRuleStore:
    """Implements ``AlertRuleRepository``."""

    def __init__(self, db: AsyncDatabase[Doc], *, max_per_tenant: int) -> None:
        self._col = db["alert_rules"]
        self._state = db["alert_rule_state"]
        self._max = max_per_tenant

    async def ensure_indexes(self) -> None:
        # (The evaluator's ``enabled`` looks across tenants and scans: a few small rules per tenant.)
        await self._col.create_index([("tenant_id", ASCENDING), ("created_at", ASCENDING)], name="tenant")

    async def insert(self, rule: AlertRule) -> None:
        await self._reserve(rule.tenant_id)
        await self._col.insert_one({"_id": rule.id, "tenant_id": rule.tenant_id,
                                    "created_at": rule.created_at, **_rule_doc(rule)})
        await self._bump(rule.tenant_id)

    async def get(self, tenant_id: str, rule_id: str) -> AlertRule | None:
        doc = await self._col.find_one({"_id": rule_id, "tenant_id": tenant_id})
        return _rule(doc) if doc else None

    async def list(self, tenant_id: str) -> list[AlertRule]:
        cursor = self._col.find({"tenant_id": tenant_id}).sort([("created_at", ASCENDING),
                                                                ("_id", ASCENDING)])
        return [_rule(d) async for d in cursor]

    async def replace(self, rule: AlertRule) -> bool:
        res = await self._col.update_one({"_id": rule.id, "tenant_id": rule.tenant_id},
                                         {"$set": _rule_doc(rule)})
        if not res.matched_count:
            return False
        await self._bump(rule.tenant_id)
        return True

    async def delete(self, tenant_id: str, rule_id: str) -> bool:
        res = await self._col.delete_one({"_id": rule_id, "tenant_id": tenant_id})
        if not res.deleted_count:
            return False
        await self._state.update_one({"_id": tenant_id}, {"$inc": {"count": -1, "version": 1}})
        return True

    async def version(self, tenant_id: str) -> int:
        doc = await self._state.find_one({"_id": tenant_id}, {"version": 1})
        return int(doc.get("version", 0)) if doc else 0

    async def enabled(self, conditions: Sequence[str]) -> list[AlertRule]:
        cursor = self._col.find({"enabled": True, "condition": {"$in": list(conditions)}})
        return [_rule(d) async for d in cursor]

    async def _reserve(self, tenant_id: str) -> None:
        # A counter document with a conditional $inc: racing creates never pass the limit.
        actual = self._max
        for _ in range(2):
            try:
                await self._state.update_one(
                    {"_id": tenant_id, "count": {"$lt": self._max}}, {"$inc": {"count": 1}}, upsert=True)
                return
            except DuplicateKeyError:
                pass
            actual = await self._col.count_documents({"tenant_id": tenant_id})
            if actual >= self._max:
                break
            await self._state.update_one({"_id": tenant_id}, {"$set": {"count": actual}})
        raise ResourceExhausted(f"at most {self._max} alert rules per tenant", reason="alert-rule-limit",
                                limit=self._max, current=actual)

    async def _bump(self, tenant_id: str) -> None:
        await self._state.update_one({"_id": tenant_id}, {"$inc": {"version": 1}}, upsert=True)


@store_errors
class MongoAlertStore:
    """Implements ``AlertStore``."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._alerts = db["alerts"]
        self._keys = db["alert_keys"]
        self._leases = db["alert_leases"]

    async def ensure_indexes(self) -> None:
        await self._alerts.create_index([("tenant_id", ASCENDING), ("fired_at", DESCENDING),
                                         ("_id", DESCENDING)], name="tenant_fired")
        await self._alerts.create_index([("tenant_id", ASCENDING), ("rule_id", ASCENDING),
                                         ("state", ASCENDING)], name="tenant_rule_state")
        # Every index starts with the tenant (docs/service-conventions.md). ``due`` looks across
        # tenants and scans, like the backfill runners' claim: incidents are rare, one per
        # condition episode, not one per mention.

    async def fire(self, rule: AlertRule, finding: Finding, now: datetime,
                   notify: datetime) -> Alert | None:
        key = incident_key(rule.tenant_id, rule.id, finding.scope)
        cutoff = now - rule.cooldown
        alert = Alert(
            id="", tenant_id=rule.tenant_id, rule_id=rule.id, rule_name=rule.name,
            condition=rule.condition, key=key, scope=finding.scope, severity=rule.severity,
            state=FIRING, summary=finding.summary, fired_at=now,
            evidence_ids=tuple(finding.evidence_ids[:MAX_EVIDENCE]), filters=dict(finding.filters),
            channel_ids=rule.channel_ids, notify_fired_at=notify, summary_id=finding.summary_id)
        body = _alert_body(alert)
        try:
            # Matches only a key that is not firing and cooled down; otherwise the upsert collides
            # with the existing _id. Either way exactly one concurrent caller gets a document.
            # The alert rides along as ``pending`` in the same write: a crash before the insert
            # below leaves the intent next to the mark, and ``repair`` inserts it.
            state = await self._keys.find_one_and_update(
                {"_id": key, "firing": False, "last_fired_at": {"$lte": cutoff}},
                {"$set": {"firing": True, "last_fired_at": now, "tenant_id": rule.tenant_id,
                          "pending": body},
                 "$inc": {"seq": 1}},
                upsert=True, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            return None
        if state is None:
            return None
        seq = int(state["seq"])
        alert = replace(alert, id=alert_id(key, seq))
        try:
            await self._alerts.insert_one({"_id": alert.id, **body})
        except DuplicateKeyError:
            # ``repair`` completed this intent first; the incident is stored and notified once.
            return None
        await self._keys.update_one({"_id": key, "seq": seq}, {"$unset": {"pending": ""}})
        return alert

    async def repair(self, now: datetime, older_than: datetime) -> int:
        """Complete what a crashed ``fire`` or ``resolve`` left half done; the incidents stored.

        * a key marked firing with its alert still ``pending`` (marked before ``older_than``, so
          that a live ``fire`` is not overtaken): insert the alert (its id is fixed by the key's
          ``seq``, so a racing insert is a duplicate and harmless) and clear the intent;
        * a key still marked firing whose incident is resolved (a crash inside ``resolve``) or
          absent (lost before intents existed): unmark it, so the rule can fire again.
        """
        stored = 0
        async for k in self._keys.find({"pending": {"$exists": True},
                                        "last_fired_at": {"$lte": older_than}}):
            seq = int(k["seq"])
            aid = alert_id(k["_id"], seq)
            try:
                await self._alerts.insert_one({"_id": aid, **k["pending"]})
            except DuplicateKeyError:
                pass
            else:
                stored += 1
                logger.warning("alert %s of %s was marked but not stored (a crash?): stored now",
                               aid, k.get("tenant_id"))
            await self._keys.update_one({"_id": k["_id"], "seq": seq}, {"$unset": {"pending": ""}})
        async for k in self._keys.find({"firing": True, "pending": {"$exists": False},
                                        "last_fired_at": {"$lte": older_than}}):
            seq = int(k["seq"])
            doc = await self._alerts.find_one({"_id": alert_id(k["_id"], seq)}, {"state": 1})
            if doc is None or doc.get("state") == RESOLVED:
                await self._keys.update_one({"_id": k["_id"], "seq": seq, "firing": True},
                                            {"$set": {"firing": False}})
                logger.warning("incident key %s was left firing without a firing alert: released",
                               k["_id"])
        return stored

    async def add_evidence(self, tenant_id: str, alert_id: str, mention_ids: Sequence[str],
                           at: datetime) -> None:
        doc = await self._alerts.find_one({"_id": alert_id, "tenant_id": tenant_id}, {"evidence_ids": 1})
        if doc is None:
            return
        have = list(doc.get("evidence_ids") or ())
        new = [i for i in dict.fromkeys(mention_ids) if i not in have][:max(0, MAX_EVIDENCE - len(have))]
        update: Doc = {"$set": {"last_evidence_at": at}}
        if new:
            update["$addToSet"] = {"evidence_ids": {"$each": new}}
        await self._alerts.update_one({"_id": alert_id, "tenant_id": tenant_id, "state": FIRING}, update)

    async def firing(self, tenant_id: str, rule_id: str) -> list[Alert]:
        cursor = self._alerts.find({"tenant_id": tenant_id, "rule_id": rule_id, "state": FIRING})
        return [_alert(d) async for d in cursor]

    async def last_evidence_at(self, tenant_id: str, alert_id: str) -> datetime | None:
        doc = await self._alerts.find_one({"_id": alert_id, "tenant_id": tenant_id}, {"last_evidence_at": 1})
        return _aware(doc.get("last_evidence_at")) if doc else None

    async def resolve(self, alert: Alert, now: datetime, notify: datetime) -> bool:
        res = await self._alerts.update_one(
            {"_id": alert.id, "tenant_id": alert.tenant_id, "state": FIRING},
            {"$set": {"state": RESOLVED, "resolved_at": now, "notify_resolved_at": notify}})
        if not res.modified_count:
            return False
        await self._keys.update_one({"_id": alert.key}, {"$set": {"firing": False}})
        return True

    async def due(self, now: datetime, limit: int) -> list[tuple[Alert, str]]:
        out: list[tuple[Alert, str]] = []
        async for d in self._alerts.find({"fired_notified": False,
                                          "notify_fired_at": {"$lte": now}}).limit(limit):
            out.append((_alert(d), FIRING))
        async for d in self._alerts.find({"state": RESOLVED, "resolved_notified": False,
                                          "notify_resolved_at": {"$lte": now}}).limit(limit):
            out.append((_alert(d), RESOLVED))
        return out

    async def claim_notification(self, alert: Alert, state: str) -> bool:
        flag = "fired_notified" if state == FIRING else "resolved_notified"
        res = await self._alerts.update_one({"_id": alert.id, flag: False}, {"$set": {flag: True}})
        return bool(res.modified_count)

    async def get(self, tenant_id: str, alert_id: str) -> Alert | None:
        doc = await self._alerts.find_one({"_id": alert_id, "tenant_id": tenant_id})
        return _alert(doc) if doc else None

    async def list(self, tenant_id: str, *, state: str | None, rule_id: str | None,
                   start: datetime | None, end: datetime | None, after: str | None,
                   limit: int) -> AlertPage:
        flt: Doc = {"tenant_id": tenant_id}
        if state:
            flt["state"] = state
        if rule_id:
            flt["rule_id"] = rule_id
        fired: Doc = {}
        if start:
            fired["$gte"] = start
        if end:
            fired["$lt"] = end
        if fired:
            flt["fired_at"] = fired
        if after:
            at, aid = _parse_cursor(after)
            flt = {"$and": [flt, {"$or": [{"fired_at": {"$lt": at}},
                                          {"fired_at": at, "_id": {"$lt": aid}}]}]}
        cursor = self._alerts.find(flt).sort([("fired_at", DESCENDING), ("_id", DESCENDING)]).limit(limit + 1)
        alerts = [_alert(d) async for d in cursor]
        more = len(alerts) > limit
        alerts = alerts[:limit]
        return AlertPage(alerts, _cursor(alerts[-1]) if more and alerts else None)

    async def lease(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        return await take_lease(self._leases, name, owner, now, until)
