"""Consumes enriched posts in batches and stores them as mentions (rollups included)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence

from nats.aio.msg import Msg

from dengar_common.bus import Outcome
from dengar_common.telemetry import current_trace_id, span_from_headers
from dengar_insights.adapters.ingest import UNKNOWN, MentionIngestor, Result
from dengar_insights.domain.mention import InvalidPost, PreparedMention, parse_enriched, prepare

logger = logging.getLogger(__name__)


def prepare_message(msg: Msg) -> PreparedMention:
    """Parse and validate one message; InvalidPost when it can never become a mention."""
    tenant = msg.subject.rsplit(".", 1)[-1]
    return prepare(parse_enriched(msg.data), subject_tenant=tenant)


class EnrichedPostHandler:
    """The PullWorker batch handler: one outcome per message, None meaning "ack"."""

    def __init__(self, ingestor: MentionIngestor, *, concurrency: int = 16) -> None:
        self._ingestor = ingestor
        self._concurrency = concurrency
        self.results: Counter[str] = Counter()

    async def __call__(self, msgs: Sequence[Msg]) -> list[Outcome]:
        outcomes: list[Outcome] = [None] * len(msgs)
        # Copies of one post in a batch are applied in order, one after the other; distinct posts
        # go concurrently (the ingest protocol is safe either way, order only decides who wins).
        groups: dict[tuple[str, str], list[tuple[int, PreparedMention]]] = {}
        for i, msg in enumerate(msgs):
            try:
                m = prepare_message(msg)
            except InvalidPost as exc:
                logger.warning("invalid enriched post on %s: %s", msg.subject, exc)
                outcomes[i] = exc
                continue
            groups.setdefault((m.tenant_id, m.id), []).append((i, m))
        if not groups:
            return outcomes

        by_tenant: dict[str, list[str]] = {}
        for tenant, mid in groups:
            by_tenant.setdefault(tenant, []).append(mid)
        states: dict[tuple[str, str], dict] = {}
        for tenant, ids in by_tenant.items():
            for mid, doc in (await self._ingestor.states(tenant, ids)).items():
                states[(tenant, mid)] = doc

        limit = asyncio.Semaphore(self._concurrency)

        async def run(key: tuple[str, str], items: list[tuple[int, PreparedMention]]) -> None:
            async with limit:
                state = states.get(key)
                for n, (i, m) in enumerate(items):
                    with span_from_headers("insights.ingest", msgs[i].headers,
                                           attributes={"dengar.tenant_id": m.tenant_id,
                                                       "dengar.mention_id": m.id}):
                        try:
                            result = await self._ingestor.ingest(
                                m, trace_id=current_trace_id(), state=state if n == 0 else UNKNOWN)
                        except Exception as exc:
                            logger.warning("ingest of %s/%s failed: %s", m.tenant_id, m.id, exc)
                            outcomes[i] = exc
                            continue
                    self.results[result.value] += 1
                    if result is Result.STALE:
                        logger.info("ignored an older copy of %s/%s", m.tenant_id, m.id)

        await asyncio.gather(*(run(k, v) for k, v in groups.items()))
        return outcomes
