"""Use cases of alert rules: CRUD, evaluation (at ingest and on a schedule) and notification.

Firing is decided by the store, not by this process: ``AlertStore.fire`` opens an incident only
if no incident of the same key is firing and the key's cooldown has passed, atomically, so two
replicas that find the same condition fire it once. The scheduled evaluation of a rule is also
guarded by a lease (``AlertStore.lease``), so replicas do not repeat each other's reads.

Notifications go out after the incident is stored: a firing (resp. resolving) notification is due
at once, or when the rule's quiet hours end; ``flush`` hands the due ones over and then marks them
sent; publishing and dispatching are idempotent by the notification key, so each channel gets one
delivery even when a crash or a racing replica makes a notification go through ``flush`` twice.
A crash between marking an incident's key and storing it is repaired by ``repair`` (see
adapters/alerts.py): the alert is written with the mark, as an intent, and completed later.
Publishing on NATS and dispatching to channels are separate and each failure is logged, never
raised: a failing channel must not block the pipeline or other alerts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from dengar_common.errors import InvalidArgument
from dengar_common.ids import is_valid_tenant_id
from dengar_common.query import CompiledQuery, MatchBudget
from dengar_insights.domain.alerts import (
    CAMPAIGN,
    EMERGING_TOPIC,
    FIRING,
    MAX_EVIDENCE,
    MENTION_MATCH,
    NEGATIVE_SHARE,
    RESOLVED,
    SPIKE,
    STATES,
    Alert,
    AlertNotFound,
    AlertRule,
    AlertRuleNotFound,
    Finding,
    check_rule,
    match_set,
    match_texts,
    new_rule_id,
    notify_at,
    title_texts,
)
from dengar_insights.domain.categories import mention_match_doc
from dengar_insights.domain.notification import ALERT_FIRING, ALERT_RESOLVED, Delivery, Notification
from dengar_insights.service_layer.ports import Dispatcher

logger = logging.getLogger(__name__)


def _utcnow() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _check_tenant(tenant_id: str) -> None:
    if not is_valid_tenant_id(tenant_id):
        raise InvalidArgument("invalid tenant_id", field="tenant_id")


# -- ports ----------------------------------------------------------------------------------------


class AlertRuleRepository(Protocol):
    async def insert(self, rule: AlertRule) -> None:
        """Store a new rule; ResourceExhausted beyond the per-tenant limit."""
        ...

    async def get(self, tenant_id: str, rule_id: str) -> AlertRule | None: ...

    async def replace(self, rule: AlertRule) -> bool:
        """Store the rule's definition; False when it is gone."""
        ...

    async def delete(self, tenant_id: str, rule_id: str) -> bool: ...

    async def version(self, tenant_id: str) -> int:
        """A number that moves whenever one of the tenant's rules changes."""
        ...

    async def enabled(self, conditions: Sequence[str]) -> list[AlertRule]:
        """Every tenant's enabled rules of these conditions (the scheduled evaluator's work)."""
        ...

    # Last: inside the class body this name shadows the builtin in later annotations.
    async def list(self, tenant_id: str) -> list[AlertRule]: ...


@dataclass(frozen=True)
class AlertPage:
    alerts: list[Alert]
    next_after: str | None


class AlertStore(Protocol):
    async def fire(self, rule: AlertRule, finding: Finding, now: datetime,
                   notify: datetime) -> Alert | None:
        """Open an incident of (rule, finding.scope) unless one is firing or the key's cooldown has
        not passed; None when it was not opened (by this call). Atomic across replicas."""
        ...

    async def add_evidence(self, tenant_id: str, alert_id: str, mention_ids: Sequence[str],
                           at: datetime) -> None:
        """Add mention ids (up to a cap, without repeats) to a firing incident's evidence."""
        ...

    async def firing(self, tenant_id: str, rule_id: str) -> list[Alert]: ...

    async def last_evidence_at(self, tenant_id: str, alert_id: str) -> datetime | None: ...

    async def resolve(self, alert: Alert, now: datetime, notify: datetime) -> bool:
        """Resolve a firing incident; False when it was not firing (another replica did it)."""
        ...

    async def repair(self, now: datetime, older_than: datetime) -> int:
        """Complete the incidents a crash left marked (de-dup key) but unstored, and release keys
        left firing without a firing incident; only what was marked before ``older_than``. The
        number of incidents stored. Safe to run concurrently with ``fire`` and with itself."""
        ...

    async def due(self, now: datetime, limit: int) -> list[tuple[Alert, str]]:
        """Incidents with a notification (firing or resolved) due at ``now`` and not yet sent."""
        ...

    async def claim_notification(self, alert: Alert, state: str) -> bool:
        """Mark the notification sent; True for the one caller that marked it. Called after the
        notification was handed over (publishing and dispatching are idempotent by its key), so
        that a crash before it leaves the notification due rather than lost."""
        ...

    async def get(self, tenant_id: str, alert_id: str) -> Alert | None: ...

    async def list(self, tenant_id: str, *, state: str | None, rule_id: str | None,
                   start: datetime | None, end: datetime | None, after: str | None,
                   limit: int) -> AlertPage: ...

    async def lease(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take or extend the lease ``name`` for ``owner`` until ``until``; False when another
        owner holds it."""
        ...


class AlertPublisher(Protocol):
    async def publish(self, tenant_id: str, event: Mapping[str, Any], msg_id: str) -> None:
        """Publish the event on ``dengar.alerts.<tenant>`` (de-duplicated by ``msg_id``)."""
        ...


class Conditions(Protocol):
    async def findings(self, rule: AlertRule, now: datetime) -> list[Finding]:
        """Where the rule's (scheduled) condition holds now."""
        ...


@runtime_checkable
class ChannelDirectory(Protocol):
    """What a Dispatcher may offer to check a rule's channel ids when the rule is saved (the
    Dispatcher port itself only refuses unknown ids when dispatching)."""

    async def unknown_channels(self, tenant_id: str, channel_ids: Sequence[str]) -> list[str]: ...


# -- rules CRUD ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleChanges:
    """Fields to change (AlertRule field names); None leaves a field as it is, except for
    ``quiet_hours`` (None: no quiet hours)."""

    values: Mapping[str, Any]


_CHANGEABLE = ("name", "condition", "severity", "query_id", "metric", "threshold", "window_minutes",
               "min_volume", "expression", "cooldown_s", "quiet_hours", "channel_ids", "enabled")


class AlertRules:
    """Create, read, change and delete a tenant's alert rules. ``on_change(tenant)`` runs after
    every write (the match cache of ``AlertEngine.invalidate``)."""

    def __init__(self, repo: AlertRuleRepository, *, channels: ChannelDirectory | None = None,
                 on_change: Callable[[str], None] = lambda tenant: None,
                 clock: Callable[[], datetime] = _utcnow, store: AlertStore | None = None) -> None:
        self._repo = repo
        self._store = store
        self._channels = channels
        self._on_change = on_change
        self._clock = clock

    async def _check_channels(self, rule: AlertRule) -> None:
        if not rule.channel_ids or self._channels is None:
            # Without a directory the ids are checked when dispatching (an unknown one is logged).
            return
        unknown = await self._channels.unknown_channels(rule.tenant_id, rule.channel_ids)
        if unknown:
            raise InvalidArgument(f"unknown channel ids: {', '.join(unknown)}", field="channel_ids")

    async def create(self, rule: AlertRule) -> AlertRule:
        _check_tenant(rule.tenant_id)
        now = self._clock()
        checked = check_rule(replace(rule, id=new_rule_id(), created_at=now, updated_at=now))
        await self._check_channels(checked)
        try:
            await self._repo.insert(checked)
        finally:
            self._on_change(checked.tenant_id)
        logger.info("tenant %s: alert rule %s (%s) created", checked.tenant_id, checked.id,
                    checked.condition)
        return checked

    async def get(self, tenant_id: str, rule_id: str) -> AlertRule:
        _check_tenant(tenant_id)
        found = await self._repo.get(tenant_id, rule_id) if rule_id else None
        if found is None:
            raise AlertRuleNotFound(rule_id)
        return found

    async def list(self, tenant_id: str) -> list[AlertRule]:
        _check_tenant(tenant_id)
        return await self._repo.list(tenant_id)

    async def update(self, tenant_id: str, rule_id: str, changes: RuleChanges) -> AlertRule:
        _check_tenant(tenant_id)
        unknown = set(changes.values) - set(_CHANGEABLE)
        if unknown:
            raise InvalidArgument(f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
        current = await self.get(tenant_id, rule_id)
        # None leaves a field as it is, except quiet_hours, where it clears them.
        values = {k: v for k, v in changes.values.items() if v is not None or k == "quiet_hours"}
        if "channel_ids" in values:
            values["channel_ids"] = tuple(values["channel_ids"])
        updated = check_rule(replace(current, **values, updated_at=self._clock()))
        await self._check_channels(updated)
        try:
            if not await self._repo.replace(updated):
                raise AlertRuleNotFound(rule_id)
        finally:
            self._on_change(tenant_id)
        if not updated.enabled:
            await self._retire(tenant_id, rule_id)
        return updated

    async def _retire(self, tenant_id: str, rule_id: str) -> None:
        """Resolve the firing incidents of a rule that no longer runs (nothing else would)."""
        if self._store is None:
            return
        now = self._clock()
        for alert in await self._store.firing(tenant_id, rule_id):
            await self._store.resolve(alert, now, now)

    async def delete(self, tenant_id: str, rule_id: str) -> None:
        _check_tenant(tenant_id)
        try:
            if not rule_id or not await self._repo.delete(tenant_id, rule_id):
                raise AlertRuleNotFound(rule_id)
        finally:
            self._on_change(tenant_id)
        await self._retire(tenant_id, rule_id)


# -- history ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertDetail:
    alert: Alert
    deliveries: list[Delivery]


class AlertHistory:
    MAX_LIMIT = 100

    def __init__(self, store: AlertStore, dispatcher: Dispatcher) -> None:
        self._store = store
        self._dispatcher = dispatcher

    async def list(self, tenant_id: str, *, state: str | None = None, rule_id: str | None = None,
                   start: datetime | None = None, end: datetime | None = None,
                   after: str | None = None, limit: int = 50) -> AlertPage:
        _check_tenant(tenant_id)
        if state and state not in STATES:
            raise InvalidArgument(f"state must be one of {', '.join(STATES)}", field="state")
        if not 1 <= limit <= self.MAX_LIMIT:
            raise InvalidArgument(f"limit must be 1-{self.MAX_LIMIT}", field="limit")
        if start and end and end <= start:
            raise InvalidArgument("to must be after from", field="to")
        return await self._store.list(tenant_id, state=state or None, rule_id=rule_id or None,
                                      start=start, end=end, after=after or None, limit=limit)

    async def get(self, tenant_id: str, alert_id: str) -> AlertDetail:
        _check_tenant(tenant_id)
        alert = await self._store.get(tenant_id, alert_id) if alert_id else None
        if alert is None:
            raise AlertNotFound(alert_id)
        deliveries: list[Delivery] = []
        for state in (FIRING, RESOLVED):
            try:
                deliveries += await self._dispatcher.deliveries(tenant_id, alert.notification_key(state))
            except Exception as exc:  # the history stays readable while deliveries are not
                logger.warning("deliveries of alert %s unavailable: %s", alert.id, exc)
        return AlertDetail(alert, deliveries)


# -- evaluation ------------------------------------------------------------------------------------


def alert_event(alert: Alert, state: str) -> dict[str, Any]:
    """The JSON document of an alert's firing/resolving (NATS event and webhook payload)."""
    def iso(t: datetime | None) -> str | None:
        return t.astimezone(UTC).isoformat().replace("+00:00", "Z") if t else None

    return {"type": ALERT_FIRING if state == FIRING else ALERT_RESOLVED, "id": alert.id,
            "tenant_id": alert.tenant_id, "rule_id": alert.rule_id, "rule_name": alert.rule_name,
            "condition": alert.condition, "scope": alert.scope, "severity": alert.severity,
            "state": state, "summary": alert.summary, "fired_at": iso(alert.fired_at),
            "resolved_at": iso(alert.resolved_at), "evidence_ids": list(alert.evidence_ids),
            "filters": dict(alert.filters)}


def notification_of(alert: Alert, state: str) -> Notification:
    firing = state == FIRING
    en, id_ = title_texts(alert.rule_name, firing)
    return Notification(
        tenant_id=alert.tenant_id, key=alert.notification_key(state),
        kind=ALERT_FIRING if firing else ALERT_RESOLVED, title={"en": en, "id": id_},
        # An incident stored before summaries had an Indonesian text shows the English one.
        text={"en": alert.summary, "id": alert.summary_id or alert.summary},
        payload=alert_event(alert, state),
        created_at=alert.resolved_at if not firing and alert.resolved_at else alert.fired_at,
        severity=alert.severity,
        links={"mentions": "/v1/mentions?" + "&".join(f"{k}={v}" for k, v in alert.filters.items()),
               "alert": f"/v1/alerts/{alert.id}"})


def _match_rules(rules: Sequence[tuple[AlertRule, CompiledQuery]], docs: Sequence[Mapping[str, Any]]
                 ) -> dict[str, tuple[AlertRule, list[str]]]:
    """Rule id -> (rule, ids of the mentions it matches). One matching budget per mention, shared
    by the tenant's rules (a rule whose check runs out of it counts as not matched, logged)."""
    hits: dict[str, tuple[AlertRule, list[str]]] = {}
    for doc in docs:
        match_doc = mention_match_doc(doc)
        budget = MatchBudget()
        for rule, query in rules:
            if query.matches(match_doc, budget):
                hits.setdefault(rule.id, (rule, []))[1].append(str(doc["_id"]))
    return hits


@dataclass(frozen=True)
class _Matchers:
    version: int
    loaded: float
    rules: list[tuple[AlertRule, CompiledQuery]]


class AlertEngine:
    """Evaluates rules and sends the notifications of their incidents."""

    def __init__(self, rules: AlertRuleRepository, store: AlertStore, conditions: Conditions,
                 dispatcher: Dispatcher, publisher: AlertPublisher, *, owner: str,
                 clock: Callable[[], datetime] = _utcnow, ttl_s: float = 5.0,
                 lease_s: float = 120.0, flush_limit: int = 200,
                 repair_after_s: float = 60.0) -> None:
        self._rules = rules
        self._store = store
        self._conditions = conditions
        self._dispatcher = dispatcher
        self._publisher = publisher
        self._owner = owner
        self._clock = clock
        self._ttl = ttl_s
        self._lease = timedelta(seconds=lease_s)
        self._flush_limit = flush_limit
        # Longer than a fire takes: younger intents may still be completed by their own fire.
        self._repair_after = timedelta(seconds=repair_after_s)
        self._matchers: dict[str, _Matchers] = {}

    def invalidate(self, tenant_id: str) -> None:
        self._matchers.pop(tenant_id, None)

    async def _matcher(self, tenant_id: str) -> list[tuple[AlertRule, CompiledQuery]]:
        cached = self._matchers.get(tenant_id)
        now = time.monotonic()
        if cached is not None and now - cached.loaded < self._ttl:
            return cached.rules
        version = await self._rules.version(tenant_id)
        if cached is not None and cached.version == version:
            self._matchers[tenant_id] = replace(cached, loaded=now)
            return cached.rules
        rules = match_set(await self._rules.list(tenant_id))
        self._matchers[tenant_id] = _Matchers(version, now, rules)
        return rules

    # -- at ingest --------------------------------------------------------------------------------

    async def on_mentions(self, tenant_id: str, docs: Sequence[Mapping[str, Any]]) -> int:
        """Check newly stored mentions against the tenant's mention_match rules; the number of
        incidents fired. Never raises: alerting must not hold up the ingest."""
        try:
            rules = await self._matcher(tenant_id)
            if not rules or not docs:
                return 0
            # Matching is CPU-bound (bounded per post by its budget): off the event loop.
            hits = await asyncio.to_thread(_match_rules, rules, docs)
            fired = 0
            for rule, ids in hits.values():
                fired += await self._match_hit(rule, ids)
            if fired:
                await self.flush()
            return fired
        except Exception:
            logger.exception("alert evaluation of %d mentions of %s failed", len(docs), tenant_id)
            return 0

    async def _match_hit(self, rule: AlertRule, ids: list[str]) -> int:
        now = self._clock()
        evidence = tuple(ids[:MAX_EVIDENCE])
        en, id_ = match_texts(len(ids), rule.expression)
        finding = Finding(scope="match", summary=en, summary_id=id_, evidence_ids=evidence,
                          filters={"q": rule.expression})
        for open_alert in await self._store.firing(rule.tenant_id, rule.id):
            await self._store.add_evidence(rule.tenant_id, open_alert.id, ids, now)
            return 0
        alert = await self._store.fire(rule, finding, now, notify_at(rule, now))
        if alert is None:
            # Another replica fired it meanwhile (or the cooldown holds): its incident gets these too.
            for open_alert in await self._store.firing(rule.tenant_id, rule.id):
                await self._store.add_evidence(rule.tenant_id, open_alert.id, ids, now)
            return 0
        logger.info("tenant %s: alert %s fired (rule %s)", rule.tenant_id, alert.id, rule.id)
        return 1

    # -- on schedule ------------------------------------------------------------------------------

    async def evaluate(self) -> int:
        """One round: every enabled rule whose lease this replica gets; then the due notifications.
        Returns the number of incidents fired or resolved."""
        changed = await self.repair()
        rules = await self._rules.enabled((SPIKE, NEGATIVE_SHARE, EMERGING_TOPIC, CAMPAIGN,
                                           MENTION_MATCH))
        for rule in rules:
            now = self._clock()
            if not await self._store.lease(f"alert-rule:{rule.id}", self._owner, now, now + self._lease):
                continue
            try:
                changed += await self.evaluate_rule(rule, now)
            except Exception:
                logger.exception("evaluating alert rule %s of %s failed", rule.id, rule.tenant_id)
        await self.flush()
        return changed

    async def repair(self) -> int:
        """Complete incidents a crash left between marking the key and storing the alert (their
        notifications then go out with the next ``flush``). One replica at a time, under a lease;
        the first scheduled round runs it at start-up. The number of incidents completed."""
        now = self._clock()
        try:
            if not await self._store.lease("alert-repair", self._owner, now, now + self._lease):
                return 0
            repaired = await self._store.repair(now, now - self._repair_after)
        except Exception:
            logger.exception("repairing alert incidents failed")
            return 0
        if repaired:
            logger.warning("%d alert incident(s) left half-fired by a crash were completed", repaired)
        return repaired

    async def evaluate_rule(self, rule: AlertRule, now: datetime) -> int:
        changed = 0
        firing = await self._store.firing(rule.tenant_id, rule.id)
        if rule.condition == MENTION_MATCH:
            # A match incident clears once its window passed without a new matching mention.
            for alert in firing:
                last = await self._store.last_evidence_at(rule.tenant_id, alert.id) or alert.fired_at
                if now - last >= rule.window:
                    changed += await self._resolve(rule, alert, now)
            return changed
        findings = await self._conditions.findings(rule, now)
        scopes = {f.scope for f in findings}
        for alert in firing:
            if alert.scope not in scopes:
                changed += await self._resolve(rule, alert, now)
        open_scopes = {a.scope for a in firing}
        for f in findings:
            if f.scope in open_scopes:
                continue
            opened = await self._store.fire(rule, f, now, notify_at(rule, now))
            if opened is not None:
                logger.info("tenant %s: alert %s fired (rule %s, %s)", rule.tenant_id, opened.id,
                            rule.id, f.scope)
                changed += 1
        return changed

    async def _resolve(self, rule: AlertRule, alert: Alert, now: datetime) -> int:
        if await self._store.resolve(alert, now, notify_at(rule, now)):
            logger.info("tenant %s: alert %s resolved", rule.tenant_id, alert.id)
            return 1
        return 0

    # -- notifications ----------------------------------------------------------------------------

    async def flush(self) -> int:
        """Send the due notifications; the number sent."""
        sent = 0
        for alert, state in await self._store.due(self._clock(), self._flush_limit):
            # Hand over first, mark after: publishing (msg id) and dispatching (one delivery per
            # key and channel) are idempotent, so a replica racing this one, or a rerun after a
            # crash between the two, still yields one delivery, while marking first would lose it.
            await self._notify(alert, state)
            if await self._store.claim_notification(alert, state):
                sent += 1
        return sent

    async def _notify(self, alert: Alert, state: str) -> None:
        event = alert_event(alert, state)
        msg_id = alert.notification_key(state)

        async def publish() -> None:
            try:
                await self._publisher.publish(alert.tenant_id, event, msg_id)
            except Exception:
                logger.exception("publishing alert %s (%s) failed", alert.id, state)

        async def dispatch() -> None:
            if not alert.channel_ids:
                return
            try:
                await self._dispatcher.dispatch(notification_of(alert, state), alert.channel_ids)
            except Exception:
                logger.exception("dispatching alert %s (%s) failed", alert.id, state)

        await asyncio.gather(publish(), dispatch())


__all__ = ["AlertDetail", "AlertEngine", "AlertHistory", "AlertPage", "AlertPublisher",
           "AlertRuleRepository", "AlertRules", "AlertStore", "ChannelDirectory", "Conditions",
           "RuleChanges", "alert_event", "notification_of"]
