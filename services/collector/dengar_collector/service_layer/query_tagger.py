"""Tagging of ingested posts with the ids of the tenant's listening queries they match.

Each tenant's enabled queries are compiled once into a ``QuerySet`` and reused for every post. The set
is rebuilt when

* a query of the tenant changed through this process (``invalidate``, called by the QueryService):
  the next batch already sees the change;
* otherwise, at most every ``ttl_s`` seconds, the store's per-tenant version number is read (one
  primary-key lookup) and the set is rebuilt only if it moved: another replica changed a query;
* at the latest after ``max_age_s``, whatever the version says, as a backstop for a writer that died
  between changing a query and bumping the version.

A rebuild compiles only expressions it has not compiled before; the index is rebuilt as a whole.

Matching is CPU-bound and runs in a worker thread, never on the event loop: a batch of long posts must
not stop the collector from serving ingest, sources, webhooks, imports and health checks of every
other tenant meanwhile. Each post may spend ``QueryConfig.match_budget`` work units on phrase and NEAR
checks (see ``dengar_common.query.compiler``); a query whose answer the budget cannot pay for is
left off the post's ``query_ids`` (the post itself is published as usual), logged with the tenant,
the post and the query ids, and counted in ``QueryTagger.over_budget``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from dengar.v1 import common_pb2
from dengar_collector.domain.listening_query import QueryRecord, QuerySource
from dengar_collector.service_layer.ports import PublishError
from dengar_collector.service_layer.post_proto import match_doc
from dengar_common.query import (
    DEFAULT_MATCH_BUDGET,
    ROLES,
    CompiledQuery,
    ListeningQuery,
    MatchBudget,
    MatchReport,
    QuerySet,
    QuerySyntaxError,
    compile_query,
)

logger = logging.getLogger(__name__)

_EMPTY = QuerySet(())


class TaggingUnavailableError(PublishError):
    """The tenant's queries could not be loaded, so the batch cannot be tagged.

    A ``PublishError`` because every ingest path already answers one with "retry the whole batch":
    publishing untagged posts would silently drop them from every per-query insight.
    """


@dataclass
class _Entry:
    version: int
    queries: QuerySet
    # Expression -> compiled query, reused by the next rebuild.
    compiled: dict[str, CompiledQuery]
    checked_at: float
    loaded_at: float
    # The tenant's invalidation count when the set was loaded.
    generation: int


class QueryConfig(BaseModel):
    """``DENGAR_COLLECTOR__QUERIES__*``: the limit the query store enforces and the tagger's cache."""

    model_config = ConfigDict(frozen=True)

    # Each query is evaluated (through an index) on every post of its tenant.
    max_per_tenant: int = Field(default=500, ge=1)
    # How long a replica tags with its compiled set before checking the store's version of the
    # tenant's queries (changes made through this replica apply at once).
    cache_ttl_s: float = Field(default=5.0, ge=0)
    # Reload regardless of the version after this long (a writer may die before bumping it).
    max_age_s: float = Field(default=300.0, gt=0)
    refresh_timeout_s: float = Field(default=5.0, gt=0)
    # Work units one post may spend on phrase and NEAR checks across its tenant's queries (about
    # 0.1 us each; a tweet needs under 100). Queries left unanswered are not matched and logged.
    match_budget: int = Field(default=DEFAULT_MATCH_BUDGET, ge=1_000)


class QueryTagger:
    """Implements the ``PostTagger`` port. ``clock`` is monotonic seconds (injectable for tests)."""

    def __init__(self, source: QuerySource, *, config: QueryConfig | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        config = config or QueryConfig()
        self._source = source
        self._ttl = config.cache_ttl_s
        self._max_age = config.max_age_s
        self._refresh_timeout = config.refresh_timeout_s
        self._clock = clock
        self._budget = config.match_budget
        # Posts per tenant on which at least one query ran out of the matching budget.
        self.over_budget: Counter[str] = Counter()
        self._entries: dict[str, _Entry] = {}
        self._generations: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def invalidate(self, tenant_id: str) -> None:
        """One of the tenant's queries changed: rebuild its set before tagging the next batch."""
        self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1

    async def tag(self, tenant_id: str, posts: Sequence[common_pb2.Post]) -> None:
        queries = await self.query_set(tenant_id)
        if not len(queries):
            for post in posts:
                # Ids a client sent are never trusted, even when there is nothing to match.
                del post.query_ids[:]
            return
        reports = await asyncio.to_thread(self._match, queries, posts)
        for post, report in zip(posts, reports, strict=True):
            del post.query_ids[:]
            if report.ids:
                post.query_ids.extend(report.ids)
            if report.over_budget:
                self.over_budget[tenant_id] += 1
                logger.warning(
                    "tenant %s, post %s:%s (%d characters): queries %s not matched, the post ran out "
                    "of its matching budget of %d work units", tenant_id, post.platform,
                    post.external_id, len(post.text) + len(post.title), ", ".join(report.over_budget),
                    self._budget)

    def _match(self, queries: QuerySet, posts: Sequence[common_pb2.Post]) -> list[MatchReport]:
        """Runs in a worker thread (only reads the posts)."""
        budget = self._budget
        return [queries.match_report(match_doc(post), MatchBudget(budget)) for post in posts]

    async def query_set(self, tenant_id: str) -> QuerySet:
        """The tenant's current compiled set (raises TaggingUnavailableError if it cannot be loaded)."""
        entry = self._entries.get(tenant_id)
        if entry is not None and self._fresh(tenant_id, entry, self._clock()):
            return entry.queries
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        async with lock:
            # Another batch of this tenant may have refreshed while this one waited.
            entry = self._entries.get(tenant_id)
            now = self._clock()
            if entry is not None and self._fresh(tenant_id, entry, now):
                return entry.queries
            return await self._refresh(tenant_id, entry, now)

    def _fresh(self, tenant_id: str, entry: _Entry, now: float) -> bool:
        return entry.generation == self._generations.get(tenant_id, 0) and now - entry.checked_at < self._ttl

    async def _refresh(self, tenant_id: str, entry: _Entry | None, now: float) -> QuerySet:
        generation = self._generations.get(tenant_id, 0)
        try:
            async with asyncio.timeout(self._refresh_timeout):
                # The version is read before the queries: a change landing in between makes the next
                # check see a newer version and reload, never the reverse.
                version = await self._source.version(tenant_id)
                if (entry is not None and entry.generation == generation and version == entry.version
                        and now - entry.loaded_at < self._max_age):
                    entry.checked_at = now
                    return entry.queries
                records = await self._source.load_enabled(tenant_id)
        except Exception as exc:
            if entry is None:
                raise TaggingUnavailableError(
                    f"listening queries of {tenant_id} could not be loaded: {exc}") from exc
            # A few seconds' staleness beats refusing every post while the store is away; the
            # impossible version forces a reload at the next check.
            logger.warning("listening queries of %s could not be reloaded; using the previous set",
                           tenant_id, exc_info=True)
            entry.checked_at, entry.generation, entry.version = now, generation, -1
            return entry.queries
        fresh = self._build(tenant_id, version, records, entry, now, generation)
        self._entries[tenant_id] = fresh
        return fresh.queries

    def _build(self, tenant_id: str, version: int, records: Sequence[QueryRecord], previous: _Entry | None,
               now: float, generation: int) -> _Entry:
        started = time.perf_counter()
        known = previous.compiled if previous is not None else {}
        compiled: dict[str, CompiledQuery] = {}
        queries: list[ListeningQuery] = []
        for record in records:
            if record.role not in ROLES:
                logger.error("query %s of %s has unknown role %r; skipped", record.id, tenant_id, record.role)
                continue
            query = compiled.get(record.expression) or known.get(record.expression)
            if query is None:
                try:
                    query = compile_query(record.expression)
                except QuerySyntaxError as exc:
                    # Stored before a language change made it invalid: it must not stop the others.
                    logger.error("query %s of %s no longer compiles: %s", record.id, tenant_id, exc.problem)
                    continue
            compiled[record.expression] = query
            queries.append(ListeningQuery(record.id, query, record.role))
        query_set = QuerySet(queries) if queries else _EMPTY
        logger.debug("tenant %s: %d listening queries compiled (version %d) in %.1f ms", tenant_id,
                     len(queries), version, (time.perf_counter() - started) * 1000)
        return _Entry(version=version, queries=query_set, compiled=compiled, checked_at=now,
                      loaded_at=now, generation=generation)
