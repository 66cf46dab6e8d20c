"""Alerts on the real store and NATS: a crisis-word post fires once (also when redelivered) and is
published on <root>.alerts.<tenant>; two replicas evaluating the same rule at once fire once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from insights_helpers import Env, enriched

from dengar_common.bus import Subjects
from dengar_insights.adapters.alert_bus import NatsAlertPublisher, NullDispatcher
from dengar_insights.adapters.alerts import MongoAlertRuleStore, MongoAlertStore
from dengar_insights.domain import alerts as al
from dengar_insights.service_layer.alerts import AlertEngine, AlertRules


async def _alert_messages(js: Any, subjects: Subjects, tenant: str) -> list[dict[str, Any]]:
    sub = await js.pull_subscribe(subjects.alerts(tenant), stream=subjects.stream("alerts"))
    out: list[dict[str, Any]] = []
    try:
        while True:
            msgs = await sub.fetch(10, timeout=1.0)
            for m in msgs:
                out.append(json.loads(m.data))
                await m.ack()
    except Exception:  # nats TimeoutError: nothing more
        pass
    finally:
        await sub.unsubscribe()
    return out


async def test_crisis_word_post_fires_once_and_is_published(env: Env) -> None:
    assert env.app.alert_rules is not None and env.app.alerts is not None
    rule = await env.app.alert_rules.create(al.AlertRule(
        id="", tenant_id="acme", name="crisis words", condition=al.MENTION_MATCH,
        expression="boikot OR penipuan", severity="critical"))
    post = enriched("acme", "p1", text="Ayo boikot toko ini", created_at=datetime.now(UTC))
    await env.send(post)
    await env.send(enriched("acme", "p2", text="Pengiriman cepat", created_at=datetime.now(UTC)))
    await env.settle()
    await env.send(post)  # redelivered: a new message id, the same post
    await env.settle()
    history = env.app.alert_history
    assert history is not None
    page = await history.list("acme")
    assert len(page.alerts) == 1
    alert = page.alerts[0]
    assert (alert.rule_id, alert.state, alert.severity) == (rule.id, al.FIRING, "critical")
    assert alert.evidence_ids == (post.post.id,)
    events = await _alert_messages(env.js, env.subjects, "acme")
    assert [(e["type"], e["id"]) for e in events] == [("alert.firing", alert.id)]
    # Tenant isolation: another tenant sees neither the rule nor the alert.
    assert (await history.list("other")).alerts == []
    assert await env.app.alert_rules.list("other") == []


class _Always:
    def __init__(self) -> None:
        self.calls = 0

    async def findings(self, rule: al.AlertRule, now: datetime) -> list[al.Finding]:
        self.calls += 1
        await asyncio.sleep(0.01)  # let the other replica interleave
        return [al.Finding("share", "negative share 70% of 50 mentions", ("m1",))]


async def test_two_replicas_evaluating_at_once_fire_once(mongo_client: Any, nats_client: Any,
                                                         unique: str) -> None:
    db = mongo_client[f"{unique}_alerts"]
    rules, store = MongoAlertRuleStore(db, max_per_tenant=5), MongoAlertStore(db)
    await rules.ensure_indexes()
    await store.ensure_indexes()
    await AlertRules(rules).create(al.AlertRule(
        id="", tenant_id="acme", name="negative share", condition=al.NEGATIVE_SHARE, threshold=0.5,
        min_volume=10))
    js = nats_client.jetstream()
    subjects = Subjects(unique)
    from dengar_common.bus import ensure_streams
    await ensure_streams(js, subjects)
    conditions = _Always()
    engines: Sequence[AlertEngine] = [
        AlertEngine(rules, store, conditions, NullDispatcher(), NatsAlertPublisher(js, subjects),
                    owner=f"replica-{i}") for i in range(2)]
    fired = await asyncio.gather(*(e.evaluate() for e in engines))
    assert sum(fired) == 1
    # The lease kept the second replica from even evaluating the rule.
    assert conditions.calls == 1
    # Without the lease the store's incident key still lets one of many concurrent fires through.
    [rule] = await rules.list("acme")
    now = datetime.now(UTC)
    finding = al.Finding("share:other", "x")
    opened = await asyncio.gather(*(store.fire(rule, finding, now, now) for _ in range(5)))
    assert sum(a is not None for a in opened) == 1
    page = await store.list("acme", state=None, rule_id=None, start=None, end=None, after=None, limit=10)
    assert len(page.alerts) == 2
    events = await _alert_messages(js, subjects, "acme")
    assert len(events) == 1 and events[0]["condition"] == al.NEGATIVE_SHARE


async def test_alert_service_over_grpc(env: Env) -> None:
    import grpc

    from dengar.v1 import insights_pb2, insights_pb2_grpc
    from dengar_common import grpcutil

    channel = grpcutil.insecure_channel(f"127.0.0.1:{env.app.port}")
    stub = insights_pb2_grpc.AlertServiceStub(channel)
    try:
        spec = insights_pb2.AlertRuleSpec(
            name="crisis", condition="mention_match", expression="boikot", severity="critical",
            quiet_hours=insights_pb2.AlertQuietHours(start="22:00", end="07:00", time_zone="Asia/Jakarta"))
        rule = await stub.CreateAlertRule(insights_pb2.CreateAlertRuleRequest(tenant_id="acme", spec=spec))
        assert rule.id and rule.spec.enabled and rule.spec.cooldown_s == 3600
        assert rule.spec.quiet_hours.time_zone == "Asia/Jakarta"
        bad = insights_pb2.AlertRuleSpec(name="x", condition="mention_match", expression="boikot AND (")
        try:
            await stub.CreateAlertRule(insights_pb2.CreateAlertRuleRequest(tenant_id="acme", spec=bad))
            raise AssertionError("accepted an invalid expression")
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
        updated = await stub.UpdateAlertRule(insights_pb2.UpdateAlertRuleRequest(
            tenant_id="acme", id=rule.id, spec=insights_pb2.AlertRuleSpec(severity="info"),
            fields=["severity", "quiet_hours"]))
        assert updated.spec.severity == "info" and not updated.spec.HasField("quiet_hours")
        for call in (stub.GetAlertRule(insights_pb2.GetAlertRuleRequest(tenant_id="other", id=rule.id)),
                     stub.DeleteAlertRule(insights_pb2.DeleteAlertRuleRequest(tenant_id="other", id=rule.id)),
                     stub.GetAlert(insights_pb2.GetAlertRequest(tenant_id="acme", id="al_nope"))):
            try:
                await call
                raise AssertionError("expected NOT_FOUND")
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.NOT_FOUND
        await env.send(enriched("acme", "g1", text="boikot!", created_at=datetime.now(UTC)))
        await env.settle()
        listed = await stub.ListAlerts(insights_pb2.ListAlertsRequest(tenant_id="acme", state="firing"))
        [alert] = listed.alerts
        got = await stub.GetAlert(insights_pb2.GetAlertRequest(tenant_id="acme", id=alert.id))
        assert got.rule_id == rule.id and list(got.evidence_ids) and got.filters["q"] == "boikot"
        assert not (await stub.ListAlerts(insights_pb2.ListAlertsRequest(tenant_id="other"))).alerts
        await stub.DeleteAlertRule(insights_pb2.DeleteAlertRuleRequest(tenant_id="acme", id=rule.id))
        assert not (await stub.ListAlertRules(insights_pb2.ListAlertRulesRequest(tenant_id="acme"))).rules
    finally:
        await channel.close()


async def test_negative_share_rule_fires_from_the_rollups_and_resolves(env: Env) -> None:
    from dengar.v1 import common_pb2

    assert env.app.alert_rules is not None and env.app.alerts is not None
    now = datetime.now(UTC)
    rule = await env.app.alert_rules.create(al.AlertRule(
        id="", tenant_id="acme", name="negative surge", condition=al.NEGATIVE_SHARE, threshold=0.5,
        min_volume=4, window_minutes=120))
    for i in range(3):
        await env.send(enriched("acme", f"n{i}", text="parah", sentiment=common_pb2.SENTIMENT_NEGATIVE,
                                created_at=now))
    await env.send(enriched("acme", "p0", text="mantap", created_at=now))
    await env.settle()
    assert await env.app.alerts.evaluate_rule(rule, datetime.now(UTC)) == 1
    history = env.app.alert_history
    assert history is not None
    firing = (await history.list("acme", state="firing")).alerts
    assert firing[0].filters["sentiment"] == "negative" and "75%" in firing[0].summary
    for i in range(4):
        await env.send(enriched("acme", f"q{i}", text="mantap", created_at=now))
    await env.settle()
    assert await env.app.alerts.evaluate_rule(rule, datetime.now(UTC)) == 1  # resolved: 3/8
    assert [a.id for a in (await history.list("acme", state="resolved")).alerts] == [firing[0].id]
