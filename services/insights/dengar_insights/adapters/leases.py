"""Named leases in a collection (``_id`` = name, ``owner``, ``until``): one holder at a time, taken
over once expired. The scheduled alert evaluator, alert repair and the retention sweep use them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


async def take_lease(leases: AsyncCollection[Any], name: str, owner: str, now: datetime,
                     until: datetime) -> bool:
    """Take or renew the lease ``name`` for ``owner`` until ``until``; False while another holds it."""
    try:
        doc = await leases.find_one_and_update(
            {"_id": name, "$or": [{"owner": owner}, {"until": {"$lte": now}}]},
            {"$set": {"owner": owner, "until": until}}, upsert=True,
            return_document=ReturnDocument.AFTER)
    except DuplicateKeyError:
        # Another owner holds an unexpired lease: the filter missed it and the upsert collided.
        return False
    return doc is not None and doc.get("owner") == owner
