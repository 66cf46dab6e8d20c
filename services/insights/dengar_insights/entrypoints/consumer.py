"""Consumes enriched posts in batches and hands them to the ingest use case as mentions."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nats.aio.msg import Msg
from opentelemetry import trace

from dengar_common import metrics
from dengar_common.bus import Outcome
from dengar_common.telemetry import consumer_span, current_trace_id
from dengar_common.tenant_data import Tombstones
from dengar_insights.domain.categories import EMPTY_SET, CategorySet
from dengar_insights.domain.mention import InvalidPost, PreparedMention, prepare
from dengar_insights.entrypoints.protos import enriched_from_proto, parse_enriched
from dengar_insights.service_layer.alerts import AlertEngine
from dengar_insights.service_layer.backfill import IncomingTags
from dengar_insights.service_layer.categories import CategoryTagger
from dengar_insights.service_layer.ingest import MentionIngestor, Result
from dengar_insights.service_layer.ports import MentionEvents
from dengar_insights.service_layer.retention import RetentionCutoffs

logger = logging.getLogger(__name__)


def _tenant(msg: Msg) -> str:
    return msg.subject.rsplit(".", 1)[-1]


def _prepare_all(msgs: Sequence[Msg], category_sets: dict[str, CategorySet | Exception]
                 ) -> list[PreparedMention | InvalidPost]:
    """Each message as a mention (assigned its categories when they are available), or why it is
    invalid."""
    out: list[PreparedMention | InvalidPost] = []
    for msg in msgs:
        categories = category_sets[_tenant(msg)]
        try:
            enriched = enriched_from_proto(parse_enriched(msg.data))
            out.append(prepare(enriched, subject_tenant=_tenant(msg),
                               categories=EMPTY_SET if isinstance(categories, Exception) else categories))
        except InvalidPost as exc:
            out.append(exc)
    return out


@dataclass
class _Prepared:
    """A batch after ``EnrichedPostHandler.prepare``: what ``commit`` stores."""

    msgs: Sequence[Msg]
    outcomes: list[Outcome]
    # Positions in ``msgs`` of ``items``: the valid posts to store, with their trace ids.
    indexes: list[int] = field(default_factory=list)
    items: list[tuple[PreparedMention, str]] = field(default_factory=list)
    states: dict[str, dict[str, dict[str, Any]]] | None = None
    links: list[trace.Link] = field(default_factory=list)
    parents: list[trace.SpanContext] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    dropped: int = 0


def _nothing() -> None:
    pass


async def _done() -> None:
    pass


class EnrichedPostHandler:
    """The PullWorker batch handler: one outcome per message, None meaning "ack".

    With a ``tagger``, each mention is assigned its tenant's categories; a tenant whose categories
    cannot be loaded has its messages retried (an error outcome) rather than stored untagged.
    With ``tags``, tags given before a query or category change that reached the store after its
    backfill had passed are fixed.

    With ``events``, every mention inserted or changed is announced on the mention-event stream
    (live streams) before its message is acked; a failed publish fails the message, whose
    redelivery finds a duplicate and publishes again (the server drops the repeat). A duplicate
    on a first delivery is a post seen before under another message id: not announced again.
    """

    def __init__(self, ingestor: MentionIngestor, tagger: CategoryTagger | None = None,
                 tags: IncomingTags | None = None, events: MentionEvents | None = None,
                 alerts: AlertEngine | None = None, deleted: Tombstones | None = None,
                 retention: RetentionCutoffs | None = None, consumer_group: str = "insights") -> None:
        self._ingestor = ingestor
        self._consumer_group = consumer_group
        self._deleted = deleted
        self._retention = retention
        self._alerts = alerts
        self._tagger = tagger
        self._tags = tags
        self._events = events
        self.results: Counter[str] = Counter()

    async def _category_sets(self, msgs: Sequence[Msg]) -> dict[str, CategorySet | Exception]:
        out: dict[str, CategorySet | Exception] = {}
        for tenant in dict.fromkeys(_tenant(m) for m in msgs):
            if self._tagger is None:
                out[tenant] = EMPTY_SET
                continue
            try:
                out[tenant] = await self._tagger.category_set(tenant)
            except Exception as exc:
                logger.warning("categories of %s unavailable; its messages are retried: %s", tenant, exc)
                out[tenant] = exc
        return out

    async def __call__(self, msgs: Sequence[Msg]) -> list[Outcome]:
        return await self.commit(await self.prepare(msgs), _nothing)

    async def prepare(self, msgs: Sequence[Msg]) -> _Prepared:
        """The reads of a batch: decoding, categories, retention, the tag check and the stored
        states of its posts. The worker runs this for the next batch while ``commit`` finishes
        the one before; nothing here writes, so the batches still reach the store in order."""
        batch = _Prepared(msgs=msgs, outcomes=[None] * len(msgs))
        keep = list(range(len(msgs)))
        if self._deleted is not None:
            deleted = await self._deleted.deleted()
            # Messages of a deleted tenant still in flight: acked and dropped, never stored.
            keep = [i for i, m in enumerate(msgs) if _tenant(m) not in deleted]
            batch.dropped = len(msgs) - len(keep)
        if not keep:
            return batch
        kept = [msgs[i] for i in keep]
        category_sets = await self._category_sets(kept)
        # Decoding and category matching are CPU-bound (long posts, proximity expressions): they run
        # in a worker thread so that the event loop keeps serving everything else meanwhile.
        prepared = await asyncio.to_thread(_prepare_all, kept, category_sets)
        cutoffs = await self._cutoffs(kept)
        for i, m in zip(keep, prepared, strict=True):
            msg = msgs[i]
            with consumer_span(msg.subject, msg.headers, consumer_group=self._consumer_group,
                               message_id=(msg.headers or {}).get("Nats-Msg-Id")) as span:
                # The mention records the trace of the message that wrote it (HTTP → ... → here).
                trace_id = current_trace_id()
                if span.get_span_context().is_valid:
                    batch.links.append(trace.Link(span.get_span_context()))
                    batch.parents.append(span.get_span_context())
                if isinstance(m, InvalidPost):
                    span.record_exception(m)
                    logger.warning("invalid enriched post on %s: %s", msg.subject, m)
                    batch.outcomes[i] = m
                    continue
                categories = category_sets[_tenant(msg)]
                if isinstance(categories, Exception):
                    # Only a valid post waits for its categories; an invalid one is refused above.
                    batch.outcomes[i] = categories
                    continue
                cutoff = cutoffs[_tenant(msg)]
                if cutoff is not None and m.fields["created_at"] < cutoff:
                    # Already past its tenant's retention: acked, not stored (docs/retention.md).
                    batch.expired.append(i)
                    continue
            batch.indexes.append(i)
            batch.items.append((m, trace_id))
        if self._tags is not None and batch.items:
            # The tag check and the read of the posts' stored states are independent reads: in
            # parallel, one store round trip less in each batch's latency.
            adjusted, read = await asyncio.gather(self._tags.adjust(batch.items),
                                                  self._ingestor.batch_states(batch.items),
                                                  return_exceptions=True)
            if isinstance(adjusted, BaseException):
                # A failure here fails the batch (retried): stale tags would undo a backfill.
                raise adjusted
            batch.items = adjusted
            # A failed read is made again (and reported per message) by ingest_batch.
            batch.states = None if isinstance(read, BaseException) else read
        return batch

    async def commit(self, batch: _Prepared, ready: Callable[[], None]) -> list[Outcome]:
        """Store a prepared batch, announce and alert; one outcome per message, None meaning "ack".
        ``ready`` is called when the batch reaches its last store write (the next one's
        ``prepare`` may run meanwhile)."""
        msgs, outcomes, indexes, items = batch.msgs, batch.outcomes, batch.indexes, batch.items
        if batch.dropped:
            self.results["dropped_deleted_tenant"] += batch.dropped
            logger.info("dropped %d messages of deleted tenants", batch.dropped)
        for i in batch.expired:
            self.results["expired"] += 1
            metrics.instruments().posts_stored.add(
                1, metrics.attrs({"dengar.result": "expired"}, _tenant(msgs[i])))
        if not items:
            return outcomes
        tracer = trace.get_tracer("dengar.insights")
        # One store call serves the whole batch. When every message belongs to one trace (a request,
        # an import's chunk) the store span continues it, so that trace reaches the database; a
        # batch mixing traces starts its own and links each message's span.
        parents = batch.parents
        parent = (trace.set_span_in_context(trace.NonRecordingSpan(parents[0]))
                  if parents and len({p.trace_id for p in parents}) == 1 else None)
        with tracer.start_as_current_span("store mentions", context=parent, links=batch.links,
                                          attributes={"messaging.batch.message_count": len(msgs)}):
            results = await self._ingestor.ingest_batch(items, batch.states, completing=ready)
            new: dict[str, list[dict[str, object]]] = {}
            for (m, _), res in zip(items, results, strict=True):
                # Only a first insert is new: a redelivered or updated post never re-alerts.
                if res is Result.INSERTED:
                    new.setdefault(m.tenant_id, []).append({"_id": m.id, **m.fields})
            # Still in the store span: the mention events and alert checks it causes are part of
            # the same trace rather than traces of their own. Independent of each other, so
            # together: the alert checks never fail and never hold up the announcements' order.
            await asyncio.gather(
                self._announce(msgs, indexes, items, results, outcomes) if self._events is not None
                else _done(),
                *((self._alerts.on_mentions(tenant, docs) for tenant, docs in new.items())
                  if self._alerts is not None else ()))
        for i, res in zip(indexes, results, strict=True):
            if isinstance(res, BaseException):
                logger.warning("storing the message on %s failed: %s", msgs[i].subject, res)
                outcomes[i] = res
            else:
                self.results[res.value] += 1
                metrics.instruments().posts_stored.add(
                    1, metrics.attrs({"dengar.result": res.value}, _tenant(msgs[i])))
                if res is Result.STALE:
                    logger.info("ignored an older copy of a post on %s", msgs[i].subject)
        return outcomes

    async def _cutoffs(self, msgs: Sequence[Msg]) -> dict[str, datetime | None]:
        out: dict[str, datetime | None] = {}
        for tenant in dict.fromkeys(_tenant(m) for m in msgs):
            try:
                out[tenant] = await self._retention.cutoff(tenant) if self._retention else None
            except Exception as exc:
                # Stored then, and removed by the next sweep.
                logger.warning("retention of %s unavailable: %s", tenant, exc)
                out[tenant] = None
        return out

    async def _announce(self, msgs: Sequence[Msg], indexes: Sequence[int],
                        items: Sequence[tuple[PreparedMention, str]],
                        results: Sequence[Result | BaseException], outcomes: list[Outcome]) -> None:
        assert self._events is not None
        todo: list[tuple[int, PreparedMention]] = []
        for i, (m, _), res in zip(indexes, items, results, strict=True):
            if isinstance(res, BaseException) or res is Result.STALE:
                continue
            if res is Result.DUPLICATE and _deliveries(msgs[i]) <= 1:
                continue
            todo.append((i, m))
        published = await asyncio.gather(
            *(self._events.publish(m.tenant_id, m.id, m.content_hash) for _, m in todo),
            return_exceptions=True)
        for (i, m), res in zip(todo, published, strict=True):
            if isinstance(res, BaseException):
                logger.warning("announcing mention %s failed; its message is retried: %s", m.id, res)
                outcomes[i] = res


def _deliveries(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered or 1)
    except Exception:  # not a JetStream message (tests hand plain ones)
        return 1
