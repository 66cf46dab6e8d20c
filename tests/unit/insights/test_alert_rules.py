"""Alert rules: validation, quiet hours across time zones and DST, each condition's evaluation,
cooldown, de-duplication, resolving, and a failing dispatcher/publisher not blocking others."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dengar_common.errors import InvalidArgument
from dengar_insights.domain import alerts as al
from dengar_insights.domain.notification import Delivery, Notification
from dengar_insights.service_layer.alerts import (
    AlertEngine,
    AlertHistory,
    AlertPage,
    AlertRules,
    RuleChanges,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def rule(**kw: Any) -> al.AlertRule:
    base: dict[str, Any] = {"id": "ar_1", "tenant_id": "acme", "name": "crisis",
                            "condition": al.MENTION_MATCH, "expression": "boikot OR penipuan",
                            "cooldown_s": 600, "window_minutes": 30}
    base.update(kw)
    return al.AlertRule(**base)


# -- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": " "}, "name"),
    ({"condition": "bogus"}, "condition"),
    ({"severity": "huge"}, "severity"),
    ({"cooldown_s": -1}, "cooldown_s"),
    ({"window_minutes": 1}, "window_minutes"),
    ({"expression": ""}, "expression"),
    ({"expression": "boikot AND ("}, "expression"),
    ({"expression": "NOT promo"}, "expression"),
    ({"condition": al.NEGATIVE_SHARE, "expression": "", "threshold": 1.5}, "threshold"),
    ({"condition": al.SPIKE, "expression": "", "metric": "likes"}, "metric"),
    ({"condition": al.SPIKE, "expression": "x"}, "expression"),
    ({"channel_ids": ("bad id!",)}, "channel_ids"),
    ({"quiet_hours": al.QuietHours("25:00", "07:00")}, "quiet_hours.start"),
    ({"quiet_hours": al.QuietHours("22:00", "07:00", "Mars/Base")}, "time_zone"),
])
def test_invalid_rules_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        al.check_rule(rule(**changes))
    assert e.value.field == field


def test_valid_rule_is_trimmed() -> None:
    r = al.check_rule(rule(name="  crisis ", expression=" boikot ", channel_ids=("c1", "c1")))
    assert (r.name, r.expression, r.channel_ids) == ("crisis", "boikot", ("c1",))


# -- quiet hours --------------------------------------------------------------------------------------


def test_quiet_hours_span_midnight_in_the_tenant_zone() -> None:
    qh = al.QuietHours("22:00", "07:00", "Asia/Jakarta")  # UTC+7
    assert qh.contains(datetime(2026, 3, 1, 15, 30, tzinfo=UTC))  # 22:30 local
    assert qh.contains(datetime(2026, 3, 1, 23, 59, tzinfo=UTC))  # 06:59 local
    assert not qh.contains(datetime(2026, 3, 2, 0, 0, tzinfo=UTC))  # 07:00 local
    assert qh.ends_after(datetime(2026, 3, 1, 15, 30, tzinfo=UTC)) == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    outside = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
    assert qh.ends_after(outside) == outside


def test_quiet_hours_follow_dst() -> None:
    qh = al.QuietHours("22:00", "07:00", "Europe/Amsterdam")
    # The night of the spring-forward (29 March 2026): 07:00 CEST is 05:00 UTC, not 06:00.
    held = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert qh.contains(held)
    assert qh.ends_after(held) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    # In winter 07:00 CET is 06:00 UTC.
    assert qh.ends_after(datetime(2026, 1, 10, 23, 0, tzinfo=UTC)) == datetime(2026, 1, 11, 6, 0, tzinfo=UTC)
    # Fall-back night (25 October 2026): 07:00 CET is 06:00 UTC.
    fall = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert qh.ends_after(fall) == datetime(2026, 10, 25, 6, 0, tzinfo=UTC)


def test_equal_quiet_bounds_hold_nothing() -> None:
    assert not al.QuietHours("08:00", "08:00").contains(T0)


# -- negative share ------------------------------------------------------------------------------------


def test_negative_share_needs_threshold_and_min_volume() -> None:
    r = rule(condition=al.NEGATIVE_SHARE, expression="", threshold=0.4, min_volume=10, query_id="q1")
    assert al.negative_share_finding(r, 9, 9, T0, T0) is None  # too few mentions
    assert al.negative_share_finding(r, 100, 40, T0, T0) is None  # not above the threshold
    f = al.negative_share_finding(r, 100, 41, T0 - timedelta(hours=1), T0)
    assert f is not None and f.scope == "share"
    assert f.filters["sentiment"] == "negative" and f.filters["query_id"] == "q1"


# -- fakes ------------------------------------------------------------------------------------------


class FakeRules:
    def __init__(self, rules: Sequence[al.AlertRule] = (), limit: int = 3) -> None:
        self.rules = {r.id: r for r in rules}
        self.v = 0
        self.limit = limit
        self.version_reads = 0

    async def insert(self, rule: al.AlertRule) -> None:
        from dengar_common.errors import ResourceExhausted
        if sum(r.tenant_id == rule.tenant_id for r in self.rules.values()) >= self.limit:
            raise ResourceExhausted("limit")
        self.rules[rule.id] = rule
        self.v += 1

    async def get(self, tenant_id: str, rule_id: str) -> al.AlertRule | None:
        r = self.rules.get(rule_id)
        return r if r and r.tenant_id == tenant_id else None

    async def list(self, tenant_id: str) -> list[al.AlertRule]:
        return [r for r in self.rules.values() if r.tenant_id == tenant_id]

    async def replace(self, rule: al.AlertRule) -> bool:
        if rule.id not in self.rules:
            return False
        self.rules[rule.id] = rule
        self.v += 1
        return True

    async def delete(self, tenant_id: str, rule_id: str) -> bool:
        if await self.get(tenant_id, rule_id) is None:
            return False
        del self.rules[rule_id]
        self.v += 1
        return True

    async def version(self, tenant_id: str) -> int:
        self.version_reads += 1
        return self.v

    async def enabled(self, conditions: Sequence[str]) -> list[al.AlertRule]:
        return [r for r in self.rules.values() if r.enabled and r.condition in conditions]


class FakeStore:
    """The semantics of MongoAlertStore in memory (the integration tests check the real one)."""

    def __init__(self) -> None:
        self.alerts: dict[str, al.Alert] = {}
        self.keys: dict[str, dict[str, Any]] = {}
        self.last_evidence: dict[str, datetime] = {}
        self.leases: dict[str, tuple[str, datetime]] = {}

    async def fire(self, rule: al.AlertRule, finding: al.Finding, now: datetime,
                   notify: datetime) -> al.Alert | None:
        key = al.incident_key(rule.tenant_id, rule.id, finding.scope)
        st = self.keys.get(key)
        if st is not None and (st["firing"] or not al.cooled_down(st["last"], now, rule.cooldown)):
            return None
        seq = (st["seq"] if st else 0) + 1
        self.keys[key] = {"firing": True, "last": now, "seq": seq}
        a = al.Alert(id=al.alert_id(key, seq), tenant_id=rule.tenant_id, rule_id=rule.id,
                     rule_name=rule.name, condition=rule.condition, key=key, scope=finding.scope,
                     severity=rule.severity, state=al.FIRING, summary=finding.summary, fired_at=now,
                     evidence_ids=finding.evidence_ids, filters=finding.filters,
                     channel_ids=rule.channel_ids, notify_fired_at=notify)
        self.alerts[a.id] = a
        self.last_evidence[a.id] = now
        return a

    async def add_evidence(self, tenant_id: str, alert_id: str, ids: Sequence[str], at: datetime) -> None:
        a = self.alerts[alert_id]
        self.alerts[alert_id] = replace(a, evidence_ids=tuple(dict.fromkeys((*a.evidence_ids, *ids))))
        self.last_evidence[alert_id] = at

    async def firing(self, tenant_id: str, rule_id: str) -> list[al.Alert]:
        return [a for a in self.alerts.values()
                if a.tenant_id == tenant_id and a.rule_id == rule_id and a.state == al.FIRING]

    async def last_evidence_at(self, tenant_id: str, alert_id: str) -> datetime | None:
        return self.last_evidence.get(alert_id)

    async def resolve(self, alert: al.Alert, now: datetime, notify: datetime) -> bool:
        a = self.alerts[alert.id]
        if a.state != al.FIRING:
            return False
        self.alerts[a.id] = replace(a, state=al.RESOLVED, resolved_at=now, notify_resolved_at=notify)
        self.keys[a.key]["firing"] = False
        return True

    async def repair(self, now: datetime, older_than: datetime) -> int:
        return 0  # fire is atomic here: nothing is ever left half done

    async def due(self, now: datetime, limit: int) -> list[tuple[al.Alert, str]]:
        out = [(a, al.FIRING) for a in self.alerts.values()
               if not a.fired_notified and a.notify_fired_at and a.notify_fired_at <= now]
        out += [(a, al.RESOLVED) for a in self.alerts.values() if a.state == al.RESOLVED
                and not a.resolved_notified and a.notify_resolved_at and a.notify_resolved_at <= now]
        return out[:limit]

    async def claim_notification(self, alert: al.Alert, state: str) -> bool:
        a = self.alerts[alert.id]
        flag = "fired_notified" if state == al.FIRING else "resolved_notified"
        if getattr(a, flag):
            return False
        self.alerts[a.id] = replace(a, **{flag: True})
        return True

    async def get(self, tenant_id: str, alert_id: str) -> al.Alert | None:
        a = self.alerts.get(alert_id)
        return a if a and a.tenant_id == tenant_id else None

    async def list(self, tenant_id: str, **kw: Any) -> AlertPage:
        return AlertPage([a for a in self.alerts.values() if a.tenant_id == tenant_id], None)

    async def lease(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        held = self.leases.get(name)
        if held and held[0] != owner and held[1] > now:
            return False
        self.leases[name] = (owner, until)
        return True


class RecordingDispatcher:
    def __init__(self, fail: bool = False, known: Sequence[str] = ("c1", "c2")) -> None:
        self.sent: list[tuple[Notification, tuple[str, ...]]] = []
        self.fail = fail
        self.known = set(known)

    async def dispatch(self, notification: Notification, channel_ids: Sequence[str]) -> list[str]:
        if self.fail:
            raise RuntimeError("smtp down")
        self.sent.append((notification, tuple(channel_ids)))
        return [f"d{len(self.sent)}"]

    async def deliveries(self, tenant_id: str, key: str) -> list[Delivery]:
        return [Delivery(id="d1", tenant_id=tenant_id, key=key, channel_id="c1", state="delivered")]

    async def unknown_channels(self, tenant_id: str, channel_ids: Sequence[str]) -> list[str]:
        return [c for c in channel_ids if c not in self.known]


class RecordingPublisher:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[tuple[str, Mapping[str, Any]]] = []
        self.fail = fail

    async def publish(self, tenant_id: str, event: Mapping[str, Any], msg_id: str) -> None:
        if self.fail:
            raise RuntimeError("nats down")
        self.events.append((tenant_id, event))


class FakeConditions:
    def __init__(self) -> None:
        self.found: list[al.Finding] = []

    async def findings(self, rule: al.AlertRule, now: datetime) -> list[al.Finding]:
        return list(self.found)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def engine(rules: FakeRules, store: FakeStore | None = None, *, dispatcher: RecordingDispatcher | None = None,
           publisher: RecordingPublisher | None = None, conditions: FakeConditions | None = None,
           clock: Clock | None = None, owner: str = "r1") -> AlertEngine:
    return AlertEngine(rules, store or FakeStore(), conditions or FakeConditions(),
                       dispatcher or RecordingDispatcher(), publisher or RecordingPublisher(),
                       owner=owner, clock=clock or Clock(), ttl_s=0.0)


def mention(mid: str, text: str) -> dict[str, Any]:
    return {"_id": mid, "text": text, "platform": "x", "author": {"handle": "a"}}


# -- mention_match at ingest ---------------------------------------------------------------------------


async def test_matching_mention_fires_once_and_adds_evidence() -> None:
    rules = FakeRules([rule(channel_ids=("c1",))])
    store, disp, pub = FakeStore(), RecordingDispatcher(), RecordingPublisher()
    eng = engine(rules, store, dispatcher=disp, publisher=pub)
    assert await eng.on_mentions("acme", [mention("m1", "ayo boikot sekarang"), mention("m2", "halo")]) == 1
    assert await eng.on_mentions("acme", [mention("m3", "ini penipuan")]) == 0
    assert await eng.on_mentions("acme", [mention("m1", "ayo boikot sekarang")]) == 0  # redelivered
    [alert] = store.alerts.values()
    assert alert.evidence_ids == ("m1", "m3") and alert.state == al.FIRING
    assert len(pub.events) == 1 and pub.events[0][1]["type"] == "alert.firing"
    [(note, channels)] = disp.sent
    assert channels == ("c1",) and note.key == f"alert:{alert.id}:firing" and note.severity == "warning"
    # Another tenant's mentions never touch acme's rules.
    assert await eng.on_mentions("other", [mention("x1", "boikot")]) == 0


async def test_match_resolves_after_a_quiet_window_and_cooldown_holds_refire() -> None:
    clock = Clock()
    rules = FakeRules([rule(cooldown_s=3600, window_minutes=30)])
    store, pub = FakeStore(), RecordingPublisher()
    eng = engine(rules, store, publisher=pub, clock=clock)
    await eng.on_mentions("acme", [mention("m1", "boikot")])
    clock.now = T0 + timedelta(minutes=10)
    assert await eng.evaluate() == 0  # still inside the window
    clock.now = T0 + timedelta(minutes=31)
    assert await eng.evaluate() == 1
    assert [e["state"] for _, e in pub.events] == ["firing", "resolved"]
    clock.now = T0 + timedelta(minutes=40)
    assert await eng.on_mentions("acme", [mention("m2", "boikot")]) == 0  # cooling down
    clock.now = T0 + timedelta(minutes=61)
    assert await eng.on_mentions("acme", [mention("m3", "boikot")]) == 1
    assert len(store.alerts) == 2


async def test_rule_changes_reach_the_match_cache() -> None:
    rules = FakeRules([rule()])
    store = FakeStore()
    eng = engine(rules, store)
    manager = AlertRules(rules, channels=RecordingDispatcher(), on_change=eng.invalidate)
    assert await eng.on_mentions("acme", [mention("m1", "banjir")]) == 0
    await manager.update("acme", "ar_1", RuleChanges({"expression": "banjir"}))
    assert await eng.on_mentions("acme", [mention("m2", "banjir")]) == 1
    await manager.update("acme", "ar_1", RuleChanges({"enabled": False}))
    await store.resolve(next(iter(store.alerts.values())), T0, T0)
    assert await eng.on_mentions("acme", [mention("m3", "banjir")]) == 0


# -- scheduled conditions ------------------------------------------------------------------------------


async def test_scheduled_condition_fires_per_scope_and_resolves_when_it_clears() -> None:
    clock = Clock()
    conds = FakeConditions()
    rules = FakeRules([rule(condition=al.SPIKE, expression="", metric="negative", cooldown_s=0)])
    store, pub = FakeStore(), RecordingPublisher()
    eng = engine(rules, store, conditions=conds, publisher=pub, clock=clock)
    conds.found = [al.Finding("spike:negative:2026-03-01T11:00:00Z", "spike", ("m1",), {"from": "x"})]
    assert await eng.evaluate() == 1
    assert await eng.evaluate() == 0  # the same incident keeps firing, not a new one
    conds.found.append(al.Finding("spike:negative:2026-03-01T12:00:00Z", "spike 2"))
    assert await eng.evaluate() == 1
    conds.found = []
    clock.now = T0 + timedelta(minutes=5)
    assert await eng.evaluate() == 2
    states = sorted(e["state"] for _, e in pub.events)
    assert states == ["firing", "firing", "resolved", "resolved"]
    assert all(a.state == al.RESOLVED for a in store.alerts.values())


async def test_two_replicas_fire_once() -> None:
    conds = FakeConditions()
    conds.found = [al.Finding("share", "negative share 60%")]
    rules = FakeRules([rule(condition=al.NEGATIVE_SHARE, expression="", threshold=0.5)])
    store, pub = FakeStore(), RecordingPublisher()
    a = engine(rules, store, conditions=conds, publisher=pub, owner="a")
    b = engine(rules, store, conditions=conds, publisher=pub, owner="b")
    assert await a.evaluate() + await b.evaluate() == 1
    assert len(pub.events) == 1


async def test_quiet_hours_hold_the_notification_until_they_end() -> None:
    clock = Clock()
    clock.now = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # 23:00 in Jakarta
    rules = FakeRules([rule(quiet_hours=al.QuietHours("22:00", "07:00", "Asia/Jakarta"))])
    store, pub = FakeStore(), RecordingPublisher()
    eng = engine(rules, store, publisher=pub, clock=clock)
    assert await eng.on_mentions("acme", [mention("m1", "boikot")]) == 1
    assert pub.events == []  # held
    clock.now = datetime(2026, 3, 1, 23, 59, tzinfo=UTC)
    assert await eng.flush() == 0
    clock.now = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    assert await eng.flush() == 1
    assert await eng.flush() == 0
    assert len(pub.events) == 1


async def test_failing_dispatcher_and_publisher_do_not_block_other_alerts() -> None:
    rules = FakeRules([rule(id="ar_1", channel_ids=("c1",)), rule(id="ar_2", expression="banjir")])
    store = FakeStore()
    eng = engine(rules, store, dispatcher=RecordingDispatcher(fail=True),
                 publisher=RecordingPublisher(fail=True))
    assert await eng.on_mentions("acme", [mention("m1", "boikot banjir")]) == 2
    assert all(a.fired_notified for a in store.alerts.values())


# -- CRUD and history ----------------------------------------------------------------------------------


async def test_crud_validates_channels_and_keeps_tenants_apart() -> None:
    rules = FakeRules(limit=2)
    manager = AlertRules(rules, channels=RecordingDispatcher())
    created = await manager.create(rule(channel_ids=("c1",)))
    assert created.id.startswith("ar_") and created.created_at is not None
    with pytest.raises(InvalidArgument) as e:
        await manager.create(rule(channel_ids=("nope",)))
    assert e.value.field == "channel_ids"
    with pytest.raises(InvalidArgument) as e:
        await manager.update("acme", created.id, RuleChanges({"severity": "loud"}))
    assert e.value.field == "severity"
    from dengar_common.errors import NotFound, ResourceExhausted
    with pytest.raises(NotFound):
        await manager.get("other", created.id)
    with pytest.raises(NotFound):
        await manager.delete("other", created.id)
    await manager.create(rule())
    with pytest.raises(ResourceExhausted):
        await manager.create(rule())
    await manager.delete("acme", created.id)
    assert [r.id for r in await manager.list("acme")] != [created.id]


async def test_the_null_dispatcher_knows_no_channels() -> None:
    from dengar_insights.adapters.alert_bus import NullDispatcher

    with pytest.raises(InvalidArgument) as e:
        await AlertRules(FakeRules(), channels=NullDispatcher()).create(rule(channel_ids=("c1",)))
    assert e.value.field == "channel_ids"
    assert (await AlertRules(FakeRules(), channels=NullDispatcher()).create(rule())).channel_ids == ()


async def test_history_has_deliveries_and_is_per_tenant() -> None:
    rules = FakeRules([rule(channel_ids=("c1",))])
    store = FakeStore()
    await engine(rules, store).on_mentions("acme", [mention("m1", "boikot")])
    history = AlertHistory(store, RecordingDispatcher())
    [a] = (await history.list("acme")).alerts
    detail = await history.get("acme", a.id)
    assert detail.alert.evidence_ids == ("m1",) and len(detail.deliveries) == 2
    from dengar_common.errors import NotFound
    with pytest.raises(NotFound):
        await history.get("other", a.id)
    with pytest.raises(InvalidArgument):
        await history.list("acme", state="open")


async def test_deleting_or_disabling_a_rule_resolves_its_incidents() -> None:
    rules = FakeRules([rule(id="ar_1"), rule(id="ar_2", expression="banjir")])
    store = FakeStore()
    eng = engine(rules, store)
    manager = AlertRules(rules, store=store, on_change=eng.invalidate, clock=Clock())
    assert await eng.on_mentions("acme", [mention("m1", "boikot banjir")]) == 2
    await manager.update("acme", "ar_1", RuleChanges({"enabled": False}))
    await manager.delete("acme", "ar_2")
    assert {a.state for a in store.alerts.values()} == {al.RESOLVED}
    assert len(await store.due(T0, 10)) == 2  # both resolutions are still told


# -- scheduled conditions from the real engines on planted data ---------------------------------------


async def test_spike_and_campaign_conditions_come_from_the_engines() -> None:
    from test_insight_engine import SPIKE_AT, planted_store
    from test_insight_engine import T0 as DAY0

    from dengar_insights.service_layer.alert_conditions import EngineConditions
    from dengar_insights.service_layer.insight_engine import InsightEngine
    from dengar_insights.service_layer.voices import Voices

    store = planted_store(coordinated=True)
    # The engine test's Store serves every read the voices need for campaigns (mention samples).
    voices = Voices(store, store)  # type: ignore[arg-type]  # a partial VoiceReads double
    conditions = EngineConditions(InsightEngine(store, store), store, None, voices)
    spike_rule = rule(condition=al.SPIKE, expression="", metric="negative", window_minutes=120)
    [found] = await conditions.findings(spike_rule, SPIKE_AT + timedelta(minutes=90))
    assert found.scope == f"spike:negative:{SPIKE_AT.isoformat().replace('+00:00', 'Z')}"
    assert found.evidence_ids and found.filters["sentiment"] == "negative"
    assert found.filters["from"].startswith(SPIKE_AT.date().isoformat())
    # Once the spike is older than the window the condition has cleared.
    assert await conditions.findings(spike_rule, SPIKE_AT + timedelta(hours=5)) == []
    campaign_rule = rule(condition=al.CAMPAIGN, expression="", window_minutes=24 * 60)
    campaigns = await conditions.findings(campaign_rule, DAY0 + timedelta(days=8, hours=6))
    assert [f.scope.split(":")[0] for f in campaigns] == ["campaign"]
    assert len(campaigns[0].evidence_ids) >= 3 and campaigns[0].filters


async def test_only_new_topics_fire_an_emerging_topic_rule() -> None:
    from types import SimpleNamespace

    from dengar_insights.service_layer.alert_conditions import EngineConditions

    def topic(tid: str, status: str, volume: int) -> Any:
        return SimpleNamespace(id=tid, status=status, volume=volume, keywords=("banjir", "jakarta"),
                               representatives=(SimpleNamespace(id=f"{tid}-m1", snippet=""),))

    class Topics:
        async def topics(self, req: Any) -> Any:
            self.req = req
            return SimpleNamespace(topics=(topic("t1", "new", 30), topic("t2", "growing", 90),
                                           topic("t3", "new", 2)))

    topics = Topics()
    conditions = EngineConditions(None, None, topics, None)  # type: ignore[arg-type]  # only topics are read
    r = rule(condition=al.EMERGING_TOPIC, expression="", min_volume=5, query_id="q1", window_minutes=1440)
    [found] = await conditions.findings(r, T0)
    assert found.scope == "topic:t1" and found.evidence_ids == ("t1-m1",)
    assert found.filters["q"] == "banjir OR jakarta" and found.filters["query_id"] == "q1"
    assert (topics.req.start, topics.req.end, topics.req.query_id) == (T0 - timedelta(days=1), T0, "q1")
