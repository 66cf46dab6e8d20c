"""The JSON shapes of /v1/alerts (alert rules and alert history, owned by the insights service)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dengar_gateway.entrypoints.schema_types import Int32

# Guards against huge bodies only: insights owns the real limits and names the field at fault.
MAX_TEXT = 4000
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
ChannelId = Annotated[str, StringConstraints(max_length=200)]

_CONDITION_DOC = ("`spike` (of `metric` volume or negative, for `query_id` or the whole tenant), "
                  "`negative_share` (above `threshold` in the last `window_minutes` with at least "
                  "`min_volume` mentions), `emerging_topic` (a new topic), `campaign` (a coordinated "
                  "campaign) or `mention_match` (a new mention matches `expression`, e.g. crisis words).")


class QuietHoursIO(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(description="Local time HH:MM.", max_length=5)
    end: str = Field(description="Local time HH:MM; before `start` spans midnight.", max_length=5)
    time_zone: str = Field("UTC", max_length=64, description="IANA time zone, e.g. Asia/Jakarta.")


class AlertRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Crisis words", "condition": "mention_match", "expression": "boikot OR penipuan",
         "severity": "critical", "cooldown_s": 1800},
        {"name": "Negative surge", "condition": "negative_share", "threshold": 0.4, "min_volume": 50,
         "window_minutes": 60, "quiet_hours": {"start": "22:00", "end": "07:00",
                                               "time_zone": "Asia/Jakarta"}},
    ]})

    name: Text
    condition: Text = Field(description=_CONDITION_DOC)
    severity: Text = Field("warning", description="info, warning or critical.")
    query_id: Text = ""
    metric: Text = Field("volume", description="For spike rules: volume or negative.")
    threshold: float = Field(0.0, description="For negative_share rules: a share in (0, 1).")
    window_minutes: Int32 = Field(60, description="The rolling window (5 minutes - 7 days).")
    min_volume: Int32 = 0
    expression: Text = Field("", description="For mention_match rules, in the listening-query language.")
    cooldown_s: Int32 = Field(3600, description="After an incident fired, the same incident does not "
                                              "fire again for this long.")
    quiet_hours: QuietHoursIO | None = Field(None, description="Notifications raised in these local "
                                             "hours are held and delivered when they end.")
    channel_ids: list[ChannelId] = Field(default_factory=list, max_length=50)
    enabled: bool = True


class AlertRulePatchIn(BaseModel):
    """Only the members present change; `quiet_hours: null` removes the quiet hours."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"severity": "info"}]})

    name: Text | None = None
    condition: Text | None = None
    severity: Text | None = None
    query_id: Text | None = None
    metric: Text | None = None
    threshold: float | None = None
    window_minutes: Int32 | None = None
    min_volume: Int32 | None = None
    expression: Text | None = None
    cooldown_s: Int32 | None = None
    quiet_hours: QuietHoursIO | None = None
    channel_ids: list[ChannelId] | None = Field(None, max_length=50)
    enabled: bool | None = None


class AlertRuleOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    condition: str
    severity: str
    query_id: str
    metric: str
    threshold: float
    window_minutes: int
    min_volume: int
    expression: str
    cooldown_s: int
    quiet_hours: QuietHoursIO | None
    channel_ids: list[str]
    enabled: bool
    created_at: datetime | None
    updated_at: datetime | None


class AlertRuleList(BaseModel):
    data: list[AlertRuleOut]


class EvidenceOut(BaseModel):
    mention_ids: list[str]
    filters: dict[str, str] = Field(description="GET /v1/mentions query parameters that list them.")


class DeliveryAttemptOut(BaseModel):
    at: datetime
    status: int = Field(description="HTTP status or SMTP reply code; 0 without an answer.")
    latency_ms: int
    error: str


class DeliveryOut(BaseModel):
    id: str
    channel_id: str
    state: str = Field(description="pending, delivered or dead.")
    notification: Literal["firing", "resolved"]
    attempts: list[DeliveryAttemptOut]


class AlertOut(BaseModel):
    id: str
    rule_id: str
    rule_name: str
    condition: str
    scope: str
    severity: str
    state: str = Field(description="firing or resolved.")
    summary: str
    fired_at: datetime
    resolved_at: datetime | None
    evidence: EvidenceOut
    deliveries: list[DeliveryOut] | None = Field(None, description="Only on GET /v1/alerts/{id}.")


class AlertList(BaseModel):
    data: list[AlertOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")
