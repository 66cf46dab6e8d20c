"""Hacker News through the Algolia HN Search API: ``/api/v1/search_by_date``.

Newest first; ``numericFilters=created_at_i>X`` bounds a sweep from below. Algolia pages by number, and
numbered pages shift when new items arrive, so after the first page a sweep also fixes an upper bound
(``created_at_i<=U``, the newest timestamp of its first page) and keeps it in the page token. Timestamps
are whole seconds and indexing takes a moment, so the floor keeps an overlap window of remembered ids.
No credentials: the API is public (10,000 requests an hour per IP).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field

from dengar_collector.adapters.connectors.api import HttpConnector
from dengar_collector.adapters.connectors.base import (
    ApiConfig,
    Author,
    CollectedPost,
    Cursor,
    Engagement,
    FetchResult,
    MappingError,
    ResponseFormatError,
    mapped,
)
from dengar_collector.adapters.connectors.sweep import Entry, SweepCursor, select
from dengar_collector.adapters.connectors.text import (
    count,
    html_to_text,
    parse_datetime,
    plain_text,
    require_str,
)

logger = logging.getLogger(__name__)

PLATFORM = "hackernews"
SEARCH_PATH = "/api/v1/search_by_date"
MAX_PAGE = 1000
ITEM_URL = "https://news.ycombinator.com/item?id="


class HackerNewsConfig(ApiConfig):
    base_url: str = "https://hn.algolia.com"
    # Empty: every new story/comment (Algolia allows it).
    query: str = Field(default="", max_length=512)
    kinds: tuple[Literal["story", "comment"], ...] = Field(default=("story", "comment"), min_length=1)
    overlap_s: int = Field(default=300, ge=0, le=86_400)

    def tags(self) -> str:
        kinds = sorted(set(self.kinds))
        # Algolia's tag syntax: a parenthesised list is an OR.
        return kinds[0] if len(kinds) == 1 else "(" + ",".join(kinds) + ")"


def map_hit(hit: Mapping[str, Any]) -> CollectedPost:
    """One Algolia hit (a story or a comment)."""
    if not isinstance(hit, Mapping):
        raise MappingError("hit is not an object")
    object_id = require_str(dict(hit), "objectID")
    tags = hit.get("_tags") if isinstance(hit.get("_tags"), list) else []
    created = parse_datetime(hit["created_at_i"] if hit.get("created_at_i") is not None
                             else hit.get("created_at"))
    author = str(hit.get("author") or "")
    metadata: dict[str, str] = {}
    if "comment" in tags or hit.get("comment_text"):
        metadata["kind"] = "comment"
        for key in ("story_id", "story_title", "story_url"):
            if hit.get(key):
                metadata[key] = str(hit[key])
        text = html_to_text(str(hit.get("comment_text") or ""))
        return CollectedPost(
            platform=PLATFORM, external_id=object_id, text=text, created_at=created,
            author=Author(id=author, handle=author, display_name=author),
            engagement=Engagement(likes=count(hit.get("points"))),
            url=ITEM_URL + object_id,
            in_reply_to=str(hit.get("parent_id") or ""),
            metadata=metadata,
        )
    metadata["kind"] = next((t for t in ("story", "poll", "job", "pollopt") if t in tags), "story")
    if hit.get("url"):
        metadata["link_url"] = str(hit["url"])
    return CollectedPost(
        platform=PLATFORM, external_id=object_id,
        title=plain_text(str(hit.get("title") or "")),
        text=html_to_text(str(hit.get("story_text") or "")),
        created_at=created,
        author=Author(id=author, handle=author, display_name=author),
        engagement=Engagement(likes=count(hit.get("points")), replies=count(hit.get("num_comments"))),
        url=ITEM_URL + object_id,
        metadata=metadata,
    )


def _entry(hit: Any) -> Entry | None:
    try:
        seconds = int(hit["created_at_i"])
        return Entry(seconds, str(hit["objectID"]), parse_datetime(seconds))
    except (KeyError, TypeError, ValueError, MappingError):
        return None


class HackerNewsConnector(HttpConnector):
    platform: ClassVar[str] = PLATFORM
    config_model = HackerNewsConfig
    credentials_model = None

    def __init__(self, config: HackerNewsConfig, credentials: None = None, **kwargs: Any) -> None:
        super().__init__(config, None, **kwargs)

    async def fetch(self, cursor: Cursor | None, *, limit: int) -> FetchResult:
        sweep = SweepCursor.load(cursor, kind="hackernews.search", now=self.clock.time(),
                                 backfill_s=self.backfill_s())
        filters = []
        low = sweep.lower_bound()
        if low is not None:
            filters.append(f"created_at_i>{low - 1}")
        elif sweep.not_before is not None:
            filters.append(f"created_at_i>{int(sweep.not_before) - 1}")
        page = 0
        upper: int | None = None
        if isinstance(sweep.page, dict):
            page = int(sweep.page.get("page", 0))
            upper = int(sweep.page["upper"]) if sweep.page.get("upper") is not None else None
        if upper is not None:
            filters.append(f"created_at_i<={upper}")
        params: dict[str, Any] = {"query": self.config.query, "tags": self.config.tags(),
                                  "hitsPerPage": max(1, min(MAX_PAGE, limit)), "page": page}
        if filters:
            params["numericFilters"] = ",".join(filters)
        body = await self.api.get_json(self.config.base_url + SEARCH_PATH, params=params)
        if not isinstance(body, dict) or not isinstance(body.get("hits", []), list):
            raise ResponseFormatError("search response has no hits list", platform=PLATFORM)
        hits = body.get("hits") or []
        posts, errors = mapped(PLATFORM, hits, map_hit, id_of=lambda h: h.get("objectID"))
        entries = [_entry(h) for h in hits]
        next_page = None
        try:
            more = int(body.get("page", page)) + 1 < int(body.get("nbPages", 0))
        except (TypeError, ValueError):
            more = False
        if more:
            keys = [e.key for e in entries if e is not None]
            fixed = upper if upper is not None else (max(keys) if keys else None)
            next_page = {"page": page + 1, "upper": fixed}
        kept, errors, step = select(sweep, entries, posts, errors, next_page, overlap=self.config.overlap_s)
        logger.debug("hackernews: %d hits, %d new, %d errors", len(hits), len(kept), len(errors))
        return FetchResult(kept, step.cursor.dump(kind="hackernews.search"), errors, has_more=step.more)
