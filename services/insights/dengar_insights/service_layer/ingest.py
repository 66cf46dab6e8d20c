"""Use case: store enriched posts as mentions, rollups exact once per post, without transactions.

The problem: messages arrive at least once (redeliveries, the same post published under several
message ids, re-enrichments), several replicas consume concurrently, a process may die between
any two writes, and the store may be a standalone MongoDB with no multi-document transactions.
The rollups must nevertheless equal the sum of the contributions (domain/rollups.py) of the
mentions currently stored.

The scheme: each mention document remembers the contribution already applied to the rollups
(``contribution``) and a revision number (``rev``). A change is a two-phase operation recorded on
the mention itself, the only document that has to change atomically:

1. *Intent* (compare-and-set). Read the mention; if it has no ``pending`` operation, write the new
   post fields together with ``pending = {op: <uuid>, batch: <batch id>, from: <applied
   contribution>, to: <new>}`` guarded by ``rev`` (and bump ``rev``). A brand-new mention is
   inserted with ``rev = 1`` and the pending op in one insert; the unique ``_id`` guards it. Of
   two replicas racing on one post, exactly one CAS (or insert) wins; the loser re-reads and
   starts again from the winner's state, so deltas chain: ``c0 → c1 → c2``, each step applied once.
   Every intent written by one call (``ingest_many``: a consumer batch) carries the same batch id.
2. *Record*. The writer inserts the batch record (``rollup_batches``, keyed by the batch id): the
   ops of the intents it won, their increments summed per bucket, and a writer *lane* with the
   lane's next sequence number ``seq``.
3. *Apply*. One bulk write, one update per bucket: ``{$inc: sum, $set: {lanes.<lane>: seq}}``
   guarded by ``lanes.<lane>`` missing or below ``seq``. The guard makes a second application of
   the batch a no-op, so any number of finishers may apply it concurrently or again after a
   crash. A lane applies its batches one at a time, in ``seq`` order, and is given up (a fresh
   one is taken) after any failure from its record on; so ``lanes.<lane> >= seq`` on a bucket
   means batch ``seq`` reached it. A lane is one writer in one process: a bucket document holds
   one small number per lane that ever wrote to it, whatever the number of posts.
4. *Complete*. Guarded by ``pending.op == op``: set ``contribution = to``, unset ``pending``, bump
   ``rev``; one bulk write for the batch. Only one finisher's write matches; the others see
   nothing to do.
5. *Clean up*. Once every op of its batch completed here, the writer deletes the batch record,
   but not on the batch's path: the finished ids of a tenant are deleted in one write that runs
   in parallel with the writer's next batch record (or at shutdown, ``flush``). Nothing needs the
   record of a finished batch: only a finisher holding one of its ops still pending reads it, and
   none is pending any more (a finisher that read an op just before its completion finds the
   record and applies and completes nothing, since the lane and the op guards hold). So deleting
   it late, or never (the writer died first), costs only the space of a small record.

A finisher that reads a mention with a pending op in a batch it does not own (a redelivery, a
replica handling another copy of the post) looks up the batch record. If there is none, the
writer died (or is slow) between intent and record: the finisher inserts an *aborted* record
under that id, which the writer can then no longer insert, so the batch is never applied. Then,
or when the record does not list the op (its intent write failed from the writer's point of view
but reached the store), the finisher moves the op to a batch of its own (guarded by ``pending.op``
and the old batch id) and records, applies and completes that one. Otherwise it applies the
recorded batch (a no-op where it arrived) and completes its op. Records are deleted only by the
writer once all its ops completed, so one that a crash left behind stays: a resumption, however
late, finds it. A finisher that finds no record, then fails to abort the id because the writer
recorded it, and then finds no record again, saw the writer finish the batch: it re-reads.

A batch from the bus (``ingest_batch``) is split per tenant: the first copy of each post goes
through ``ingest_many``, further copies of a post in the same batch follow one by one, in order.
A batch of distinct new posts costs one read of their states, one bulk insert, the record, one
bulk rollup write and one bulk completion: five round trips in sequence whatever its size, and
bytes written per post that do not grow with the number of stored posts; the record's deletion
rides along with the next batch's record.

Operations left pending by the version before batches (no ``pending.batch``) are finished as that
version did: per bucket, guarded by the op ids in the bucket's ``ops`` and the mention's marks.

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

Re-tagging (``retag``, used by backfills when a listening query changes) is the same protocol on a
stored mention: finish a pending op first; if the tag is already as wanted, nothing; otherwise a CAS
on ``rev`` sets the new tag list with ``pending = {from: applied contribution, to: the contribution
recomputed from the stored document with the new tags}``, then apply and complete. The content hash
is left alone, so a redelivery of the same post stays a duplicate and keeps the new tags; a newer
collection of the post replaces them with the collector's tags, which already follow the change.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

from dengar_common.errors import Unavailable
from dengar_insights.domain.backfill import desired_tags
from dengar_insights.domain.mention import PreparedMention, stored_contribution
from dengar_insights.domain.rollups import EMPTY, OPS_WINDOW, Contribution, delta
from dengar_insights.service_layer.ports import MentionRepository, RollupRepository

logger = logging.getLogger(__name__)

# Each retry means another writer changed the mention in between; with a handful of replicas a
# post settles in a few rounds, so hitting this means something is wrong, not busy.
MAX_ATTEMPTS = 50
# Ops recorded on a rollup document per write; well inside its memory of OPS_WINDOW ops
# (only for ops left pending by the version before batches).
OPS_PER_WRITE = OPS_WINDOW // 8
# Finishers taking over each other's batches; more means something is wrong, not busy.
MAX_REBATCH = 10
# Records of finished batches waiting for their deletion, per tenant; beyond that (the store
# failing the deletions for long) the oldest are left behind, which costs only their space.
MAX_SPENT = 10_000

Doc = dict[str, Any]
T = TypeVar("T")


class Result(StrEnum):
    INSERTED = "inserted"
    UPDATED = "updated"  # fields and rollups changed
    REFRESHED = "refreshed"  # fields changed, rollup contribution the same
    DUPLICATE = "duplicate"
    STALE = "stale"


class Retagged(NamedTuple):
    """What ``retag`` found and did: whether the mention matches, whether its tags changed."""

    matched: bool
    changed: bool


class ContentionError(RuntimeError):
    """The mention kept changing under us; the message is retried later."""


class _Unknown:
    """Marker: the caller has not read the mention's state."""


UNKNOWN = _Unknown()


def new_op() -> str:
    # 64 random bits: op ids only have to differ per mention, batch ids among the live records.
    return uuid.uuid4().hex[:16]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Lane:
    """A writer of rollup batches: applies its batches one at a time, numbered in order."""

    __slots__ = ("id", "seq")

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex[:16]
        self.seq = 0


class MentionIngestor:
    """Applies prepared mentions to the mentions and rollups collections, exactly once."""

    def __init__(self, mentions: MentionRepository, rollups: RollupRepository,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._mentions = mentions
        self._rollups = rollups
        self._clock = clock
        # Lanes not applying a batch right now; one is created when every lane is busy.
        self._idle_lanes: list[_Lane] = []
        # Per tenant, finished batches whose records are deleted together with the next record
        # written (or by ``flush``), off the path of the batch that finished them.
        self._spent: dict[str, list[str]] = {}

    async def states(self, tenant_id: str, mention_ids: Iterable[str]) -> dict[str, Doc]:
        """Current ingest state of several mentions, to save one read per post in a batch."""
        return await self._mentions.get_states(tenant_id, mention_ids)

    def _new_doc(self, m: PreparedMention, trace_id: str, now: datetime, batch: str) -> Doc:
        return {"_id": m.id, **m.fields, "trace_id": trace_id, "content_hash": m.content_hash,
                "first_seen_at": now, "updated_at": now, "rev": 1,
                "pending": _pending(new_op(), batch, EMPTY, m.contribution, now)}

    @staticmethod
    def _fields(m: PreparedMention, trace_id: str, now: datetime) -> Doc:
        return {**m.fields, "trace_id": trace_id, "content_hash": m.content_hash, "updated_at": now}

    async def batch_states(self, items: Sequence[tuple[PreparedMention, str]]
                           ) -> dict[str, dict[str, Doc]]:
        """Per tenant, the current ingest state of the posts in ``items``: what ``ingest_batch``
        reads first, for a caller that reads it in parallel with other work and passes it on."""
        by_tenant: dict[str, dict[str, None]] = {}
        for m, _ in items:
            by_tenant.setdefault(m.tenant_id, {})[m.id] = None
        tenants = list(by_tenant)
        found = await asyncio.gather(*(self.states(t, by_tenant[t]) for t in tenants))
        return dict(zip(tenants, found, strict=True))

    async def ingest_batch(self, items: Sequence[tuple[PreparedMention, str]],
                           states: Mapping[str, Mapping[str, Doc]] | None = None, *,
                           completing: Callable[[], None] | None = None
                           ) -> list[Result | BaseException]:
        """Store (mention, trace id) pairs in arrival order; one result or error per pair.

        Per tenant, the first copy of each post goes into one shared batch write; further copies
        of a post in the same batch follow it one by one, in arrival order. ``states``: from
        ``batch_states`` for these items (read again where a tenant is missing); a stale one only
        costs a lost compare-and-set, as with a concurrent replica. ``completing``: called when
        a tenant's shared batch write reaches its completion (its last write before the counts are
        in; once per tenant), e.g. to start reading the next batch meanwhile.
        """
        out: list[Result | BaseException] = [RuntimeError("no result")] * len(items)
        firsts: dict[str, dict[str, int]] = {}
        later: list[int] = []
        for i, (m, _) in enumerate(items):
            per_tenant = firsts.setdefault(m.tenant_id, {})
            if m.id in per_tenant:
                later.append(i)
            else:
                per_tenant[m.id] = i
        for tenant, entries in firsts.items():
            indexes = list(entries.values())
            results: Sequence[Result | BaseException]
            try:
                known = states.get(tenant) if states is not None else None
                current = known if known is not None else await self.states(tenant, entries)
                results = await self.ingest_many(tenant, [items[i] for i in indexes], current,
                                                 completing=completing)
            except Exception as exc:
                results = [exc] * len(indexes)
            for i, res in zip(indexes, results, strict=True):
                out[i] = res
        for i in later:
            m, trace_id = items[i]
            try:
                out[i] = await self.ingest(m, trace_id=trace_id)
            except Exception as exc:
                out[i] = exc
        return out

    async def ingest(self, m: PreparedMention, *, trace_id: str = "",
                     state: Doc | _Unknown | None = UNKNOWN) -> Result:
        """Store ``m`` and move the rollups by the change in its contribution."""
        tenant, mid = m.tenant_id, m.id
        current = await self._mentions.get_state(tenant, mid) if isinstance(state, _Unknown) else state
        for _ in range(MAX_ATTEMPTS):
            now = self._clock()
            batch = new_op()
            if current is None:
                doc = self._new_doc(m, trace_id, now, batch)
                if await self._mentions.insert_new(tenant, doc):
                    await self._finish(tenant, [(mid, doc["pending"])], own=batch)
                    return Result.INSERTED
            elif current.get("pending"):
                await self._finish(tenant, [(mid, current["pending"])])
            elif (done := _settled(m, current)) is not None:
                return done
            else:
                applied = Contribution.from_doc(current.get("contribution"))
                fields = self._fields(m, trace_id, now)
                if applied == m.contribution:
                    if await self._mentions.compare_and_set(tenant, mid, current["rev"], fields):
                        return Result.REFRESHED
                else:
                    pending = _pending(new_op(), batch, applied, m.contribution, now)
                    if await self._mentions.compare_and_set(tenant, mid, current["rev"],
                                                            {**fields, "pending": pending}):
                        await self._finish(tenant, [(mid, pending)], own=batch)
                        return Result.UPDATED
            # Lost a race or finished someone else's op: start again from the current state.
            current = await self._mentions.get_state(tenant, mid)
        raise ContentionError(f"mention {mid} of {tenant} kept changing; giving up for now")

    async def ingest_many(self, tenant_id: str, items: Sequence[tuple[PreparedMention, str]],
                          states: Mapping[str, Doc], *, completing: Callable[[], None] | None = None
                          ) -> list[Result | BaseException]:
        """The same as ``ingest`` for distinct mentions of one tenant, sharing the writes.

        The common cases (new posts, changed posts nobody else is touching) take one bulk insert,
        the CAS writes, one rollup update per touched bucket for the whole batch, one progress
        mark per bucket and one bulk completion. Whatever lost a race, or found an op pending,
        goes through ``ingest`` one by one. ``states`` comes from ``states()``; absent means new.
        """
        if len({m.id for m, _ in items}) != len(items):
            raise ValueError("ingest_many needs distinct mentions")
        if any(m.tenant_id != tenant_id for m, _ in items):
            raise ValueError("ingest_many needs mentions of one tenant")
        results: list[Result | BaseException | None] = [None] * len(items)
        slow: list[int] = []
        fresh: list[tuple[int, Doc]] = []
        changes: list[tuple[int, int, Doc, Doc | None]] = []
        now = self._clock()
        batch = new_op()
        for i, (m, trace_id) in enumerate(items):
            current = states.get(m.id)
            if current is None:
                fresh.append((i, self._new_doc(m, trace_id, now, batch)))
            elif current.get("pending"):
                slow.append(i)
            elif (done := _settled(m, current)) is not None:
                results[i] = done
            else:
                applied = Contribution.from_doc(current.get("contribution"))
                pending = (None if applied == m.contribution
                           else _pending(new_op(), batch, applied, m.contribution, now))
                changes.append((i, current["rev"], self._fields(m, trace_id, now), pending))

        # Phase 1, intents: the bulk insert and the CAS writes decide who owns each change.
        winners: list[tuple[int, Doc, Result]] = []
        inserted = await self._mentions.insert_many_new(tenant_id, [d for _, d in fresh])
        for (i, doc), ok in zip(fresh, inserted, strict=True):
            if ok:
                winners.append((i, doc["pending"], Result.INSERTED))
            else:
                slow.append(i)
        cas = await asyncio.gather(*(
            self._mentions.compare_and_set(tenant_id, items[i][0].id, rev,
                                           fields if pending is None else {**fields, "pending": pending})
            for i, rev, fields, pending in changes), return_exceptions=True)
        for (i, _, _, pending), swapped in zip(changes, cas, strict=True):
            if isinstance(swapped, BaseException):
                results[i] = swapped
            elif not swapped:
                slow.append(i)
            elif pending is None:
                results[i] = Result.REFRESHED
            else:
                winners.append((i, pending, Result.UPDATED))

        # Phases 2 and 3 for every winner together. On failure each winner's op stays pending,
        # and the redelivery of its message finishes it.
        if winners:
            try:
                await self._finish(tenant_id, [(items[i][0].id, p) for i, p, _ in winners], own=batch,
                                   completing=completing)
                for i, _, result in winners:
                    results[i] = result
            except Exception as exc:
                for i, _, _ in winners:
                    results[i] = exc

        retried = await asyncio.gather(
            *(self.ingest(items[i][0], trace_id=items[i][1]) for i in slow), return_exceptions=True)
        for i, res in zip(slow, retried, strict=True):
            results[i] = res
        return [r if r is not None else RuntimeError("no result") for r in results]

    async def retag(self, tenant_id: str, doc: Mapping[str, Any] | None, field: str, target_id: str,
                    matches: Callable[[Mapping[str, Any]], bool]) -> Retagged:
        """Make ``target_id`` present in the mention's ``field`` iff ``matches(mention)``, moving the
        rollups by the change in its contribution, exactly once.

        ``doc`` is the stored mention with its bookkeeping (as ``MentionRepository.scan`` returns
        it; None: read it). ``matches`` is evaluated on the current document of every attempt, so a
        concurrent re-collection of the post is judged by its new text; it runs in a worker thread.
        """
        current = doc
        mid = doc["_id"] if doc is not None else None
        for attempt in range(MAX_ATTEMPTS):
            if current is None:
                if mid is None:
                    raise ValueError("retag needs the mention")
                current = await self._mentions.get_document(tenant_id, mid)
                if current is None:
                    return Retagged(False, False)
            mid = current["_id"]
            if current.get("tenant_id") != tenant_id:
                raise ValueError(f"mention {mid} is not of tenant {tenant_id}")
            if current.get("pending"):
                await self._finish(tenant_id, [(mid, current["pending"])])
            else:
                # CPU-bound (a long post, proximity queries): off the event loop.
                wanted = await asyncio.to_thread(matches, current)
                tags = desired_tags(list(current.get(field) or ()), target_id, wanted)
                if tags is None:
                    return Retagged(wanted, False)
                applied = Contribution.from_doc(current.get("contribution"))
                target = stored_contribution(current, **{field: tags})
                fields: Doc = {field: tags}
                batch = new_op()
                pending = (None if applied == target
                           else _pending(new_op(), batch, applied, target, self._clock()))
                if pending is not None:
                    fields["pending"] = pending
                if await self._mentions.compare_and_set(tenant_id, mid, current["rev"], fields):
                    if pending is not None:
                        await self._finish(tenant_id, [(mid, pending)], own=batch)
                    return Retagged(wanted, True)
            logger.debug("retag of %s: attempt %d lost a race", mid, attempt + 1)
            current = None
        raise ContentionError(f"mention {mid} of {tenant_id} kept changing; giving up for now")

    async def _finish(self, tenant_id: str, pendings: Sequence[tuple[str, Mapping[str, Any]]], *,
                      own: str | None = None, completing: Callable[[], None] | None = None) -> None:
        """Apply pending ops to the rollups, then complete them. Idempotent.

        ``own``: the batch id of intents this call just wrote (each of ``pendings`` then carries
        it and this call records the batch); None: ops read from the store, in whatever batch.
        """
        legacy = [(mid, p) for mid, p in pendings if not p.get("batch")]
        if legacy:
            await self._finish_legacy(tenant_id, legacy)
        by_batch: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        for mid, p in pendings:
            if p.get("batch"):
                by_batch.setdefault(p["batch"], []).append((mid, p))
        for batch, group in by_batch.items():
            if batch == own:
                await self._run_batch(tenant_id, batch, group, 0, completing)
            else:
                await self._resume_batch(tenant_id, batch, group, 0)

    async def _run_batch(self, tenant_id: str, batch: str, pendings: Sequence[tuple[str, Mapping[str, Any]]],
                         depth: int, completing: Callable[[], None] | None = None) -> None:
        """Record, apply and complete a batch whose intents this call wrote (see the module doc)."""
        sums: dict[str, Counter[str]] = {}
        for _, p in pendings:
            for bucket, incs in delta(Contribution.from_doc(p.get("from")),
                                      Contribution.from_doc(p.get("to"))).items():
                sums.setdefault(bucket, Counter()).update(incs)
        buckets = {b: {k: n for k, n in c.items() if n} for b, c in sorted(sums.items())}
        buckets = {b: incs for b, incs in buckets.items() if incs}
        if buckets:
            lane = self._idle_lanes.pop() if self._idle_lanes else _Lane()
            lane.seq += 1
            record = {"_id": batch, "tenant_id": tenant_id, "lane": lane.id, "seq": lane.seq,
                      "buckets": _buckets_to_doc(buckets), "ops": [p["op"] for _, p in pendings],
                      "at": self._clock()}
            # Any failure from here on may leave this batch half applied: the lane is dropped, so
            # that none of its later batches can pass for this one on a bucket it did not reach.
            recorded, _ = await asyncio.gather(self._rollups.insert_batch(tenant_id, record),
                                               self._delete_spent(quiet=True))
            if recorded:
                await self._rollups.apply_batch(tenant_id, lane.id, lane.seq, buckets)
            self._idle_lanes.append(lane)
            if not recorded:
                # A finisher aborted the batch before we recorded it: nothing of it was applied.
                await self._rebatch(tenant_id, batch, pendings, depth + 1)
                return
        if completing is not None:
            completing()
        completed = await self._complete(tenant_id, pendings)
        if buckets and completed == len(pendings):
            # Deleted later: nothing reads the record of a finished batch (see the module doc).
            spent = self._spent.setdefault(tenant_id, [])
            spent.append(batch)
            del spent[:-MAX_SPENT]
        logger.debug("batch %s of %s: %d ops over %d buckets, %d completed here", batch, tenant_id,
                     len(pendings), len(buckets), completed)

    async def flush(self) -> None:
        """Delete the records of finished batches now (at shutdown); raises what the store raised."""
        await self._delete_spent(quiet=False)

    async def _delete_spent(self, *, quiet: bool) -> None:
        """Delete the records of the finished batches; ``quiet``: a store failure is logged and the
        records are tried again with the next batch."""
        while self._spent:
            tenant_id, ids = self._spent.popitem()
            try:
                await self._rollups.delete_batches(tenant_id, ids)
            except Exception as exc:
                spent = self._spent.setdefault(tenant_id, [])
                spent[:0] = ids
                del spent[:-MAX_SPENT]
                if not (quiet and isinstance(exc, Unavailable)):
                    raise
                logger.warning("deleting %d finished batch records of %s failed; tried again with "
                               "the next batch", len(ids), tenant_id)
                return

    async def _resume_batch(self, tenant_id: str, batch: str,
                            pendings: Sequence[tuple[str, Mapping[str, Any]]], depth: int) -> None:
        """Finish ops found pending in someone else's batch (see the module doc)."""
        record = await self._rollups.get_batch(tenant_id, batch)
        if record is None:
            record = await self._rollups.abort_batch(tenant_id, batch, self._clock())
            if record is None:
                # Its writer recorded, applied, completed and deleted it between our two reads: the
                # caller re-reads the mentions (an op of the batch that the record did not list is
                # still pending, and the next finisher aborts the id, which is free again).
                return
        covered: list[tuple[str, Mapping[str, Any]]] = []
        uncovered: list[tuple[str, Mapping[str, Any]]] = []
        ops = set() if record.get("aborted") else set(record.get("ops") or ())
        for mid, p in pendings:
            (covered if p["op"] in ops else uncovered).append((mid, p))
        if covered:
            await self._rollups.apply_batch(tenant_id, record["lane"], record["seq"],
                                            _buckets_from_doc(record["buckets"]))
            await self._complete(tenant_id, covered)
        if uncovered:
            await self._rebatch(tenant_id, batch, uncovered, depth + 1)

    async def _rebatch(self, tenant_id: str, batch: str, pendings: Sequence[tuple[str, Mapping[str, Any]]],
                       depth: int) -> None:
        """Move ops that ``batch`` will never apply to a new batch of ours, and run it."""
        if depth > MAX_REBATCH:
            raise ContentionError(f"ops of batch {batch} of {tenant_id} kept being taken over")
        fresh = new_op()
        await self._mentions.move_pending(tenant_id, [(mid, p["op"]) for mid, p in pendings], batch, fresh)
        ops = {mid: p["op"] for mid, p in pendings}
        states = await self._mentions.get_states(tenant_id, ops)
        # Only what we moved; an op moved or completed by someone else is theirs to finish.
        mine = [(mid, s["pending"]) for mid, s in states.items()
                if (s.get("pending") or {}).get("batch") == fresh and s["pending"].get("op") == ops[mid]]
        if mine:
            await self._run_batch(tenant_id, fresh, mine, depth)

    async def _complete(self, tenant_id: str, pendings: Sequence[tuple[str, Mapping[str, Any]]]) -> int:
        return await self._mentions.complete(tenant_id, [(mid, p["op"]) for mid, p in pendings],
                                             self._clock())

    async def _finish_legacy(self, tenant_id: str, pendings: Sequence[tuple[str, Mapping[str, Any]]]
                             ) -> None:
        """Apply ops left pending by the version before batches to every bucket they touch, then
        complete them. Idempotent.

        Buckets go one at a time; after each, the mentions that still have buckets to go record
        it in ``pending.done``, so that a finisher resuming after a crash skips it.
        """
        by_bucket: dict[str, list[tuple[str, str, dict[str, int]]]] = {}
        remaining: dict[str, set[str]] = {}
        targets: list[tuple[str, str]] = []
        for mid, pending in pendings:
            op = pending["op"]
            target = Contribution.from_doc(pending.get("to"))
            targets.append((mid, op))
            done = set(pending.get("done") or ())
            changes = delta(Contribution.from_doc(pending.get("from")), target)
            remaining[mid] = set(changes) - done
            for bucket in remaining[mid]:
                by_bucket.setdefault(bucket, []).append((mid, op, changes[bucket]))
        for bucket in sorted(by_bucket):
            group = by_bucket[bucket]
            for chunk in _chunks(group, OPS_PER_WRITE):
                await self._rollups.apply_many(tenant_id, bucket, [(op, incs) for _, op, incs in chunk])
            to_mark = []
            for mid, op, _ in group:
                remaining[mid].discard(bucket)
                # The last bucket needs no mark: completing the op comes next.
                if remaining[mid]:
                    to_mark.append((mid, op))
            await self._mentions.mark_applied(tenant_id, to_mark, bucket)
        completed = await self._mentions.complete(tenant_id, targets, self._clock())
        logger.debug("completed %d/%d ops of %s over %d buckets", completed, len(targets), tenant_id,
                     len(by_bucket))


def _buckets_to_doc(buckets: Mapping[str, Mapping[str, int]]) -> bytes:
    """Per-bucket increments, stored compressed: this record is written for every batch, only
    ever read back whole by a finisher, and its counter paths repeat (``queries.<id>.…`` under
    every bucket), so deflated JSON costs a fraction of the BSON of one ``[path, n]`` pair per
    counter (and counter paths have dots, which field names must not)."""
    text = json.dumps([[bucket, dict(incs)] for bucket, incs in buckets.items()], separators=(",", ":"))
    return zlib.compress(text.encode("utf-8"))


def _buckets_from_doc(doc: bytes | Sequence[Sequence[Any]]) -> dict[str, dict[str, int]]:
    if isinstance(doc, bytes | bytearray):
        return {bucket: {k: int(n) for k, n in incs.items()}
                for bucket, incs in json.loads(zlib.decompress(doc).decode("utf-8"))}
    # A record written before the compressed form: [[bucket, [[path, n], ...]], ...].
    return {bucket: {k: int(n) for k, n in incs} for bucket, incs in doc}


def _pending(op: str, batch: str, old: Contribution, new: Contribution, at: datetime) -> Doc:
    # An empty ``from`` (a new mention) is left out: Contribution.from_doc reads absent as empty.
    pending: Doc = {"op": op, "batch": batch, "to": new.to_doc(), "at": at}
    if old != EMPTY:
        pending["from"] = old.to_doc()
    return pending


def _settled(m: PreparedMention, current: Mapping[str, Any]) -> Result | None:
    """DUPLICATE or STALE when ``m`` must not change the stored mention, else None."""
    if current.get("content_hash") == m.content_hash:
        return Result.DUPLICATE
    # A late redelivery of an older collection must not undo a newer one.
    if m.collected_at < current["collected_at"]:
        return Result.STALE
    return None


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
