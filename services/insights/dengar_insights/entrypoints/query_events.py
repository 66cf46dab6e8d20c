"""Consumes ``dengar.v1.QueryChanged`` events and schedules the backfill of each query version."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg

from dengar.v1 import events_pb2
from dengar_common.bus import Outcome
from dengar_insights.domain.backfill import KIND_QUERY
from dengar_insights.service_layer.backfill import query_spec, schedule_backfill
from dengar_insights.service_layer.ports import BackfillRepository

logger = logging.getLogger(__name__)


class InvalidEvent(ValueError):
    """A message that can never schedule anything; dead-lettered after its retries."""


def parse_change(msg: Msg) -> events_pb2.QueryChanged:
    try:
        event = events_pb2.QueryChanged.FromString(msg.data)
    except DecodeError as exc:
        raise InvalidEvent(f"not a QueryChanged: {exc}") from exc
    # A message on one tenant's subject must not schedule work in another tenant.
    if event.tenant_id != msg.subject.rsplit(".", 1)[-1]:
        raise InvalidEvent(f"tenant {event.tenant_id!r} does not match the subject {msg.subject!r}")
    if not event.query_id or event.version < 1:
        raise InvalidEvent("QueryChanged without a query id or version")
    return event


class QueryChangedHandler:
    """The PullWorker batch handler; ``on_scheduled`` runs after a job was (re)started."""

    def __init__(self, jobs: BackfillRepository, on_scheduled: Callable[[], None]) -> None:
        self._jobs = jobs
        self._on_scheduled = on_scheduled
        self.scheduled = 0
        self.stale = 0

    async def __call__(self, msgs: Sequence[Msg]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for msg in msgs:
            try:
                event = parse_change(msg)
                spec = query_spec(expression=event.expression, enabled=event.enabled, deleted=event.deleted)
                changed_at = event.changed_at.ToDatetime(tzinfo=UTC) if event.HasField("changed_at") else None
                fresh = await schedule_backfill(
                    self._jobs, tenant_id=event.tenant_id, kind=KIND_QUERY, target_id=event.query_id,
                    version=event.version, spec=spec, changed_at=changed_at)
            except Exception as exc:
                logger.warning("query change on %s not scheduled: %s", msg.subject, exc)
                outcomes.append(exc)
                continue
            if fresh:
                self.scheduled += 1
                self._on_scheduled()
            else:
                self.stale += 1
            outcomes.append(None)
        return outcomes
