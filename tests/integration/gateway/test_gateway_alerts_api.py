"""/v1/alerts/rules and /v1/alerts against a gRPC double of insights' AlertService that answers as
the real one does (DomainErrors through the kit's interceptor, tenant-scoped storage)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from gateway_fakes import FakeInsights, Recorder

from dengar.v1 import insights_pb2, insights_pb2_grpc
from dengar_common.errors import InvalidArgument, NotFound, ResourceExhausted
from dengar_common.grpcutil import make_server, set_serving
from dengar_gateway.domain.keys import Scope

NAMES = ["dengar.v1.InsightsService", "dengar.v1.AlertService"]


class FakeAlerts(insights_pb2_grpc.AlertServiceServicer):
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.rules: dict[str, dict[str, insights_pb2.AlertRule]] = {}
        self.alerts: dict[str, dict[str, insights_pb2.Alert]] = {}
        self.limit = 3
        self.next = 0

    @staticmethod
    def _check(spec: insights_pb2.AlertRuleSpec) -> None:
        if spec.severity not in ("info", "warning", "critical"):
            raise InvalidArgument("severity must be info, warning or critical", field="severity")
        if spec.channel_ids and spec.channel_ids[0] == "unknown":
            raise InvalidArgument("unknown channel ids: unknown", field="channel_ids")

    def _find(self, tenant: str, rule_id: str) -> insights_pb2.AlertRule:
        found = self.rules.get(tenant, {}).get(rule_id)
        if found is None:
            raise NotFound(f"alert rule {rule_id} not found")
        return found

    async def CreateAlertRule(self, request: insights_pb2.CreateAlertRuleRequest,
                              context: Any) -> insights_pb2.AlertRule:
        await self.rec.record("CreateAlertRule", request, context)
        self._check(request.spec)
        mine = self.rules.setdefault(request.tenant_id, {})
        if len(mine) >= self.limit:
            raise ResourceExhausted("at most 3 alert rules per tenant")
        self.next += 1
        r = insights_pb2.AlertRule(id=f"ar_{self.next:016x}", tenant_id=request.tenant_id,
                                   spec=request.spec)
        r.created_at.FromJsonString("2026-11-01T12:00:00Z")
        mine[r.id] = r
        # An incident of the new rule, for the history routes.
        a = insights_pb2.Alert(id=f"al_{self.next:020x}", tenant_id=request.tenant_id, rule_id=r.id,
                               rule_name=request.spec.name, condition=request.spec.condition,
                               scope="match", severity=request.spec.severity, state="firing",
                               summary="1 new mention(s) match", evidence_ids=["m1"],
                               filters={"q": request.spec.expression})
        a.fired_at.FromJsonString("2026-11-01T12:05:00Z")
        self.alerts.setdefault(request.tenant_id, {})[a.id] = a
        return r

    async def GetAlertRule(self, request: insights_pb2.GetAlertRuleRequest,
                           context: Any) -> insights_pb2.AlertRule:
        await self.rec.record("GetAlertRule", request, context)
        return self._find(request.tenant_id, request.id)

    async def ListAlertRules(self, request: insights_pb2.ListAlertRulesRequest,
                             context: Any) -> insights_pb2.ListAlertRulesResponse:
        await self.rec.record("ListAlertRules", request, context)
        return insights_pb2.ListAlertRulesResponse(rules=list(self.rules.get(request.tenant_id, {}).values()))

    async def UpdateAlertRule(self, request: insights_pb2.UpdateAlertRuleRequest,
                              context: Any) -> insights_pb2.AlertRule:
        await self.rec.record("UpdateAlertRule", request, context)
        r = self._find(request.tenant_id, request.id)
        spec = insights_pb2.AlertRuleSpec()
        spec.CopyFrom(r.spec)
        for f in request.fields:
            if f == "quiet_hours":
                spec.ClearField("quiet_hours")
                if request.spec.HasField("quiet_hours"):
                    spec.quiet_hours.CopyFrom(request.spec.quiet_hours)
            elif f == "channel_ids":
                del spec.channel_ids[:]
                spec.channel_ids.extend(request.spec.channel_ids)
            else:
                setattr(spec, f, getattr(request.spec, f))
        self._check(spec)
        r.spec.CopyFrom(spec)
        return r

    async def DeleteAlertRule(self, request: insights_pb2.DeleteAlertRuleRequest,
                              context: Any) -> insights_pb2.DeleteAlertRuleResponse:
        await self.rec.record("DeleteAlertRule", request, context)
        self._find(request.tenant_id, request.id)
        del self.rules[request.tenant_id][request.id]
        return insights_pb2.DeleteAlertRuleResponse()

    async def ListAlerts(self, request: insights_pb2.ListAlertsRequest,
                         context: Any) -> insights_pb2.ListAlertsResponse:
        await self.rec.record("ListAlerts", request, context)
        if request.state not in ("", "firing", "resolved"):
            raise InvalidArgument("state must be firing or resolved", field="state")
        found = [a for a in self.alerts.get(request.tenant_id, {}).values()
                 if (not request.state or a.state == request.state)
                 and (not request.rule_id or a.rule_id == request.rule_id)]
        return insights_pb2.ListAlertsResponse(alerts=found[:request.limit], next_page_token="")

    async def GetAlert(self, request: insights_pb2.GetAlertRequest, context: Any) -> insights_pb2.Alert:
        await self.rec.record("GetAlert", request, context)
        a = self.alerts.get(request.tenant_id, {}).get(request.id)
        if a is None:
            raise NotFound(f"alert {request.id} not found")
        out = insights_pb2.Alert()
        out.CopyFrom(a)
        d = out.deliveries.add(id="d1", channel_id="c1", state="delivered", key=f"alert:{a.id}:firing")
        d.attempts.add(status=500, latency_ms=12, error="HTTP 500").at.FromJsonString("2026-11-01T12:05:01Z")
        d.attempts.add(status=200, latency_ms=10).at.FromJsonString("2026-11-01T12:05:03Z")
        return out


class Backend:
    def __init__(self, port: int, rec: Recorder, alerts: FakeAlerts) -> None:
        self.port, self.rec, self.alerts = port, rec, alerts


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    rec = Recorder()
    alerts = FakeAlerts(rec)
    server, health = make_server([
        lambda s: insights_pb2_grpc.add_InsightsServiceServicer_to_server(FakeInsights(rec), s),
        lambda s: insights_pb2_grpc.add_AlertServiceServicer_to_server(alerts, s),
    ], NAMES)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await set_serving(health, NAMES, True)
    try:
        yield Backend(port, rec, alerts)
    finally:
        await server.stop(0)


@pytest.fixture
async def gw(gateway_for, backend: Backend) -> Any:
    return await gateway_for(insights_target=f"127.0.0.1:{backend.port}")


CRISIS = {"name": "Crisis words", "condition": "mention_match", "expression": "boikot OR penipuan",
          "severity": "critical", "quiet_hours": {"start": "22:00", "end": "07:00",
                                                  "time_zone": "Asia/Jakarta"}}


async def test_rules_crud_and_history(gw, backend: Backend) -> None:
    admin = (await gw.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    c = gw.client
    resp = await c.post("/v1/alerts/rules", json=CRISIS, headers=admin)
    assert resp.status_code == 201, resp.text
    rule = resp.json()
    assert resp.headers["location"] == f"/v1/alerts/rules/{rule['id']}"
    assert rule["quiet_hours"]["time_zone"] == "Asia/Jakarta" and rule["enabled"] is True
    [req] = backend.rec.of("CreateAlertRule")
    assert req.tenant_id == "acme" and req.spec.cooldown_s == 3600 and req.spec.enabled
    assert (await c.get(f"/v1/alerts/rules/{rule['id']}", headers=admin)).json() == rule
    assert [r["id"] for r in (await c.get("/v1/alerts/rules", headers=admin)).json()["data"]] == [rule["id"]]

    resp = await c.patch(f"/v1/alerts/rules/{rule['id']}", json={"severity": "info", "quiet_hours": None},
                         headers=admin)
    assert resp.status_code == 200, resp.text
    assert resp.json()["severity"] == "info" and resp.json()["quiet_hours"] is None
    [upd] = backend.rec.of("UpdateAlertRule")
    assert list(upd.fields) == ["quiet_hours", "severity"]

    listed = (await c.get(f"/v1/alerts?state=firing&rule_id={rule['id']}", headers=admin)).json()
    [alert] = listed["data"]
    assert alert["evidence"] == {"mention_ids": ["m1"], "filters": {"q": "boikot OR penipuan"}}
    assert alert["deliveries"] is None and listed["next_cursor"] is None
    detail = (await c.get(f"/v1/alerts/{alert['id']}", headers=admin)).json()
    [delivery] = detail["deliveries"]
    assert delivery["notification"] == "firing"
    assert [a["status"] for a in delivery["attempts"]] == [500, 200]

    assert (await c.delete(f"/v1/alerts/rules/{rule['id']}", headers=admin)).status_code == 204
    assert (await c.get("/v1/alerts/rules", headers=admin)).json()["data"] == []


async def test_errors_are_problems(gw, backend: Backend, problem) -> None:
    admin = (await gw.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    reader = (await gw.new_key("acme", Scope.READ)).headers
    c = gw.client
    doc = problem(await c.post("/v1/alerts/rules", json={**CRISIS, "severity": "loud"}, headers=admin), 422)
    assert doc["errors"][0]["field"] == "severity"
    doc = problem(await c.post("/v1/alerts/rules", json={**CRISIS, "channel_ids": ["unknown"]},
                               headers=admin), 422)
    assert doc["errors"][0]["field"] == "channel_ids"
    calls = len(backend.rec.calls)
    problem(await c.post("/v1/alerts/rules", json={**CRISIS, "bogus": 1}, headers=admin), 422)
    problem(await c.patch("/v1/alerts/rules/ar_1", json={"severity": None}, headers=admin), 422)
    assert len(backend.rec.calls) == calls
    problem(await c.post("/v1/alerts/rules", json=CRISIS, headers=reader), 403)
    problem(await c.get("/v1/alerts/rules/ar_nope", headers=reader), 404)
    problem(await c.get("/v1/alerts/al_nope", headers=reader), 404)
    doc = problem(await c.get("/v1/alerts?state=open", headers=reader), 422)
    assert doc["errors"][0]["field"] == "state"
    for _ in range(3):
        assert (await c.post("/v1/alerts/rules", json=CRISIS, headers=admin)).status_code == 201
    doc = problem(await c.post("/v1/alerts/rules", json=CRISIS, headers=admin), 409)
    assert doc["type"] == "urn:dengar:problem:alert-rule-limit-reached"


async def test_tenants_are_isolated(gw, backend: Backend, problem) -> None:
    a = (await gw.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    b = (await gw.new_key("globex", Scope.ADMIN, Scope.READ)).headers
    c = gw.client
    rule = (await c.post("/v1/alerts/rules", json=CRISIS, headers=a)).json()
    [alert] = (await c.get("/v1/alerts", headers=a)).json()["data"]
    assert (await c.get("/v1/alerts/rules", headers=b)).json()["data"] == []
    assert (await c.get("/v1/alerts", headers=b)).json()["data"] == []
    problem(await c.get(f"/v1/alerts/rules/{rule['id']}", headers=b), 404)
    problem(await c.patch(f"/v1/alerts/rules/{rule['id']}", json={"severity": "info"}, headers=b), 404)
    problem(await c.delete(f"/v1/alerts/rules/{rule['id']}", headers=b), 404)
    problem(await c.get(f"/v1/alerts/{alert['id']}", headers=b), 404)
    assert (await c.get(f"/v1/alerts/rules/{rule['id']}", headers=a)).json()["severity"] == "critical"


async def test_openapi_documents_the_routes(gw) -> None:
    spec = (await gw.client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert {"post", "get"} <= set(paths["/v1/alerts/rules"])
    assert {"get", "patch", "delete"} <= set(paths["/v1/alerts/rules/{rule_id}"])
    assert "get" in paths["/v1/alerts"] and "get" in paths["/v1/alerts/{alert_id}"]
    assert "AlertRuleIn" in spec["components"]["schemas"]
