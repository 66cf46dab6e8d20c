"""What insights tells a tenant's channels (alerts now, digests on schedule). Pure values.

Alert rules (service_layer/alerts.py) and digests decide *what* to say; the delivery side
(service_layer/deliveries.py) decides *how*: it renders a notification for each channel (a signed
webhook, a Slack-compatible webhook, an email in the channel's language), delivers it at least
once with retries, and logs every attempt. ``key`` makes dispatching idempotent: dispatching the
same key to the same channel twice delivers it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ALERT_FIRING = "alert.firing"
ALERT_RESOLVED = "alert.resolved"
DIGEST = "digest"
KINDS = (ALERT_FIRING, ALERT_RESOLVED, DIGEST)


@dataclass(frozen=True)
class Notification:
    """One thing to tell a tenant, in English and Indonesian.

    ``title``/``text`` map a language (``en``, ``id``) to the human text; ``payload`` is the JSON
    document a webhook receives (its ``type`` is ``kind``); ``severity`` is ``info``, ``warning``
    or ``critical``.
    """

    tenant_id: str
    # Idempotency key, e.g. "alert:<incident id>:firing" or "digest:<schedule id>:<period start>".
    key: str
    kind: str
    title: Mapping[str, str]
    text: Mapping[str, str]
    payload: Mapping[str, Any]
    created_at: datetime
    severity: str = "info"
    # Links back into the API/dashboard (e.g. the GET /v1/mentions filters of the evidence).
    links: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryAttempt:
    at: datetime
    # HTTP status or SMTP reply code; 0 when there was no answer (timeout, refused, DNS).
    status: int
    latency_ms: int
    error: str = ""


@dataclass(frozen=True)
class Delivery:
    """The delivery of one notification to one channel: pending until delivered, dead after the
    last failed attempt (``redeliver`` makes it pending again)."""

    id: str
    tenant_id: str
    key: str
    channel_id: str
    state: str  # pending | delivered | dead
    attempts: tuple[DeliveryAttempt, ...] = ()
    next_attempt_at: datetime | None = None
