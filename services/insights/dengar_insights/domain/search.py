"""Mention search: the validated query, sort orders and the opaque keyset-pagination cursor.

Pagination is by key, not offset: a page token holds the sort key and ``_id`` of the last mention
returned, and the next page starts strictly after it in (key, _id) order. Mentions inserted while
a client pages therefore cannot shift later pages (no repeats, no gaps among the mentions that
existed throughout; new ones show up only if they sort after the cursor). For the engagement order
the key is the engagement score, which can change when a post is re-collected; such a mention may
then appear twice or not at all across pages, which is acceptable for a "top posts" listing.

The token is base64url of a small JSON array plus a checksum, and is bound to the query it came
from (a fingerprint of the filters): a token that is corrupted, edited, or reused with other
filters or another sort order is rejected rather than silently producing a wrong page. It is not a
security boundary: every read is filtered by the caller's tenant anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dengar_common.errors import InvalidArgument

TIME_DESC = "time_desc"
TIME_ASC = "time_asc"
ENGAGEMENT_DESC = "engagement_desc"
SORTS = (TIME_DESC, TIME_ASC, ENGAGEMENT_DESC)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

_CURSOR_VERSION = 1
_ID_RE = re.compile(r"^[0-9a-f]{24}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Beyond any real timestamp or engagement, and within a BSON int64.
_MAX_KEY = 2**62


class InvalidCursor(InvalidArgument):
    """A page token that was not produced by this service for this query."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="page_token")


class InvalidQuery(InvalidArgument):
    """A search request that cannot be served as asked."""


@dataclass(frozen=True)
class SearchQuery:
    """A validated, normalised search over one tenant's mentions."""

    start: datetime | None = None
    end: datetime | None = None
    sentiments: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    aspects: tuple[str, ...] = ()
    # Normalised words that must all occur (see terms.py).
    terms: tuple[str, ...] = ()
    sort: str = TIME_DESC
    # Mentions tagged with any of these listening queries.
    query_ids: tuple[str, ...] = ()
    # Mentions in any of these categories.
    category_ids: tuple[str, ...] = ()
    # The monitoring inbox (domain/workflow.py): any of these states, assignees, tags.
    states: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise InvalidQuery(f"unknown sort {self.sort!r}", field="sort")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InvalidQuery("end_time must be after start_time", field="end_time")

    def fingerprint(self) -> str:
        """Short hash of everything but the page: a cursor is only valid for the same query."""
        parts: list[Any] = [
            self.start.isoformat() if self.start else None,
            self.end.isoformat() if self.end else None,
            sorted(self.sentiments), sorted(self.platforms), sorted(self.languages),
            sorted(self.aspects), sorted(self.terms), self.sort,
        ]
        # Only when set, so that page tokens issued before this filter existed stay valid.
        if self.query_ids:
            parts.append(sorted(self.query_ids))
        if self.category_ids:
            parts.append({"categories": sorted(self.category_ids)})
        if self.states or self.assignees or self.tags:
            parts.append({"workflow": [sorted(self.states), sorted(self.assignees), sorted(self.tags)]})
        canonical = json.dumps(parts, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def page_size(requested: int) -> int:
    """0 means the default; larger than the maximum is capped; negative is an error."""
    if requested < 0:
        raise InvalidQuery("page_size must not be negative", field="page_size")
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def time_key(t: datetime) -> int:
    """Milliseconds since the epoch: the cursor key for the time orders (BSON dates are ms)."""
    return (t - _EPOCH) // timedelta(milliseconds=1)


def time_from_key(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


@dataclass(frozen=True)
class Cursor:
    """The position after which the next page starts."""

    sort: str
    key: int
    id: str
    fingerprint: str


def _checksum(payload: bytes) -> str:
    return hashlib.sha256(b"dengar-insights-cursor:" + payload).hexdigest()[:10]


def encode_cursor(c: Cursor) -> str:
    payload = json.dumps([_CURSOR_VERSION, c.sort, c.key, c.id, c.fingerprint],
                         separators=(",", ":")).encode()
    raw = payload + b"|" + _checksum(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, query: SearchQuery) -> Cursor:
    """The cursor in ``token``; InvalidCursor unless it is intact and issued for ``query``."""
    if len(token) > 512:
        raise InvalidCursor("page_token is too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload, _, check = raw.rpartition(b"|")
        if not payload or check.decode() != _checksum(payload):
            raise InvalidCursor("page_token is corrupt")
        version, sort, key, mid, fingerprint = json.loads(payload)
    except InvalidCursor:
        raise
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidCursor("page_token is not valid") from exc
    if version != _CURSOR_VERSION:
        raise InvalidCursor("page_token is from another version")
    if (not isinstance(key, int) or isinstance(key, bool) or not -_MAX_KEY < key < _MAX_KEY
            or not isinstance(mid, str) or not _ID_RE.match(mid)):
        raise InvalidCursor("page_token is not valid")
    if sort != query.sort or fingerprint != query.fingerprint():
        raise InvalidCursor("page_token belongs to a different query")
    return Cursor(sort=sort, key=key, id=mid, fingerprint=fingerprint)


def cursor_after(query: SearchQuery, doc: Mapping[str, Any]) -> Cursor:
    """The cursor positioned at ``doc`` (the last mention of a page)."""
    if query.sort == ENGAGEMENT_DESC:
        key = int(doc.get("engagement_score") or 0)
    else:
        key = time_key(doc["created_at"])
    return Cursor(sort=query.sort, key=key, id=str(doc["_id"]), fingerprint=query.fingerprint())
