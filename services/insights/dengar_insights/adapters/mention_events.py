"""The mention-event stream on NATS JetStream: publish "mention stored", follow a tenant's events.

Following uses an ephemeral ordered push consumer (flow control, idle heartbeats, no acks,
re-created by the client from the last sequence seen if it stalls), filtered on the tenant's
subject and started at the requested stream sequence.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from dengar_common import bus
from dengar_insights.domain.stream import MentionEvent

logger = logging.getLogger(__name__)

# How long an idle consumer survives a vanished client before the server deletes it.
INACTIVE_THRESHOLD_S = 30.0
# How often a waiting stream looks at the shutdown flag (a message wakes it at once).
POLL_S = 1.0


class NatsMentionEvents:
    def __init__(self, js: JetStreamContext, subjects: bus.Subjects) -> None:
        self._js = js
        self._subjects = subjects
        self._stream = subjects.stream("mentions")
        self._closed = False

    async def close(self) -> None:
        """Shutdown: every follower ends within ``POLL_S``, so the gRPC server need not wait out
        its grace period for streams that never end (their clients resume elsewhere)."""
        self._closed = True

    async def publish(self, tenant_id: str, mention_id: str, content_hash: str) -> None:
        payload = json.dumps({"id": mention_id, "content_hash": content_hash},
                             separators=(",", ":")).encode()
        await bus.publish(self._js, self._subjects.mentions_stored(tenant_id), payload,
                          msg_id=f"{tenant_id}:{mention_id}:{content_hash}")

    async def open(self, tenant_id: str, after: int | None
                   ) -> tuple[int, AsyncIterator[MentionEvent]]:
        info = await self._js.stream_info(self._stream)
        first, last = info.state.first_seq, info.state.last_seq
        if after is None:
            after = last
        elif after + 1 < first:
            logger.info("resume position %d is older than the retention (first %d)", after, first)
        # A position past the end (the stream was re-created) means "from now on".
        after = min(after, last)
        start = max(first, after + 1, 1)
        sub = await self._js.subscribe(
            self._subjects.mentions_stored(tenant_id), stream=self._stream, ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start,
                                  inactive_threshold=INACTIVE_THRESHOLD_S),
            idle_heartbeat=5.0)
        return after, self._events(sub)

    async def _events(self, sub: JetStreamContext.PushSubscription) -> AsyncIterator[MentionEvent]:
        try:
            while not self._closed:
                try:
                    msg = await sub.next_msg(timeout=POLL_S)
                except (TimeoutError, NatsTimeoutError):
                    continue
                meta = msg.metadata
                try:
                    data = json.loads(msg.data)
                    event = MentionEvent(meta.sequence.stream, str(data["id"]), str(data["content_hash"]))
                except (ValueError, KeyError, TypeError) as exc:
                    logger.warning("malformed mention event %d on %s: %s", meta.sequence.stream,
                                   msg.subject, exc)
                    continue
                yield event
        finally:
            try:
                await sub.unsubscribe()
            except Exception:  # connection closing or draining
                logger.debug("unsubscribe failed", exc_info=True)
