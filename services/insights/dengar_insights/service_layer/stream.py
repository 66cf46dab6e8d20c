"""Use case: the live stream of a tenant's mentions (gRPC ``StreamMentions``).

Design: the stream is a read of the mention-event JetStream stream (see ``domain/stream.py``),
not of the mentions collection. Insights publishes an event after it stored or changed a mention
(``entrypoints/consumer.py``, before acking the message, so a crash in between means a
redelivery that publishes again: at least once, de-duplicated by the server's window on the
mention's content revision). A stream follows the tenant's subject with an ephemeral ordered
consumer from the requested sequence, reads each event's mention from the store and sends it when
it passes the filters. Every replica sees the same sequence, so a client may resume on another
replica; positions live two hours in the bus (resume guaranteed for the last hour).

What is sent for an event: the mention as stored now, and only when its content revision is the
event's. A mention changed again after the event was published is skipped at that event: the
later change has its own, later event, where it is sent. Together with the per-stream memory of
sent (mention, revision) pairs, a redelivered or re-published post never appears twice in one
stream, and a resumed stream continues with the events after its position only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from dengar_insights.domain.search import SearchQuery
from dengar_insights.domain.stream import MentionEvent, SentRevisions, matches, parse_position
from dengar_insights.service_layer.ports import Doc, MentionEvents, StreamReads
from dengar_insights.service_layer.queries import SearchRequest, search_query
from dengar_insights.service_layer.stream_quota import StreamQuota

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamRequest:
    """The SearchMentions filters (sort and paging do not apply) and where to resume."""

    filters: SearchRequest
    resume_after: str = ""


class MentionStream:
    def __init__(self, events: MentionEvents, mentions: StreamReads, *,
                 quota: StreamQuota | None = None) -> None:
        self._events = events
        self._mentions = mentions
        # Concurrent streams per tenant over every replica (None: unlimited, tests).
        self._quota = quota

    async def follow(self, req: StreamRequest) -> tuple[int, AsyncIterator[tuple[int, Doc]]]:
        """The position the stream continues after, and (position, mention document) pairs for
        the tenant's mentions stored after it that pass the filters.

        The request is validated and the subscription made before this returns, so a bad filter
        fails the call at once and nothing stored after the returned position is missed.
        """
        query = search_query(req.filters)
        after = parse_position(req.resume_after)
        tenant = req.filters.tenant_id
        release = await self._quota.acquire(tenant) if self._quota is not None else None
        try:
            start, events = await self._events.open(tenant, after)
        except BaseException:
            if release is not None:
                release()
            raise
        return start, self._held(self._follow(tenant, query, events), release)

    @staticmethod
    async def _held(mentions: AsyncIterator[tuple[int, Doc]], release: Callable[[], None] | None
                    ) -> AsyncIterator[tuple[int, Doc]]:
        # The stream's slot is held until the caller stops iterating (its call ended), however.
        try:
            async for item in mentions:
                yield item
        finally:
            if release is not None:
                release()

    async def _follow(self, tenant: str, query: SearchQuery, events: AsyncIterator[MentionEvent]
                      ) -> AsyncIterator[tuple[int, Doc]]:
        sent = SentRevisions()
        async for event in events:
            doc = await self._mentions.get_for_stream(tenant, event.mention_id)
            if doc is None or doc.get("tenant_id") != tenant:
                continue
            revision = doc.get("content_hash") or ""
            if revision != event.content_hash:
                # Changed since: its own later event carries the current revision.
                continue
            if not sent.first_time(event.mention_id, revision):
                continue
            if matches(query, doc):
                yield event.position, doc
