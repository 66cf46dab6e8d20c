"""Use cases of tenant categories: CRUD (with the examples embedded by NLP and the threshold
calibrated on the tenant's recent mentions) and the per-tenant cache the ingest tags with.

Everything is validated before anything is written or embedded, so a stored category always has a
compiling expression (at the time) and, with examples, their vectors and a threshold.

``CategoryTagger`` keeps each tenant's compiled ``CategorySet``. It is rebuilt when

* a category of the tenant changed through this process (``invalidate``): the next batch sees it;
* otherwise, at most every ``ttl_s`` seconds, the store's per-tenant version is read (one
  primary-key lookup) and the set rebuilt only if it moved (another replica changed a category);
* at the latest after ``max_age_s``, as a backstop for a writer that died before bumping it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from dengar_common.errors import InvalidArgument, Unavailable
from dengar_common.ids import is_valid_tenant_id
from dengar_common.query import CompiledQuery
from dengar_insights.domain.backfill import KIND_CATEGORY
from dengar_insights.domain.categories import (
    BACKGROUND_SAMPLE,
    EMPTY_SET,
    Calibration,
    Category,
    CategoryChanges,
    CategoryNotFound,
    CategorySet,
    build_set,
    calibrate,
    check_definition,
    check_expression,
    clean_examples,
    clean_name,
    example_matrix,
    new_category_id,
)
from dengar_insights.service_layer.ports import (
    BackfillScheduler,
    CategoryRepository,
    Embedder,
    EmbeddingSample,
)

logger = logging.getLogger(__name__)


def _utcnow() -> datetime:
    now = datetime.now(UTC)
    # The store keeps milliseconds; answering with the same value as a later read avoids surprises.
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _no_listener(tenant_id: str) -> None:
    return None


def _check_tenant(tenant_id: str) -> None:
    if not is_valid_tenant_id(tenant_id):
        raise InvalidArgument("invalid tenant_id", field="tenant_id")


def _version(at: datetime) -> int:
    """A category's version for its backfill: its change time in milliseconds (each change of a
    category is a later write than the one before)."""
    return int(at.timestamp() * 1000)


class CategoryManager:
    """Create, read, change and delete categories. ``on_change(tenant)`` runs after every write
    attempt (e.g. ``CategoryTagger.invalidate``). With ``backfills``, a category that was created,
    whose expression or examples changed, or that was deleted gets the tenant's stored mentions
    re-tagged (scheduled after the write: the job reads the category as stored)."""

    def __init__(self, repo: CategoryRepository, embedder: Embedder, sample: EmbeddingSample, *,
                 on_change: Callable[[str], None] = _no_listener,
                 clock: Callable[[], datetime] = _utcnow,
                 background_sample: int = BACKGROUND_SAMPLE,
                 backfills: BackfillScheduler | None = None) -> None:
        self._repo = repo
        self._embedder = embedder
        self._sample = sample
        self._on_change = on_change
        self._clock = clock
        self._background = background_sample
        self._backfills = backfills

    async def _backfill(self, tenant_id: str, category_id: str, at: datetime, *,
                        deleted: bool = False) -> None:
        if self._backfills is not None:
            await self._backfills.schedule(tenant_id=tenant_id, kind=KIND_CATEGORY,
                                           target_id=category_id, version=_version(at),
                                           spec={"deleted": deleted}, changed_at=at)

    async def create(self, tenant_id: str, *, name: str, expression: str = "",
                     examples: Sequence[str] = ()) -> Category:
        _check_tenant(tenant_id)
        cleaned = clean_name(name)
        check_expression(expression)
        texts = clean_examples(examples)
        check_definition(expression, texts)
        vectors, calibration = await self._learn(tenant_id, texts)
        now = self._clock()
        category = Category(id=new_category_id(), tenant_id=tenant_id, name=cleaned,
                            expression=expression.strip(), examples=texts, example_vectors=vectors,
                            calibration=calibration, created_at=now, updated_at=now)
        try:
            await self._repo.insert(tenant_id, category)
        finally:
            # Also after a failure: the write may have happened, and a needless reload is cheap.
            self._on_change(tenant_id)
        await self._backfill(tenant_id, category.id, now)
        logger.info("tenant %s: category %s created (%d examples, threshold %s)", tenant_id,
                    category.id, len(texts), category.threshold)
        return category

    async def get(self, tenant_id: str, category_id: str) -> Category:
        _check_tenant(tenant_id)
        found = await self._repo.get(tenant_id, category_id) if category_id else None
        if found is None:
            raise CategoryNotFound(category_id)
        return found

    async def list(self, tenant_id: str) -> list[Category]:
        _check_tenant(tenant_id)
        return await self._repo.list(tenant_id)

    async def update(self, tenant_id: str, category_id: str, changes: CategoryChanges) -> Category:
        _check_tenant(tenant_id)
        name = clean_name(changes.name) if changes.name is not None else None
        if changes.expression is not None:
            check_expression(changes.expression)
        texts = clean_examples(changes.examples) if changes.examples is not None else None
        current = await self.get(tenant_id, category_id)
        if changes.is_empty():
            return current
        expression = changes.expression.strip() if changes.expression is not None else current.expression
        new_texts = texts if texts is not None else current.examples
        check_definition(expression, new_texts)
        updated = replace(current, name=name if name is not None else current.name,
                          expression=expression, updated_at=self._clock())
        # Examples given are embedded and calibrated again even when unchanged: sending the same
        # ones recalibrates on the tenant's current mentions (e.g. a category made on day one).
        if texts is not None:
            vectors, calibration = await self._learn(tenant_id, texts)
            updated = replace(updated, examples=texts, example_vectors=vectors, calibration=calibration)
        try:
            stored = await self._repo.replace(tenant_id, updated)
        finally:
            self._on_change(tenant_id)
        if stored is None:
            raise CategoryNotFound(category_id)
        if changes.expression is not None or texts is not None:
            await self._backfill(tenant_id, category_id, updated.updated_at or self._clock())
        logger.info("tenant %s: category %s updated", tenant_id, category_id)
        return stored

    async def delete(self, tenant_id: str, category_id: str) -> None:
        _check_tenant(tenant_id)
        if not category_id:
            raise CategoryNotFound(category_id)
        try:
            deleted = await self._repo.delete(tenant_id, category_id)
        finally:
            self._on_change(tenant_id)
        if not deleted:
            raise CategoryNotFound(category_id)
        await self._backfill(tenant_id, category_id, self._clock(), deleted=True)
        logger.info("tenant %s: category %s deleted", tenant_id, category_id)

    async def _learn(self, tenant_id: str, texts: Sequence[str]
                     ) -> tuple[tuple[bytes, ...], Calibration | None]:
        """The examples' vectors and the calibrated threshold (nothing without examples)."""
        if not texts:
            return (), None
        vectors = await self._embedder.embed(tenant_id, texts)
        if len(vectors) != len(texts) or not all(vectors):
            raise Unavailable("the examples could not be embedded; retry later")
        matrix = example_matrix(vectors)
        if matrix.shape[0] != len(texts):
            raise Unavailable("the examples' embeddings are unusable; retry later")
        background = example_matrix(await self._sample.recent_embeddings(tenant_id, self._background))
        # Stored mentions of another model (a different size) are skipped by example_matrix; one of
        # the same size but a different model cannot be told apart and would only blur the background.
        if background.shape[0] and background.shape[1] != matrix.shape[1]:
            background = np.zeros((0, matrix.shape[1]), dtype=np.float32)
        return tuple(vectors), calibrate(matrix, background)


# -- the ingest's cache --------------------------------------------------------------------------------


class CategoriesUnavailableError(Unavailable):
    """The tenant's categories could not be loaded: its posts are retried rather than stored untagged
    (which would silently drop them from every per-category count)."""


@dataclass
class _Entry:
    version: int
    categories: CategorySet
    compiled: dict[str, CompiledQuery]
    checked_at: float
    loaded_at: float
    generation: int


class CategoryTagger:
    """Each tenant's ``CategorySet``, cached. ``clock`` is monotonic seconds (injectable for tests)."""

    def __init__(self, repo: CategoryRepository, *, ttl_s: float = 5.0, max_age_s: float = 300.0,
                 refresh_timeout_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._repo = repo
        self._ttl = ttl_s
        self._max_age = max_age_s
        self._refresh_timeout = refresh_timeout_s
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._generations: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def invalidate(self, tenant_id: str) -> None:
        """A category of the tenant changed: rebuild its set before tagging the next batch."""
        self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1

    async def category_set(self, tenant_id: str) -> CategorySet:
        """The tenant's current set (CategoriesUnavailableError if it cannot be loaded)."""
        if not is_valid_tenant_id(tenant_id):
            return EMPTY_SET
        entry = self._entries.get(tenant_id)
        if entry is not None and self._fresh(tenant_id, entry, self._clock()):
            return entry.categories
        async with self._locks.setdefault(tenant_id, asyncio.Lock()):
            entry = self._entries.get(tenant_id)
            now = self._clock()
            if entry is not None and self._fresh(tenant_id, entry, now):
                return entry.categories
            return await self._refresh(tenant_id, entry, now)

    def _fresh(self, tenant_id: str, entry: _Entry, now: float) -> bool:
        return entry.generation == self._generations.get(tenant_id, 0) and now - entry.checked_at < self._ttl

    async def _refresh(self, tenant_id: str, entry: _Entry | None, now: float) -> CategorySet:
        generation = self._generations.get(tenant_id, 0)
        try:
            async with asyncio.timeout(self._refresh_timeout):
                # Version before the categories: a change in between shows as a newer version next time.
                version = await self._repo.version(tenant_id)
                if (entry is not None and entry.generation == generation and version == entry.version
                        and now - entry.loaded_at < self._max_age):
                    entry.checked_at = now
                    return entry.categories
                categories = await self._repo.list(tenant_id)
        except Exception as exc:
            if entry is None:
                raise CategoriesUnavailableError(
                    f"categories of {tenant_id} could not be loaded: {exc}") from exc
            # A few seconds' staleness beats refusing every post while the store is away; the
            # impossible version forces a reload at the next check.
            logger.warning("categories of %s could not be reloaded; using the previous set", tenant_id,
                           exc_info=True)
            entry.checked_at, entry.generation, entry.version = now, generation, -1
            return entry.categories
        cache = dict(entry.compiled) if entry is not None else {}
        built = build_set(categories, cache)
        # Only the current expressions stay cached, so edits do not accumulate.
        compiled = {c.expression: cache[c.expression] for c in categories if c.expression in cache}
        self._entries[tenant_id] = _Entry(version=version, categories=built, compiled=compiled,
                                          checked_at=now, loaded_at=now, generation=generation)
        logger.debug("tenant %s: %d categories loaded (version %d)", tenant_id, len(built), version)
        return built
