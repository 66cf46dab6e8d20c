"""The JSON shapes of /v1/alerts/channels, /v1/alerts/deliveries and /v1/alerts/digests (insights' data)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Guards against huge bodies only: insights validates the values and names the field at fault.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Short = Annotated[str, StringConstraints(max_length=100)]


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Ops webhook", "kind": "webhook", "url": "https://hooks.example.com/dengar"},
        {"name": "Slack #alerts", "kind": "webhook", "url": "https://hooks.slack.com/services/T/B/X",
         "format": "slack"},
        {"name": "PR team", "kind": "email", "recipients": ["humas@example.co.id"], "language": "id"},
    ]})

    name: Name
    kind: str = Field(max_length=40, description="`webhook` or `email`.")
    url: str = Field("", max_length=4096, description="Webhooks: the http(s) URL to POST to (public "
                                                       "addresses only unless the operator allows more).")
    format: Short = Field("", description="Webhooks: `dengar` (default) or `slack` (incoming-webhook body).")
    recipients: list[Annotated[str, StringConstraints(max_length=320)]] = Field(
        default_factory=list, max_length=100, description="Email: the recipient addresses.")
    language: Short = Field("", description="`en` (default) or `id`.")


class ChannelOut(BaseModel):
    id: str
    name: str
    kind: str
    url: str | None = None
    format: str | None = None
    recipients: list[str] | None = None
    language: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    secret: str | None = Field(None, description="Webhooks, on create and rotate only: the signing "
                                                 "secret. Store it; it is never shown again.")


class ChannelList(BaseModel):
    data: list[ChannelOut]


class AttemptOut(BaseModel):
    at: datetime
    status: int = Field(description="HTTP status or SMTP reply code; 0 when there was no answer.")
    latency_ms: int
    error: str | None = None


class DeliveryOut(BaseModel):
    id: str
    key: str
    channel_id: str
    state: str = Field(description="`pending`, `delivered` or `dead`.")
    attempts: list[AttemptOut]
    next_attempt_at: datetime | None = None


class DeliveryList(BaseModel):
    data: list[DeliveryOut]


class DigestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Morning brief", "frequency": "daily", "time": "08:00", "time_zone": "Asia/Jakarta",
         "language": "id", "channel_ids": ["3f9a..."]},
    ]})

    name: Name
    frequency: Short = Field(description="`daily` or `weekly`.")
    time: Short = Field(description="HH:MM, local to `time_zone`.")
    time_zone: Short = Field("UTC", description="IANA zone, e.g. `Asia/Jakarta`.")
    language: Short = Field("en", description="`en` or `id`.")
    channel_ids: list[Annotated[str, StringConstraints(max_length=64)]] = Field(max_length=100)
    weekday: Short = Field("", description="Weekly digests: `mon`..`sun`.")


class DigestOut(BaseModel):
    id: str
    name: str
    frequency: str
    time: str
    time_zone: str
    language: str
    channel_ids: list[str]
    weekday: str | None = None
    next_run_at: datetime
    last_period_start: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class DigestList(BaseModel):
    data: list[DigestOut]
