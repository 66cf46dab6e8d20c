"""Publishes listening-query changes (``dengar.v1.QueryChanged``) to ``<root>.queries.changed.<tenant>``."""

from __future__ import annotations

from nats.js import JetStreamContext

from dengar.v1 import events_pb2
from dengar_collector.service_layer.query_outbox import QueryChange
from dengar_common.bus import Subjects, publish


def change_msg_id(change: QueryChange) -> str:
    """One message per query version, so JetStream drops a re-publish after a crash."""
    return f"{change.query_id}:{change.version}"


class JetStreamQueryChangePublisher:
    """``QueryChangePublisher`` over JetStream."""

    def __init__(self, js: JetStreamContext, subjects: Subjects, *, timeout_s: float = 5.0) -> None:
        self._js = js
        self._subjects = subjects
        self._timeout = timeout_s

    async def publish(self, change: QueryChange) -> None:
        event = events_pb2.QueryChanged(
            tenant_id=change.tenant_id, query_id=change.query_id, version=change.version,
            expression=change.expression, enabled=change.enabled, deleted=change.deleted)
        if change.changed_at is not None:
            event.changed_at.FromDatetime(change.changed_at)
        await publish(self._js, self._subjects.queries_changed(change.tenant_id), event.SerializeToString(),
                      msg_id=change_msg_id(change), timeout=self._timeout)
