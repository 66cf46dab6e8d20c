"""The store filter of a period's mentions, shared by the insight reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

Doc = dict[str, Any]


def period_filter(tenant_id: str, start: datetime, end: datetime, query_id: str | None) -> Doc:
    """The tenant's mentions created in [start, end) (of ``query_id`` when given).

    The bounds are separate ``$and`` clauses: SecantusDB scans ``{created_at: {$gte, $lt}}`` on
    the descending ``created_at`` of ``tenant_created`` with the ``$gte`` bound exclusive (a
    mention created exactly at ``start`` is lost), while it bounds separate clauses right;
    MongoDB plans both forms the same.
    """
    clauses: list[Doc] = [{"tenant_id": tenant_id}, {"created_at": {"$gte": start}},
                          {"created_at": {"$lt": end}}]
    if query_id is not None:
        clauses.append({"query_ids": query_id})
    return {"$and": clauses}


__all__ = ["period_filter"]
