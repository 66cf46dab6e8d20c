"""What the use cases need from the store, as Protocols (the Mongo repositories in adapters/ fit them).

A store outage surfaces from any of these as ``dengar_common.errors.Unavailable``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from dengar_insights.domain.backfill import BackfillJob
from dengar_insights.domain.categories import Category
from dengar_insights.domain.notification import Delivery, Notification
from dengar_insights.domain.search import Cursor, SearchQuery
from dengar_insights.domain.stream import MentionEvent

Doc = dict[str, Any]


class MentionRepository(Protocol):
    """The mentions of every tenant; every method takes the tenant first and filters on it."""

    async def get(self, tenant_id: str, mention_id: str) -> Doc | None:
        """The stored mention document, without its bookkeeping; None when absent."""
        ...

    async def get_state(self, tenant_id: str, mention_id: str) -> Doc | None:
        """The ingest bookkeeping of one mention (rev, pending, contribution, content_hash, collected_at)."""
        ...

    async def get_states(self, tenant_id: str, mention_ids: Iterable[str]) -> dict[str, Doc]:
        """The same for several mentions in one round trip; absent ids are missing."""
        ...

    async def get_document(self, tenant_id: str, mention_id: str) -> Doc | None:
        """The whole stored document with its ingest bookkeeping (what a re-tag reads)."""
        ...

    async def scan(self, tenant_id: str, *, since: datetime | None, tagged: tuple[str, str] | None,
                   after: tuple[datetime, str] | None, limit: int) -> list[Doc]:
        """Up to ``limit`` whole documents (as ``get_document``) in (created_at, _id) order,
        strictly after ``after``: created at or after ``since`` (None: any time), carrying the tag
        ``tagged = (field, id)`` when given."""
        ...

    async def count(self, tenant_id: str, *, since: datetime | None, tagged: tuple[str, str] | None) -> int:
        """How many mentions ``scan`` would go through from the start."""
        ...

    async def search(self, tenant_id: str, query: SearchQuery, after: Cursor | None,
                     limit: int) -> list[Doc]:
        """Up to ``limit`` mentions matching ``query`` in its sort order, strictly after ``after``."""
        ...

    def iter_search(self, tenant_id: str, query: SearchQuery, batch: int) -> AsyncIterator[list[Doc]]:
        """Every mention matching ``query`` in its sort order, in lists of up to ``batch``."""
        ...

    async def insert_new(self, tenant_id: str, doc: Mapping[str, Any]) -> bool:
        """Insert a first version; False when the mention already exists."""
        ...

    async def insert_many_new(self, tenant_id: str, docs: Sequence[Mapping[str, Any]]) -> list[bool]:
        """Insert first versions; per document, False when it already existed."""
        ...

    async def compare_and_set(self, tenant_id: str, mention_id: str, rev: int,
                              fields: Mapping[str, Any]) -> bool:
        """Set ``fields`` and bump the revision iff the mention is still at ``rev``."""
        ...

    async def mark_applied(self, tenant_id: str, ops: Sequence[tuple[str, str]], bucket: str) -> None:
        """Record that each (mention id, pending op) reached ``bucket``."""
        ...

    async def move_pending(self, tenant_id: str, ops: Sequence[tuple[str, str]], batch: str,
                           new_batch: str) -> None:
        """Move each (mention id, op) still pending in ``batch`` to ``new_batch``."""
        ...

    async def complete(self, tenant_id: str, ops: Sequence[tuple[str, str]], at: datetime) -> int:
        """For each (mention id, op): store the op's target (``pending.to``) as applied, clear
        the op."""
        ...


class RollupRepository(Protocol):
    """Hourly and daily counters per tenant, each op applied at most once per bucket."""

    async def apply(self, tenant_id: str, bucket: str, op: str, incs: Mapping[str, int]) -> bool:
        """Add ``incs`` to ``bucket`` unless ``op`` was applied there; True when this call did."""
        ...

    async def apply_many(self, tenant_id: str, bucket: str,
                         ops: Sequence[tuple[str, Mapping[str, int]]]) -> None:
        """Apply several ops to ``bucket``, each at most once."""
        ...

    async def apply_batch(self, tenant_id: str, lane: str, seq: int,
                          buckets: Mapping[str, Mapping[str, int]]) -> None:
        """Add each bucket's increments unless batch ``seq`` of ``lane`` or a later one is there."""
        ...

    async def read(self, tenant_id: str, interval: str, start: datetime, end: datetime,
                   fields: Sequence[str] | None = None) -> list[Doc]:
        """Buckets of ``interval`` starting in [start, end), oldest first (``fields``: only these
        counter paths; None: the tenant-wide counters)."""
        ...

    async def insert_batch(self, tenant_id: str, doc: Mapping[str, Any]) -> bool:
        """Record a batch of increments; False when its id is taken."""
        ...

    async def get_batch(self, tenant_id: str, batch_id: str) -> Doc | None: ...

    async def abort_batch(self, tenant_id: str, batch_id: str, at: datetime) -> Doc | None:
        """Take the id of an unrecorded batch; the record holding the id afterwards (None: its
        writer recorded, finished and deleted it meanwhile)."""
        ...

    async def delete_batches(self, tenant_id: str, batch_ids: Sequence[str]) -> None:
        """Delete the records of finished batches (one write for all of them)."""
        ...


class BackfillRepository(Protocol):
    """Backfill jobs, one per (tenant, kind, target); writes by a runner are guarded by its lease."""

    async def get(self, tenant_id: str, kind: str, target_id: str) -> BackfillJob | None: ...

    async def get_many(self, tenant_id: str, kind: str, target_ids: Sequence[str]) -> list[BackfillJob]:
        """The jobs of these targets that exist."""
        ...

    async def recent(self, tenant_id: str, kinds: Sequence[str], since: datetime) -> list[BackfillJob]:
        """The tenant's jobs of these kinds whose target changed at or after ``since`` (without
        their cursor)."""
        ...

    async def schedule(self, job: BackfillJob) -> bool:
        """Store ``job`` iff no job of a version >= its version exists; True when stored.

        A replaced job keeps its current owner and lease, so that a runner still busy with the
        older version finishes its batch and lets go before anyone starts the new one.
        """
        ...

    async def claim(self, owner: str, now: datetime, lease_until: datetime,
                    scheduled_before: datetime) -> BackfillJob | None:
        """Take the oldest pending or running job scheduled before ``scheduled_before`` that is free
        (no owner, lease expired, or ours)."""
        ...

    async def save(self, job: BackfillJob, owner: str, lease_until: datetime | None) -> bool:
        """Write the job's state and progress iff ``owner`` still holds it at its version; extend the
        lease to ``lease_until`` (None: let go). False: superseded or taken over."""
        ...

    async def release(self, tenant_id: str, kind: str, target_id: str, owner: str) -> None:
        """Let go of the job if ``owner`` holds it, whatever its version."""
        ...


# -- categories (service_layer/categories.py) ----------------------------------------------------------


class CategoryRepository(Protocol):
    """The tenants' categories, with a per-tenant count (the limit) and version (the tagger's cache)."""

    async def insert(self, tenant_id: str, category: Category) -> None:
        """Store a new category; CategoryNameTaken or CategoryLimit when it cannot be."""
        ...

    async def get(self, tenant_id: str, category_id: str) -> Category | None: ...

    async def list(self, tenant_id: str) -> list[Category]:
        """Every category of the tenant, by name."""
        ...

    async def replace(self, tenant_id: str, category: Category) -> Category | None:
        """Store the definition of an existing category; None when it is gone; CategoryNameTaken."""
        ...

    async def delete(self, tenant_id: str, category_id: str) -> bool: ...

    async def version(self, tenant_id: str) -> int:
        """A number that moves whenever one of the tenant's categories changes."""
        ...


class BackfillScheduler(Protocol):
    """Starts re-tagging stored mentions after a target changed (service_layer/backfill.py)."""

    async def schedule(self, *, tenant_id: str, kind: str, target_id: str, version: int,
                       spec: Mapping[str, Any], changed_at: datetime) -> None: ...


class Embedder(Protocol):
    """Sentence embeddings of texts, as NLP computes them for posts (int8, dengar_common.embedding).

    Raises ``Unavailable`` when they cannot be computed now."""

    async def embed(self, tenant_id: str, texts: Sequence[str]) -> list[bytes]: ...


class EmbeddingSample(Protocol):
    async def recent_embeddings(self, tenant_id: str, limit: int) -> list[bytes]:
        """The stored embeddings of up to ``limit`` of the tenant's most recent mentions."""
        ...


# -- notifications (alerts and digests decide what, deliveries how) -----------------------------------


class Dispatcher(Protocol):
    """Delivers notifications to a tenant's channels (service_layer/deliveries.py)."""

    async def dispatch(self, notification: Notification, channel_ids: Sequence[str]) -> list[str]:
        """Record one delivery per channel (idempotent per notification key and channel) and return
        their ids; they are delivered in the background. Ids that are not (or no longer) channels
        of the tenant are skipped; when none is known, InvalidArgument naming ``channel_ids``."""
        ...

    async def deliveries(self, tenant_id: str, key: str) -> list[Delivery]:
        """The deliveries of one notification, with every attempt."""
        ...


# -- the live mention stream (service_layer/stream.py) ---------------------------------------------


class MentionEvents(Protocol):
    """The "mention stored" events on the bus, one ordered sequence shared by every replica."""

    async def publish(self, tenant_id: str, mention_id: str, content_hash: str) -> None:
        """Publish that this revision of the mention is stored; a repeat of the same revision
        within the de-duplication window is dropped by the server."""
        ...

    async def open(self, tenant_id: str, after: int | None
                   ) -> tuple[int, AsyncIterator[MentionEvent]]:
        """Subscribe to the tenant's events after position ``after`` (from now on when None).
        Returns the position the events continue after and the never-ending events. A position
        older than the retention starts at the oldest event kept; one past the end, at the end."""
        ...


class StreamReads(Protocol):
    async def get_for_stream(self, tenant_id: str, mention_id: str) -> Doc | None:
        """The stored mention with what the filters need (``terms``) and its ``content_hash``."""
        ...


class RetentionStore(Protocol):
    """Per-tenant retention settings and the removal of expired data (``domain/retention.py``)."""

    async def get_days(self, tenant_id: str) -> int | None:
        """The tenant's own retention in days (0 = forever), None when it has none."""
        ...

    async def set_days(self, tenant_id: str, days: int | None) -> None:
        """Set the tenant's own retention; None removes it (the default applies)."""
        ...

    async def tenants(self) -> dict[str, int | None]:
        """Every tenant with mentions or a setting, with its own retention (None: the default)."""
        ...

    async def expire(self, tenant_id: str, cutoff: datetime, *, batch: int) -> dict[str, int]:
        """Remove the tenant's data older than ``cutoff``; the count per collection."""
        ...

    async def lease(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take or renew a named lease until ``until``; False when another owner holds it."""
        ...
