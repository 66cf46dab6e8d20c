"""MongoDB store of categories (collection ``categories``) and per-tenant counters (``category_state``).

``category_state`` holds one document per tenant, keyed by the tenant id: ``count`` (categories
stored, kept atomically so that the per-tenant limit holds under concurrent creates without
transactions) and ``version`` (bumped after every change, so that replicas can tell with one
primary-key read whether their compiled set is current).
"""

from __future__ import annotations

import logging
from typing import Any

from bson.binary import Binary
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dengar_insights.adapters.store import store_errors
from dengar_insights.domain.categories import (
    Calibration,
    Category,
    CategoryLimit,
    CategoryNameTaken,
    name_key,
)

logger = logging.getLogger(__name__)

Doc = dict[str, Any]


def _calibration_doc(c: Calibration | None) -> Doc | None:
    if c is None:
        return None
    return {"threshold": c.threshold, "member_median": c.member_median, "member_min": c.member_min,
            "background_p90": c.background_p90, "background_p95": c.background_p95,
            "background_size": c.background_size}


def _definition(category: Category) -> Doc:
    return {"name": category.name, "name_key": name_key(category.name),
            "expression": category.expression, "examples": list(category.examples),
            "example_vectors": [Binary(v) for v in category.example_vectors],
            "calibration": _calibration_doc(category.calibration),
            "updated_at": category.updated_at}


def _category(doc: Doc) -> Category:
    cal = doc.get("calibration")
    return Category(
        id=doc["_id"], tenant_id=doc["tenant_id"], name=doc["name"],
        expression=doc.get("expression") or "", examples=tuple(doc.get("examples") or ()),
        example_vectors=tuple(bytes(v) for v in doc.get("example_vectors") or ()),
        calibration=Calibration(**cal) if cal else None,
        created_at=doc.get("created_at"), updated_at=doc.get("updated_at"))


@store_errors
class MongoCategoryStore:
    """Implements ``CategoryRepository``."""

    def __init__(self, db: AsyncDatabase[Doc], *, max_per_tenant: int) -> None:
        self._col = db["categories"]
        self._state = db["category_state"]
        self._max = max_per_tenant

    async def ensure_indexes(self) -> None:
        # Unique names per tenant; also the order of listings.
        await self._col.create_index([("tenant_id", ASCENDING), ("name_key", ASCENDING)],
                                     name="tenant_name", unique=True)
        await self._state.create_index([("tenant_id", ASCENDING)], name="tenant")

    async def insert(self, tenant_id: str, category: Category) -> None:
        if category.tenant_id != tenant_id:
            raise ValueError("category tenant does not match")
        await self._reserve(tenant_id)
        doc = {"_id": category.id, "tenant_id": tenant_id, "created_at": category.created_at,
               **_definition(category)}
        try:
            await self._col.insert_one(doc)
        except DuplicateKeyError:
            await self._state.update_one({"_id": tenant_id}, {"$inc": {"count": -1}})
            raise CategoryNameTaken(category.name) from None
        # Any other failure keeps the reserved slot: the insert may have happened; a count too high
        # is corrected when the limit is reached (see _reserve), one too low never would be.
        await self._bump(tenant_id)

    async def get(self, tenant_id: str, category_id: str) -> Category | None:
        doc = await self._col.find_one({"_id": category_id, "tenant_id": tenant_id})
        return _category(doc) if doc else None

    async def list(self, tenant_id: str) -> list[Category]:
        cursor = self._col.find({"tenant_id": tenant_id}).sort("name_key", ASCENDING)
        return [_category(d) async for d in cursor]

    async def replace(self, tenant_id: str, category: Category) -> Category | None:
        try:
            doc = await self._col.find_one_and_update(
                {"_id": category.id, "tenant_id": tenant_id}, {"$set": _definition(category)},
                return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            raise CategoryNameTaken(category.name) from None
        if doc is None:
            return None
        await self._bump(tenant_id)
        return _category(doc)

    async def delete(self, tenant_id: str, category_id: str) -> bool:
        result = await self._col.delete_one({"_id": category_id, "tenant_id": tenant_id})
        if not result.deleted_count:
            return False
        await self._state.update_one({"_id": tenant_id}, {"$inc": {"count": -1, "version": 1}})
        return True

    async def version(self, tenant_id: str) -> int:
        doc = await self._state.find_one({"_id": tenant_id}, {"version": 1})
        return int(doc.get("version", 0)) if doc else 0

    async def _reserve(self, tenant_id: str) -> None:
        """Take one of the tenant's category slots atomically, or raise CategoryLimit."""
        actual = self._max
        for _ in range(2):
            try:
                # At the limit the filter matches nothing and the upsert collides on _id.
                await self._state.update_one(
                    {"_id": tenant_id, "tenant_id": tenant_id, "count": {"$lt": self._max}},
                    {"$inc": {"count": 1}}, upsert=True)
                return
            except DuplicateKeyError:
                pass
            actual = await self._col.count_documents({"tenant_id": tenant_id})
            if actual >= self._max:
                break
            logger.warning("category count of %s was too high (a create failed half-way); corrected to %d",
                           tenant_id, actual)
            await self._state.update_one({"_id": tenant_id}, {"$set": {"count": actual}})
        raise CategoryLimit(self._max, actual)

    async def _bump(self, tenant_id: str) -> None:
        await self._state.update_one({"_id": tenant_id},
                                     {"$inc": {"version": 1}, "$setOnInsert": {"tenant_id": tenant_id}},
                                     upsert=True)
