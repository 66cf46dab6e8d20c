"""Crash safety of alerts on the real store: a replica that dies between marking an incident's key
and storing its alert leaves an intent that the repair sweep (run by the next evaluation round, under
its lease) completes, with exactly one alert and one delivery per channel; a crash after the
notification was handed over but before it was marked sent does not deliver twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from dengar_insights.adapters.alert_bus import NullDispatcher
from dengar_insights.adapters.alerts import MongoAlertRuleStore, MongoAlertStore
from dengar_insights.adapters.deliveries import MongoChannelStore, MongoDeliveryStore
from dengar_insights.domain import alerts as al
from dengar_insights.domain.channels import WEBHOOK, Channel
from dengar_insights.service_layer.alerts import AlertEngine, AlertRules
from dengar_insights.service_layer.deliveries import Deliveries


class Crash(Exception):
    """Stands for the process dying at this point: nothing after it runs."""


class _CrashOn:
    """A collection whose ``method`` fails once, then behaves (the restarted process's view)."""

    def __init__(self, col: Any, method: str) -> None:
        self._col = col
        self._method = method
        self.crashed = False

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._col, name)
        if name != self._method or self.crashed:
            return real

        async def crash(*args: Any, **kwargs: Any) -> Any:
            self.crashed = True
            raise Crash(name)
        return crash


class _Share:
    async def findings(self, rule: al.AlertRule, now: datetime) -> list[al.Finding]:
        return [al.Finding("share", "negative share 70% of 50 mentions", ("m1",),
                           summary_id="Sentimen negatif 70% dari 50 sebutan")]


class _Publisher:
    def __init__(self) -> None:
        self.msg_ids: list[str] = []

    async def publish(self, tenant_id: str, event: Any, msg_id: str) -> None:
        self.msg_ids.append(msg_id)


async def _setup(mongo_client: Any, unique: str) -> tuple[Any, MongoAlertRuleStore, Deliveries,
                                                          MongoDeliveryStore, al.AlertRule]:
    db = mongo_client[f"{unique}_alert_repair"]
    rules = MongoAlertRuleStore(db, max_per_tenant=5)
    channels, deliveries = MongoChannelStore(db), MongoDeliveryStore(db)
    for s in (rules, MongoAlertStore(db), channels, deliveries):
        await s.ensure_indexes()
    now = datetime.now(UTC)
    await channels.insert(Channel(id="c1", tenant_id="acme", name="ops", kind=WEBHOOK,
                                  url="https://hooks.example.com/x", created_at=now, updated_at=now,
                                  secret="s3cret"))
    rule = await AlertRules(rules).create(al.AlertRule(
        id="", tenant_id="acme", name="negative share", condition=al.NEGATIVE_SHARE, threshold=0.5,
        min_volume=10, channel_ids=("c1",)))
    return db, rules, Deliveries(channels, deliveries), deliveries, rule


def _engine(rules: MongoAlertRuleStore, store: MongoAlertStore, dispatcher: Any, owner: str,
            shift: timedelta = timedelta(0), publisher: Any = None) -> AlertEngine:
    return AlertEngine(rules, store, _Share(), dispatcher, publisher or _Publisher(), owner=owner,
                       clock=lambda: datetime.now(UTC) + shift)


async def _all_alerts(store: MongoAlertStore) -> list[al.Alert]:
    page = await store.list("acme", state=None, rule_id=None, start=None, end=None, after=None, limit=50)
    return page.alerts


async def test_a_crash_between_marking_and_storing_is_repaired_once(mongo_client: Any,
                                                                    unique: str) -> None:
    db, rules, dispatcher, deliveries, rule = await _setup(mongo_client, unique)
    crashing = MongoAlertStore(db)
    crashing._alerts = _CrashOn(crashing._alerts, "insert_one")
    # Replica A marks the incident key, then dies before the alert is stored.
    await _engine(rules, crashing, dispatcher, "replica-a").evaluate()
    assert crashing._alerts.crashed
    store = MongoAlertStore(db)
    assert await _all_alerts(store) == []
    key = await db["alert_keys"].find_one({"_id": al.incident_key("acme", rule.id, "share")})
    assert key is not None and key["firing"] is True and "pending" in key
    assert await deliveries.list("acme") == []
    # Another replica right away neither fires again (the key is marked) nor overtakes the intent
    # (it may belong to a fire still in progress).
    assert await _engine(rules, store, dispatcher, "replica-b").evaluate() == 0
    assert await _all_alerts(store) == []
    # Once the leases of the dead replica lapsed, the next round (or a restart) completes it.
    later = timedelta(minutes=3)
    rounds = [_engine(rules, MongoAlertStore(db), dispatcher, f"replica-{i}", later) for i in "cde"]
    await asyncio.gather(*(e.evaluate() for e in rounds))
    await rounds[0].evaluate()
    [alert] = await _all_alerts(store)
    assert (alert.state, alert.rule_id, alert.evidence_ids) == (al.FIRING, rule.id, ("m1",))
    assert alert.summary_id == "Sentimen negatif 70% dari 50 sebutan" and alert.fired_notified
    [delivery] = await deliveries.list("acme")
    assert (delivery.key, delivery.channel_id) == (alert.notification_key(al.FIRING), "c1")
    key = await db["alert_keys"].find_one({"_id": alert.key})
    assert key is not None and "pending" not in key and key["seq"] == 1
    # The repaired incident resolves and fires again like any other.
    assert await store.resolve(alert, datetime.now(UTC) + later, datetime.now(UTC) + later)
    assert await store.repair(datetime.now(UTC) + later, datetime.now(UTC) + later) == 0


async def test_a_key_left_firing_by_a_crash_inside_resolve_is_released(mongo_client: Any,
                                                                       unique: str) -> None:
    db, _, _, _, rule = await _setup(mongo_client, unique)
    store = MongoAlertStore(db)
    now = datetime.now(UTC)
    opened = await store.fire(rule, al.Finding("share", "x"), now, now)
    assert opened is not None
    crashing = MongoAlertStore(db)
    crashing._keys = _CrashOn(crashing._keys, "update_one")
    try:
        await crashing.resolve(opened, now, now)
    except Crash:
        pass
    # The alert is resolved but its key still says firing: the condition could never fire again.
    assert await store.fire(rule, al.Finding("share", "x"), now + timedelta(hours=2), now) is None
    assert await store.repair(now, now - timedelta(minutes=1)) == 0  # too young: left alone
    assert await store.repair(now + timedelta(hours=2), now + timedelta(minutes=1)) == 0
    again = await store.fire(rule, al.Finding("share", "x"), now + timedelta(hours=2), now)
    assert again is not None and again.id != opened.id


async def test_a_crash_after_dispatch_before_marking_sent_delivers_once(mongo_client: Any,
                                                                         unique: str) -> None:
    db, rules, dispatcher, deliveries, _ = await _setup(mongo_client, unique)
    crashing = MongoAlertStore(db)
    crashing._alerts = _CrashOn(crashing._alerts, "update_one")
    publisher = _Publisher()
    try:
        # fire inserts (insert_one); the notification is handed over, then marking it sent dies.
        await _engine(rules, crashing, dispatcher, "replica-a", publisher=publisher).evaluate()
    except Crash:
        pass
    assert crashing._alerts.crashed
    assert len(await deliveries.list("acme")) == 1
    store = MongoAlertStore(db)
    [alert] = await _all_alerts(store)
    assert not alert.fired_notified
    # The restarted replica finds it still due and hands it over again: still one delivery.
    assert await _engine(rules, store, dispatcher, "replica-b", timedelta(minutes=3),
                         publisher).flush() == 1
    [delivery] = await deliveries.list("acme")
    assert delivery.key == alert.notification_key(al.FIRING)
    # Published twice under the same message id: JetStream drops the duplicate.
    assert set(publisher.msg_ids) == {alert.notification_key(al.FIRING)}
    [alert] = await _all_alerts(store)
    assert alert.fired_notified
    assert await _engine(rules, store, NullDispatcher(), "replica-c", timedelta(minutes=3)).flush() == 0
