"""Upserting a mention and keeping the rollups exact: once per unique post, without transactions.

The problem: messages arrive at least once (redeliveries, the same post published under several
message ids, re-enrichments), several replicas consume concurrently, a process may die between
any two writes, and the store may be a standalone MongoDB with no multi-document transactions.
The rollups must nevertheless equal the sum of the contributions (domain/rollups.py) of the
mentions currently stored.

The scheme: each mention document remembers the contribution already applied to the rollups
(``contribution``) and a revision number (``rev``). A change is a two-phase operation recorded on
the mention itself, the only document that has to change atomically:

1. *Intent* (compare-and-set). Read the mention; if it has no ``pending`` operation, write the new
   post fields together with ``pending = {op: <uuid>, from: <applied contribution>, to: <new>}``
   guarded by ``rev`` (and bump ``rev``). A brand-new mention is inserted with ``rev = 1`` and
   the pending op in one ``insert_one``; the unique ``_id`` guards it. Of two replicas racing on
   one post, exactly one CAS (or insert) wins; the loser re-reads and starts again from the
   winner's state, so deltas chain: ``c0 → c1 → c2``, each step applied once.
2. *Apply*. For each bucket in ``delta(from, to)``, ``update_one({_id, tenant_id, ops: {$ne: op}},
   {$inc: delta, $push: {ops: {$each: [op], $slice: -2000}}}, upsert=True)``. The ``ops`` guard
   makes a second application of the same op a no-op, so any number of finishers may run an op
   concurrently or again after a crash. A duplicate-key error means the upsert lost a race with
   another insert of the same bucket, or the bucket already has the op: check, then retry. After
   each bucket but the last, ``pending.done`` records it, so a finisher resuming long after a
   crash skips buckets already applied instead of relying on the bounded ``ops`` window.
3. *Complete*. Guarded by ``pending.op == op``: set ``contribution = to``, unset ``pending``, bump
   ``rev``. Only one finisher's write matches; the others see nothing to do.

Whoever reads a mention with a pending op (a redelivery, a replica handling another copy of the
post) finishes that op first and then re-reads. A process that dies anywhere leaves either no
intent (nothing happened), or an intent that the next message for the post finishes: the
un-acked message itself comes back after the consumer's ack wait. A message that is dead-lettered
while its op is still pending (e.g. the store was down through all retries) leaves the counts of
that one post behind until the post arrives again (replaying the DLQ does that).

What counts as a change: an identical payload (same content hash) changes nothing; an older
collection of the post (``collected_at`` before the stored one) is ignored, so a late redelivery
cannot undo a newer re-collection or re-enrichment; anything else replaces the post fields, and
touches the rollups only when the contribution differs (e.g. negative → positive moves one count
in each of the post's buckets; a new engagement count moves nothing).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from dengar_insights.adapters.mentions import MentionRepository
from dengar_insights.adapters.rollups import RollupRepository
from dengar_insights.domain.mention import PreparedMention
from dengar_insights.domain.rollups import EMPTY, Contribution, delta

logger = logging.getLogger(__name__)

# Each retry means another writer changed the mention in between; with a handful of replicas a
# post settles in a few rounds, so hitting this means something is wrong, not busy.
MAX_ATTEMPTS = 50

Doc = dict[str, Any]


class Result(StrEnum):
    INSERTED = "inserted"
    UPDATED = "updated"  # fields and rollups changed
    REFRESHED = "refreshed"  # fields changed, rollup contribution the same
    DUPLICATE = "duplicate"
    STALE = "stale"


class ContentionError(RuntimeError):
    """The mention kept changing under us; the message is retried later."""


class _Unknown:
    """Marker: the caller has not read the mention's state."""


UNKNOWN = _Unknown()


def new_op() -> str:
    return uuid.uuid4().hex


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MentionIngestor:
    """Applies prepared mentions to the mentions and rollups collections, exactly once."""

    def __init__(self, mentions: MentionRepository, rollups: RollupRepository,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._mentions = mentions
        self._rollups = rollups
        self._clock = clock

    async def states(self, tenant_id: str, mention_ids: Iterable[str]) -> dict[str, Doc]:
        """Current ingest state of several mentions, to save one read per post in a batch."""
        return await self._mentions.get_states(tenant_id, mention_ids)

    async def ingest(self, m: PreparedMention, *, trace_id: str = "",
                     state: Doc | _Unknown | None = UNKNOWN) -> Result:
        """Store ``m`` and move the rollups by the change in its contribution."""
        tenant, mid = m.tenant_id, m.id
        current = await self._mentions.get_state(tenant, mid) if isinstance(state, _Unknown) else state
        for _ in range(MAX_ATTEMPTS):
            now = self._clock()
            if current is None:
                op = new_op()
                doc = {"_id": mid, **m.fields, "trace_id": trace_id, "content_hash": m.content_hash,
                       "first_seen_at": now, "updated_at": now, "rev": 1, "contribution": None,
                       "pending": self._pending(op, EMPTY, m.contribution, now)}
                if await self._mentions.insert_new(tenant, doc):
                    await self._finish(tenant, mid, doc["pending"])
                    return Result.INSERTED
            elif current.get("pending"):
                await self._finish(tenant, mid, current["pending"])
            elif current.get("content_hash") == m.content_hash:
                return Result.DUPLICATE
            elif m.collected_at < current["collected_at"]:
                return Result.STALE
            else:
                applied = Contribution.from_doc(current.get("contribution"))
                fields = {**m.fields, "trace_id": trace_id, "content_hash": m.content_hash,
                          "updated_at": now}
                if applied == m.contribution:
                    if await self._mentions.compare_and_set(tenant, mid, current["rev"], fields):
                        return Result.REFRESHED
                else:
                    pending = self._pending(new_op(), applied, m.contribution, now)
                    if await self._mentions.compare_and_set(tenant, mid, current["rev"],
                                                            {**fields, "pending": pending}):
                        await self._finish(tenant, mid, pending)
                        return Result.UPDATED
            # Lost a race or finished someone else's op: start again from the current state.
            current = await self._mentions.get_state(tenant, mid)
        raise ContentionError(f"mention {mid} of {tenant} kept changing; giving up for now")

    @staticmethod
    def _pending(op: str, old: Contribution, new: Contribution, at: datetime) -> Doc:
        return {"op": op, "from": old.to_doc(), "to": new.to_doc(), "at": at, "done": []}

    async def _finish(self, tenant_id: str, mention_id: str, pending: Mapping[str, Any]) -> None:
        """Apply a pending op's delta to every bucket it touches, then complete it. Idempotent."""
        op = pending["op"]
        target = Contribution.from_doc(pending.get("to"))
        changes = delta(Contribution.from_doc(pending.get("from")), target)
        done = set(pending.get("done") or ())
        todo = [(b, incs) for b, incs in changes.items() if b not in done]
        for n, (bucket, incs) in enumerate(todo, start=1):
            await self._rollups.apply(tenant_id, bucket, op, incs)
            # The last bucket needs no mark: completing the op comes next.
            if n < len(todo):
                await self._mentions.mark_applied(tenant_id, mention_id, op, bucket)
        if await self._mentions.complete(tenant_id, mention_id, op, target.to_doc(), self._clock()):
            logger.debug("op %s of %s/%s applied to %d buckets", op, tenant_id, mention_id, len(changes))
