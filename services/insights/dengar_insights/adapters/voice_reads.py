"""``VoiceReads`` over the ``mentions`` collection (service_layer/voices.py).

* top authors: one aggregation, ``$match`` on the tenant and the period (the ``tenant_created``
  index; ``tenant_query_created`` with a query id) → ``$group`` by platform and author key
  (domain/insight/voices.author_key, computed in the store) → ``$match`` dropping the mentions
  without an author → ``$sort`` by the domain's ``RANK_ORDER`` → ``$limit``. ``$top`` and
  ``$topN`` (MongoDB 5.2+) pick the latest profile and the most engaging mention ids per author
  without sorting the period first. The group holds one entry per author of the period, so it
  may spill to disk; ``maxTimeMS`` bounds it.
* top posts: a find in engagement order, cut to ``limit``; the server chooses between the
  period's range on ``tenant_created`` (then sorting the period's mentions) and walking
  ``tenant_engagement`` until ``limit`` mentions of the period are found, whichever is cheaper.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from dengar_insights.adapters.mentions import HIDDEN
from dengar_insights.adapters.periods import period_filter
from dengar_insights.adapters.store import store_errors
from dengar_insights.domain.insight.voices import HANDLE_PREFIX, RANK_ORDER, AuthorStats
from dengar_insights.service_layer.insight_engine import MentionDoc

Doc = dict[str, Any]

_AUTHOR_ID: Doc = {"$ifNull": ["$author.id", ""]}
# author_key in the store: the id, else the prefixed handle.
_AUTHOR_KEY: Doc = {"$cond": [{"$ne": [_AUTHOR_ID, ""]}, _AUTHOR_ID,
                              {"$concat": [HANDLE_PREFIX, {"$ifNull": ["$author.handle", ""]}]}]}


def _count(label: str) -> Doc:
    return {"$sum": {"$cond": [{"$eq": ["$sentiment.label", label]}, 1, 0]}}


def top_authors_pipeline(tenant_id: str, start: datetime, end: datetime, query_id: str | None,
                         rank_by: str, limit: int, samples: int) -> list[Doc]:
    """The aggregation of ``MongoVoiceReads.top_authors`` (public for the integration tests)."""
    match = period_filter(tenant_id, start, end, query_id)
    # The group's fields are named as AuthorStats's, which RANK_ORDER names.
    sort: Doc = {f: -1 for f in RANK_ORDER[rank_by]}
    sort.update({"_id.p": 1, "_id.k": 1})
    group: Doc = {
        "_id": {"p": "$platform", "k": _AUTHOR_KEY},
        "mentions": {"$sum": 1},
        "engagement": {"$sum": "$engagement_score"},
        "followers": {"$max": "$author.followers"},
        "negative": _count("negative"),
        "neutral": _count("neutral"),
        "positive": _count("positive"),
        "profile": {"$top": {"sortBy": {"created_at": -1, "_id": -1},
                             "output": {"id": "$author.id", "handle": "$author.handle",
                                        "name": "$author.display_name",
                                        "verified": "$author.verified"}}},
    }
    if samples > 0:
        group["samples"] = {"$topN": {"n": samples, "sortBy": {"engagement_score": -1, "_id": -1},
                                      "output": "$_id"}}
    # Mentions without author id and handle (key "@") belong to no author. Dropped after the
    # group, not in $match: SecantusDB plans a $match with an $or over them as a collection scan.
    nobody = {"_id.k": {"$ne": HANDLE_PREFIX}}
    return [{"$match": match}, {"$group": group}, {"$match": nobody}, {"$sort": sort},
            {"$limit": limit}]


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def author_from_group(doc: Doc) -> AuthorStats:
    key, profile = doc["_id"], doc.get("profile") or {}
    return AuthorStats(
        platform=str(key.get("p") or ""), key=str(key.get("k") or ""),
        author_id=str(profile.get("id") or ""), handle=str(profile.get("handle") or ""),
        display_name=str(profile.get("name") or ""), verified=bool(profile.get("verified")),
        followers=_int(doc.get("followers")), mentions=_int(doc.get("mentions")),
        engagement=_int(doc.get("engagement")), negative=_int(doc.get("negative")),
        neutral=_int(doc.get("neutral")), positive=_int(doc.get("positive")),
        sample_ids=tuple(str(i) for i in doc.get("samples") or ()))


@store_errors
class MongoVoiceReads:
    """``VoiceReads`` over the ``mentions`` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db["mentions"]

    async def top_authors(self, tenant_id: str, start: datetime, end: datetime,
                          query_id: str | None, rank_by: str, limit: int, samples: int,
                          max_time: timedelta) -> list[AuthorStats]:
        pipeline = top_authors_pipeline(tenant_id, start, end, query_id, rank_by, limit, samples)
        cursor = await self._col.aggregate(pipeline, allowDiskUse=True,
                                           maxTimeMS=int(max_time.total_seconds() * 1000))
        return [author_from_group(d) async for d in cursor]

    async def top_posts(self, tenant_id: str, start: datetime, end: datetime,
                        query_id: str | None, limit: int) -> list[MentionDoc]:
        cursor = (self._col.find(period_filter(tenant_id, start, end, query_id), projection=HIDDEN,
                                 allow_disk_use=True)
                  .sort([("engagement_score", DESCENDING), ("_id", DESCENDING)]).limit(limit))
        return list(await cursor.to_list())


__all__ = ["MongoVoiceReads", "author_from_group", "top_authors_pipeline"]
