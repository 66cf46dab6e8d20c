"""The store filter of a period's mentions, shared by every read of mentions by creation time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

Doc = dict[str, Any]

# BSON dates count milliseconds (the driver truncates to them), so "after start - 1 ms" selects
# exactly the dates from start on.
_TICK = timedelta(milliseconds=1)


def created_from(start: datetime) -> Doc:
    """The bound "created at ``start`` or later" on ``created_at`` (see ``period_filter``)."""
    return {"$gt": start - _TICK}


def period_filter(tenant_id: str, start: datetime, end: datetime, query_id: str | None) -> Doc:
    """The tenant's mentions created in [start, end) (of ``query_id`` when given).

    The lower bound is ``$gt: start - 1 ms`` rather than ``$gte: start``: SecantusDB scans
    ``tenant_created`` (descending ``created_at``, then ``_id``) with a ``$gte`` bound as if it
    were ``$gt``, losing the mentions created exactly at ``start``; the two are the same
    selection on MongoDB. The filter keeps its plain shape: SecantusDB plans ``$and`` lists of
    the same bounds as collection scans.
    """
    flt: Doc = {"tenant_id": tenant_id, "created_at": {**created_from(start), "$lt": end}}
    if query_id is not None:
        flt["query_ids"] = query_id
    return flt


__all__ = ["created_from", "period_filter"]
