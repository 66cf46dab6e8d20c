"""/v1/alerts: alert rules (managed with `admin`, read with `read`) and the alert history.

Insights owns both: it evaluates the rules on new mentions and on a schedule, keeps one alert per
incident (firing until its condition clears) and hands its notifications to the delivery channels.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from dengar.v1 import insights_pb2
from dengar_gateway.entrypoints.deps import AdminPrincipal, Deps, ReadPrincipal, json_body
from dengar_gateway.entrypoints.mapping import from_timestamp, to_timestamp
from dengar_gateway.entrypoints.params import QueryTime
from dengar_gateway.entrypoints.problems import (
    Answer,
    ApiProblem,
    RemoteAnswers,
    answering,
    problem_responses,
)
from dengar_gateway.entrypoints.schemas_alerts import (
    AlertList,
    AlertOut,
    AlertRuleIn,
    AlertRuleList,
    AlertRuleOut,
    AlertRulePatchIn,
    DeliveryAttemptOut,
    DeliveryOut,
    EvidenceOut,
    QuietHoursIO,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

_ERRORS_DOC = ("An invalid rule (an unknown condition or severity, a syntax error in `expression`, "
               "a bad time zone, an unknown channel id) is a 422 problem naming the `field`; 409 "
               "`alert-rule-limit-reached` beyond the tenant's limit of rules.")

_RULE_ANSWERS: RemoteAnswers = {
    "INVALID_ARGUMENT": Answer(422, "validation-error", errors_field="body"),
    "RESOURCE_EXHAUSTED": Answer(409, "alert-rule-limit-reached"),
}
_LIST_ANSWERS: RemoteAnswers = {
    "INVALID_ARGUMENT": Answer(422, "validation-error", errors_field="query", errors_location="query"),
}


def _body_doc(model: str, example: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model}"}, "example": example}}}}


def _spec(values: dict[str, Any]) -> insights_pb2.AlertRuleSpec:
    spec = insights_pb2.AlertRuleSpec()
    for field, value in values.items():
        if field == "quiet_hours":
            if value is not None:
                spec.quiet_hours.CopyFrom(insights_pb2.AlertQuietHours(**value))
        elif field == "channel_ids":
            spec.channel_ids.extend(value)
        else:
            setattr(spec, field, value)
    return spec


def _rule_out(r: insights_pb2.AlertRule, tenant_id: str) -> AlertRuleOut:
    if r.tenant_id and r.tenant_id != tenant_id:
        # Defence in depth: insights filters by tenant; anything else is a bug there.
        logger.error("insights returned alert rule %s of another tenant; hidden", r.id)
        raise ApiProblem(404, "no such alert rule")
    s = r.spec
    return AlertRuleOut(
        id=r.id, name=s.name, condition=s.condition, severity=s.severity, query_id=s.query_id,
        metric=s.metric, threshold=s.threshold, window_minutes=s.window_minutes,
        min_volume=s.min_volume, expression=s.expression, cooldown_s=s.cooldown_s,
        quiet_hours=QuietHoursIO(start=s.quiet_hours.start, end=s.quiet_hours.end,
                                 time_zone=s.quiet_hours.time_zone)
        if s.HasField("quiet_hours") else None,
        channel_ids=list(s.channel_ids), enabled=s.enabled,
        created_at=from_timestamp(r.created_at) if r.HasField("created_at") else None,
        updated_at=from_timestamp(r.updated_at) if r.HasField("updated_at") else None)


def _alert_out(a: insights_pb2.Alert, tenant_id: str, *, detail: bool = False) -> AlertOut:
    if a.tenant_id and a.tenant_id != tenant_id:
        logger.error("insights returned alert %s of another tenant; hidden", a.id)
        raise ApiProblem(404, "no such alert")
    deliveries = [DeliveryOut(
        id=d.id, channel_id=d.channel_id, state=d.state,
        notification="resolved" if d.key.endswith(":resolved") else "firing",
        attempts=[DeliveryAttemptOut(at=from_timestamp(t.at), status=t.status, latency_ms=t.latency_ms,
                                     error=t.error) for t in d.attempts]) for d in a.deliveries]
    return AlertOut(
        id=a.id, rule_id=a.rule_id, rule_name=a.rule_name, condition=a.condition, scope=a.scope,
        severity=a.severity, state=a.state, summary=a.summary, fired_at=from_timestamp(a.fired_at),
        resolved_at=from_timestamp(a.resolved_at) if a.HasField("resolved_at") else None,
        evidence=EvidenceOut(mention_ids=list(a.evidence_ids), filters=dict(a.filters)),
        deliveries=deliveries if detail else None)


RuleId = Annotated[str, Path(max_length=64, description="The alert rule id, e.g. ar_3f9a1c2b7d4e5f60")]
AlertId = Annotated[str, Path(max_length=64, description="The alert id, e.g. al_0b1c2d3e4f5a6b7c8d9e")]


@router.post(
    "/rules", status_code=201, response_model=AlertRuleOut, summary="Create an alert rule",
    description="A rule watches one condition of the tenant's mentions and fires one alert per "
                "incident (resolved when the condition clears), with a severity, a cooldown, quiet "
                f"hours in the tenant's time zone and delivery channels. {_ERRORS_DOC} Requires `admin`.",
    responses={**problem_responses(400, 401, 403, 409, 413, 415, 422, 429, 502, 503),
               201: {"description": "Created; `Location` is the rule's URL."}},
    openapi_extra=_body_doc("AlertRuleIn", {"name": "Crisis words", "condition": "mention_match",
                                            "expression": "boikot OR penipuan", "severity": "critical"}),
)
async def create_rule(deps: Deps, principal: AdminPrincipal, response: Response,
                      body: Annotated[AlertRuleIn, Depends(json_body(AlertRuleIn))]) -> AlertRuleOut:
    request = insights_pb2.CreateAlertRuleRequest(tenant_id=principal.tenant_id,
                                                  spec=_spec(body.model_dump()))
    with answering(_RULE_ANSWERS):
        created = await deps.backends.call(deps.backends.alerts.CreateAlertRule, request)
    out = _rule_out(created, principal.tenant_id)
    response.headers["Location"] = f"/v1/alerts/rules/{out.id}"
    logger.info("alert rule %s created for %s by %s", out.id, principal.tenant_id, principal.key_id)
    return out


@router.get("/rules", response_model=AlertRuleList, summary="List alert rules",
            description="Every alert rule of the tenant (a bounded number). Requires `read`.",
            responses=problem_responses(401, 403, 429, 502, 503))
async def list_rules(deps: Deps, principal: ReadPrincipal) -> AlertRuleList:
    resp = await deps.backends.call(deps.backends.alerts.ListAlertRules,
                                    insights_pb2.ListAlertRulesRequest(tenant_id=principal.tenant_id))
    own = [r for r in resp.rules if not r.tenant_id or r.tenant_id == principal.tenant_id]
    return AlertRuleList(data=[_rule_out(r, principal.tenant_id) for r in own])


@router.get("/rules/{rule_id}", response_model=AlertRuleOut, summary="Get an alert rule",
            description="Requires `read`.", responses=problem_responses(401, 403, 404, 429, 502, 503))
async def get_rule(deps: Deps, principal: ReadPrincipal, rule_id: RuleId) -> AlertRuleOut:
    r = await deps.backends.call(deps.backends.alerts.GetAlertRule,
                                 insights_pb2.GetAlertRuleRequest(tenant_id=principal.tenant_id, id=rule_id))
    return _rule_out(r, principal.tenant_id)


@router.patch(
    "/rules/{rule_id}", response_model=AlertRuleOut, summary="Change an alert rule",
    description=f"Only the members present in the body change. {_ERRORS_DOC} Requires `admin`.",
    responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 429, 502, 503),
    openapi_extra=_body_doc("AlertRulePatchIn", {"severity": "info"}),
)
async def update_rule(deps: Deps, principal: AdminPrincipal, rule_id: RuleId,
                      body: Annotated[AlertRulePatchIn, Depends(json_body(AlertRulePatchIn))]
                      ) -> AlertRuleOut:
    values: dict[str, Any] = {}
    for field in sorted(body.model_fields_set):
        value = getattr(body, field)
        if value is None and field != "quiet_hours":
            raise ApiProblem(422, f"'{field}' cannot be null; leave it out to keep its value",
                             slug="validation-error",
                             errors=[{"location": "body", "field": field, "message": "must not be null"}])
        values[field] = value.model_dump() if field == "quiet_hours" and value is not None else value
    request = insights_pb2.UpdateAlertRuleRequest(tenant_id=principal.tenant_id, id=rule_id,
                                                  spec=_spec(values), fields=sorted(values))
    with answering(_RULE_ANSWERS):
        updated = await deps.backends.call(deps.backends.alerts.UpdateAlertRule, request)
    logger.info("alert rule %s of %s updated by %s", rule_id, principal.tenant_id, principal.key_id)
    return _rule_out(updated, principal.tenant_id)


@router.delete("/rules/{rule_id}", status_code=204, summary="Delete an alert rule",
               description="Its alerts stay in the history. Requires `admin`.",
               responses=problem_responses(401, 403, 404, 429, 502, 503))
async def delete_rule(deps: Deps, principal: AdminPrincipal, rule_id: RuleId) -> Response:
    await deps.backends.call(deps.backends.alerts.DeleteAlertRule,
                             insights_pb2.DeleteAlertRuleRequest(tenant_id=principal.tenant_id, id=rule_id))
    logger.info("alert rule %s of %s deleted by %s", rule_id, principal.tenant_id, principal.key_id)
    return Response(status_code=204)


@router.get("", response_model=AlertList, summary="Alert history",
            description="The tenant's alerts, newest first: state, rule, severity, when it fired and "
                        "resolved, and the evidence (mention ids and the GET /v1/mentions filters "
                        "that list them). Requires `read`.",
            responses=problem_responses(401, 403, 422, 429, 502, 503))
async def list_alerts(
    deps: Deps, principal: ReadPrincipal,
    state: Annotated[str | None, Query(max_length=16, description="firing or resolved.")] = None,
    rule_id: Annotated[str | None, Query(max_length=64)] = None,
    start: Annotated[QueryTime | None, Query(alias="from", description="Fired at or after.")] = None,
    end: Annotated[QueryTime | None, Query(alias="to", description="Fired before.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AlertList:
    request = insights_pb2.ListAlertsRequest(tenant_id=principal.tenant_id, state=state or "",
                                             rule_id=rule_id or "", limit=limit, page_token=cursor or "")
    if start is not None:
        request.start_time.CopyFrom(to_timestamp(start))
    if end is not None:
        request.end_time.CopyFrom(to_timestamp(end))
    with answering(_LIST_ANSWERS):
        resp = await deps.backends.call(deps.backends.alerts.ListAlerts, request)
    own = [a for a in resp.alerts if not a.tenant_id or a.tenant_id == principal.tenant_id]
    return AlertList(data=[_alert_out(a, principal.tenant_id) for a in own],
                     next_cursor=resp.next_page_token or None)


@router.get("/{alert_id}", response_model=AlertOut, summary="Get an alert",
            description="With the delivery attempts of its notifications. Requires `read`.",
            responses=problem_responses(401, 403, 404, 429, 502, 503))
async def get_alert(deps: Deps, principal: ReadPrincipal, alert_id: AlertId) -> AlertOut:
    a = await deps.backends.call(deps.backends.alerts.GetAlert,
                                 insights_pb2.GetAlertRequest(tenant_id=principal.tenant_id, id=alert_id))
    return _alert_out(a, principal.tenant_id, detail=True)


# Models only referenced from openapi_extra; registered so the schema above resolves.
OPENAPI_MODELS = [AlertRuleIn, AlertRulePatchIn]
