"""The AlertService gRPC API: alert rules CRUD and alert history (service_layer/alerts.py)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from grpc import aio

from dengar.v1 import insights_pb2, insights_pb2_grpc
from dengar_common.errors import InvalidArgument
from dengar_insights.domain.alerts import Alert, AlertRule, QuietHours
from dengar_insights.domain.notification import Delivery
from dengar_insights.entrypoints.protos import timestamp
from dengar_insights.service_layer.alerts import AlertHistory, AlertRules, RuleChanges

_SCALARS = ("name", "condition", "severity", "query_id", "metric", "threshold", "min_volume",
            "expression")
_OPTIONAL = ("window_minutes", "cooldown_s", "enabled")
FIELDS = (*_SCALARS, *_OPTIONAL, "quiet_hours", "channel_ids")


def _quiet(spec: insights_pb2.AlertRuleSpec) -> QuietHours | None:
    if not spec.HasField("quiet_hours"):
        return None
    q = spec.quiet_hours
    return QuietHours(q.start, q.end, q.time_zone or "UTC")


def _values(spec: insights_pb2.AlertRuleSpec, fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if f not in FIELDS:
            raise InvalidArgument(f"unknown field {f!r}", field=f)
        if f == "quiet_hours":
            out[f] = _quiet(spec)
        elif f == "channel_ids":
            out[f] = tuple(spec.channel_ids)
        else:
            out[f] = getattr(spec, f)
    return out


def rule_from_spec(tenant_id: str, spec: insights_pb2.AlertRuleSpec) -> AlertRule:
    values = _values(spec, [f for f in FIELDS if f not in _OPTIONAL or spec.HasField(f)])
    if not values.get("severity"):
        values.pop("severity", None)
    if not values.get("metric"):
        values.pop("metric", None)
    quiet = values.pop("quiet_hours", None)
    return AlertRule(id="", tenant_id=tenant_id, quiet_hours=quiet, **values)


def _ts(t: Any) -> Timestamp | None:
    return timestamp(t) if t is not None else None


def rule_to_proto(r: AlertRule) -> insights_pb2.AlertRule:
    spec = insights_pb2.AlertRuleSpec(
        name=r.name, condition=r.condition, severity=r.severity, query_id=r.query_id, metric=r.metric,
        threshold=r.threshold, window_minutes=r.window_minutes, min_volume=r.min_volume,
        expression=r.expression, cooldown_s=r.cooldown_s, channel_ids=list(r.channel_ids),
        enabled=r.enabled)
    if r.quiet_hours is not None:
        spec.quiet_hours.CopyFrom(insights_pb2.AlertQuietHours(
            start=r.quiet_hours.start, end=r.quiet_hours.end, time_zone=r.quiet_hours.time_zone))
    return insights_pb2.AlertRule(id=r.id, tenant_id=r.tenant_id, spec=spec,
                                  created_at=_ts(r.created_at), updated_at=_ts(r.updated_at))


def _delivery(d: Delivery) -> insights_pb2.AlertDelivery:
    return insights_pb2.AlertDelivery(
        id=d.id, channel_id=d.channel_id, state=d.state, key=d.key,
        attempts=[insights_pb2.AlertDeliveryAttempt(at=timestamp(a.at), status=a.status,
                                                    latency_ms=a.latency_ms, error=a.error)
                  for a in d.attempts])


def alert_to_proto(a: Alert, deliveries: list[Delivery] | None = None) -> insights_pb2.Alert:
    return insights_pb2.Alert(
        id=a.id, tenant_id=a.tenant_id, rule_id=a.rule_id, rule_name=a.rule_name,
        condition=a.condition, scope=a.scope, severity=a.severity, state=a.state, summary=a.summary,
        fired_at=timestamp(a.fired_at), resolved_at=_ts(a.resolved_at),
        evidence_ids=list(a.evidence_ids), filters=dict(a.filters),
        deliveries=[_delivery(d) for d in deliveries or ()])


class AlertServicer(insights_pb2_grpc.AlertServiceServicer):
    def __init__(self, rules: AlertRules, history: AlertHistory) -> None:
        self._rules = rules
        self._history = history

    async def CreateAlertRule(self, request: insights_pb2.CreateAlertRuleRequest,
                              context: aio.ServicerContext[Any, Any]) -> insights_pb2.AlertRule:
        return rule_to_proto(await self._rules.create(rule_from_spec(request.tenant_id, request.spec)))

    async def GetAlertRule(self, request: insights_pb2.GetAlertRuleRequest,
                           context: aio.ServicerContext[Any, Any]) -> insights_pb2.AlertRule:
        return rule_to_proto(await self._rules.get(request.tenant_id, request.id))

    async def ListAlertRules(self, request: insights_pb2.ListAlertRulesRequest,
                             context: aio.ServicerContext[Any, Any]
                             ) -> insights_pb2.ListAlertRulesResponse:
        found = await self._rules.list(request.tenant_id)
        return insights_pb2.ListAlertRulesResponse(rules=[rule_to_proto(r) for r in found])

    async def UpdateAlertRule(self, request: insights_pb2.UpdateAlertRuleRequest,
                              context: aio.ServicerContext[Any, Any]) -> insights_pb2.AlertRule:
        values = _values(request.spec, list(request.fields))
        return rule_to_proto(await self._rules.update(request.tenant_id, request.id, RuleChanges(values)))

    async def DeleteAlertRule(self, request: insights_pb2.DeleteAlertRuleRequest,
                              context: aio.ServicerContext[Any, Any]
                              ) -> insights_pb2.DeleteAlertRuleResponse:
        await self._rules.delete(request.tenant_id, request.id)
        return insights_pb2.DeleteAlertRuleResponse()

    async def ListAlerts(self, request: insights_pb2.ListAlertsRequest,
                         context: aio.ServicerContext[Any, Any]) -> insights_pb2.ListAlertsResponse:
        start = request.start_time.ToDatetime(tzinfo=UTC) if request.HasField("start_time") else None
        end = request.end_time.ToDatetime(tzinfo=UTC) if request.HasField("end_time") else None
        page = await self._history.list(request.tenant_id, state=request.state or None,
                                        rule_id=request.rule_id or None, start=start, end=end,
                                        after=request.page_token or None, limit=request.limit or 50)
        return insights_pb2.ListAlertsResponse(alerts=[alert_to_proto(a) for a in page.alerts],
                                               next_page_token=page.next_after or "")

    async def GetAlert(self, request: insights_pb2.GetAlertRequest,
                       context: aio.ServicerContext[Any, Any]) -> insights_pb2.Alert:
        detail = await self._history.get(request.tenant_id, request.id)
        return alert_to_proto(detail.alert, detail.deliveries)

