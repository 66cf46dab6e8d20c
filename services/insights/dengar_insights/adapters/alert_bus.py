"""Publishes alerts on NATS (``<root>.alerts.<tenant>``) and the do-nothing Dispatcher default."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from nats.js import JetStreamContext

from dengar_common.bus import Subjects, publish
from dengar_common.errors import InvalidArgument
from dengar_insights.domain.notification import Delivery, Notification


class NatsAlertPublisher:
    """Implements ``alerts.AlertPublisher``; the message id de-duplicates a repeated publish."""

    def __init__(self, js: JetStreamContext, subjects: Subjects) -> None:
        self._js = js
        self._subjects = subjects

    async def publish(self, tenant_id: str, event: Mapping[str, Any], msg_id: str) -> None:
        await publish(self._js, self._subjects.alerts(tenant_id),
                      json.dumps(event, separators=(",", ":")).encode(), msg_id=msg_id,
                      headers={"Content-Type": "application/json"})


class NullDispatcher:
    """The Dispatcher until delivery channels are wired: no channel exists, so a rule with channel
    ids is refused and nothing is delivered (alerts still go to NATS and the history)."""

    async def dispatch(self, notification: Notification, channel_ids: Sequence[str]) -> list[str]:
        if channel_ids:
            raise InvalidArgument("no delivery channels are configured", field="channel_ids")
        return []

    async def deliveries(self, tenant_id: str, key: str) -> list[Delivery]:
        return []

    async def unknown_channels(self, tenant_id: str, channel_ids: Sequence[str]) -> list[str]:
        return list(channel_ids)
