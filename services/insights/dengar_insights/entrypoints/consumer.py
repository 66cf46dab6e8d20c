"""Consumes enriched posts in batches and stores them as mentions (rollups included)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from nats.aio.msg import Msg
from opentelemetry import trace

from dengar_common.bus import Outcome
from dengar_common.telemetry import current_trace_id, span_from_headers
from dengar_insights.adapters.ingest import MentionIngestor, Result
from dengar_insights.domain.mention import InvalidPost, PreparedMention, parse_enriched, prepare

logger = logging.getLogger(__name__)


def prepare_message(msg: Msg) -> PreparedMention:
    """Parse and validate one message; InvalidPost when it can never become a mention."""
    tenant = msg.subject.rsplit(".", 1)[-1]
    return prepare(parse_enriched(msg.data), subject_tenant=tenant)


class EnrichedPostHandler:
    """The PullWorker batch handler: one outcome per message, None meaning "ack"."""

    def __init__(self, ingestor: MentionIngestor) -> None:
        self._ingestor = ingestor
        self.results: Counter[str] = Counter()

    async def __call__(self, msgs: Sequence[Msg]) -> list[Outcome]:
        outcomes: list[Outcome] = [None] * len(msgs)
        # Per tenant, the first copy of each post goes into one shared batch write; further
        # copies of a post in the same batch follow it one by one, in arrival order.
        firsts: dict[str, dict[str, tuple[int, PreparedMention, str]]] = {}
        later: list[tuple[int, PreparedMention, str]] = []
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
            per_tenant = firsts.setdefault(m.tenant_id, {})
            if m.id in per_tenant:
                later.append((i, m, trace_id))
            else:
                per_tenant[m.id] = (i, m, trace_id)

        tracer = trace.get_tracer("dengar.insights")
        with tracer.start_as_current_span("insights.store_batch", links=links,
                                          attributes={"dengar.batch_size": len(msgs)}):
            for tenant, entries in firsts.items():
                indexes = [i for i, _, _ in entries.values()]
                try:
                    states = await self._ingestor.states(tenant, entries)
                    results: Sequence[Result | BaseException] = await self._ingestor.ingest_many(
                        tenant, [(m, t) for _, m, t in entries.values()], states)
                except Exception as exc:
                    results = [exc] * len(indexes)
                self._record(msgs, outcomes, indexes, results)
            for i, m, trace_id in later:
                try:
                    result: Result | BaseException = await self._ingestor.ingest(m, trace_id=trace_id)
                except Exception as exc:
                    result = exc
                self._record(msgs, outcomes, [i], [result])
        return outcomes

    def _record(self, msgs: Sequence[Msg], outcomes: list[Outcome], indexes: Sequence[int],
                results: Sequence[Any]) -> None:
        for i, res in zip(indexes, results, strict=True):
            if isinstance(res, BaseException):
                logger.warning("storing the message on %s failed: %s", msgs[i].subject, res)
                outcomes[i] = res
            else:
                self.results[res.value] += 1
                if res is Result.STALE:
                    logger.info("ignored an older copy of a post on %s", msgs[i].subject)
