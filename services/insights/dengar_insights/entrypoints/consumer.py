"""Consumes enriched posts in batches and hands them to the ingest use case as mentions."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from nats.aio.msg import Msg
from opentelemetry import trace

from dengar_common.bus import Outcome
from dengar_common.telemetry import current_trace_id, span_from_headers
from dengar_insights.domain.mention import InvalidPost, PreparedMention
from dengar_insights.entrypoints.protos import parse_enriched, prepare_enriched
from dengar_insights.service_layer.backfill import IncomingTags
from dengar_insights.service_layer.ingest import MentionIngestor, Result

logger = logging.getLogger(__name__)


def prepare_message(msg: Msg) -> PreparedMention:
    """Parse and validate one message; InvalidPost when it can never become a mention."""
    tenant = msg.subject.rsplit(".", 1)[-1]
    return prepare_enriched(parse_enriched(msg.data), subject_tenant=tenant)


class EnrichedPostHandler:
    """The PullWorker batch handler: one outcome per message, None meaning "ack"."""

    def __init__(self, ingestor: MentionIngestor, tags: IncomingTags | None = None) -> None:
        self._ingestor = ingestor
        # Fixes tags given before a query change that reached the store after its backfill.
        self._tags = tags
        self.results: Counter[str] = Counter()

    async def __call__(self, msgs: Sequence[Msg]) -> list[Outcome]:
        outcomes: list[Outcome] = [None] * len(msgs)
        indexes: list[int] = []
        items: list[tuple[PreparedMention, str]] = []
        links: list[trace.Link] = []
        for i, msg in enumerate(msgs):
            with span_from_headers("insights.receive", msg.headers) as span:
                # The mention records the trace of the message that wrote it (HTTP → ... → here).
                trace_id = current_trace_id()
                if span.get_span_context().is_valid:
                    links.append(trace.Link(span.get_span_context()))
                try:
                    m = prepare_message(msg)
                except InvalidPost as exc:
                    span.record_exception(exc)
                    logger.warning("invalid enriched post on %s: %s", msg.subject, exc)
                    outcomes[i] = exc
                    continue
            indexes.append(i)
            items.append((m, trace_id))

        tracer = trace.get_tracer("dengar.insights")
        with tracer.start_as_current_span("insights.store_batch", links=links,
                                          attributes={"dengar.batch_size": len(msgs)}):
            if self._tags is not None and items:
                # A failure here fails the batch (retried): storing stale tags would undo a backfill.
                items = await self._tags.adjust(items)
            results = await self._ingestor.ingest_batch(items)
        for i, res in zip(indexes, results, strict=True):
            if isinstance(res, BaseException):
                logger.warning("storing the message on %s failed: %s", msgs[i].subject, res)
                outcomes[i] = res
            else:
                self.results[res.value] += 1
                if res is Result.STALE:
                    logger.info("ignored an older copy of a post on %s", msgs[i].subject)
        return outcomes
