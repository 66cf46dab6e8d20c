"""Bluesky: ``app.bsky.feed.searchPosts`` with ``sort=latest``.

Newest first by the AppView's sort time (the earlier of ``record.createdAt`` and ``indexedAt``); ``since``
(inclusive) bounds a sweep from below and the opaque ``cursor`` pages. Posts can be indexed a little after
the ones already collected, so the floor keeps an overlap window (``overlap_s``) of remembered URIs.

Without credentials the public AppView is queried; with an identifier and app password a session is
created on the PDS (``pds_url``), searches go through it, and an expired token is replaced once per call.
External ids are AT-URIs (``at://did/app.bsky.feed.post/rkey``), which never change; URLs use the handle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import Field, SecretStr, field_validator

from dengar_collector.adapters.connectors.api import ApiClient, HttpConnector, Outcome
from dengar_collector.adapters.connectors.base import (
    ApiConfig,
    AuthError,
    Author,
    CollectedPost,
    Credentials,
    Cursor,
    Engagement,
    FetchResult,
    MappingError,
    ResponseFormatError,
    check_base_url,
    mapped,
)
from dengar_collector.adapters.connectors.sweep import Entry, SweepCursor, select
from dengar_collector.adapters.connectors.text import count, parse_datetime, require_str
from dengar_common.http_safety import HttpResponse

logger = logging.getLogger(__name__)

PLATFORM = "bluesky"
SEARCH_PATH = "/xrpc/app.bsky.feed.searchPosts"
SESSION_PATH = "/xrpc/com.atproto.server.createSession"
MAX_PAGE = 100
_POST_COLLECTION = "app.bsky.feed.post"
_EXPIRED = frozenset({"ExpiredToken", "InvalidToken"})


class BlueskyConfig(ApiConfig):
    base_url: str = "https://public.api.bsky.app"
    # Where sessions are created and, with credentials, searches sent.
    pds_url: str = "https://bsky.social"
    # Lucene-like search syntax, e.g. "gojek lang:id".
    query: str = Field(min_length=1, max_length=1000)
    lang: str | None = Field(default=None, pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
    overlap_s: int = Field(default=600, ge=0, le=86_400)

    @field_validator("pds_url")
    @classmethod
    def _pds_url(cls, value: str) -> str:
        return check_base_url(value)


class BlueskyCredentials(Credentials):
    identifier: str = Field(min_length=1, max_length=256)  # handle, DID or e-mail
    app_password: SecretStr


def at_uri_parts(uri: str) -> tuple[str, str, str]:
    """``(authority, collection, rkey)`` of an AT-URI; raises ``MappingError`` when it is not one."""
    if not uri.startswith("at://"):
        raise MappingError(f"not an AT-URI: {uri[:60]!r}")
    parts = uri[len("at://"):].split("/")
    if len(parts) != 3 or not all(parts):
        raise MappingError(f"not a record AT-URI: {uri[:60]!r}")
    return parts[0], parts[1], parts[2]


def web_url(uri: str, handle: str = "") -> str:
    """``https://bsky.app/profile/<handle or did>/post/<rkey>`` for a post AT-URI, else ``""``."""
    try:
        authority, collection, rkey = at_uri_parts(uri)
    except MappingError:
        return ""
    if collection != _POST_COLLECTION:
        return ""
    return f"https://bsky.app/profile/{handle or authority}/post/{rkey}"


def _quoted_uri(embed: Any) -> str:
    """The quoted record of a post record's embed (``embed.record`` or ``embed.recordWithMedia``)."""
    if not isinstance(embed, Mapping):
        return ""
    kind = str(embed.get("$type") or "")
    record = embed.get("record")
    if kind.startswith("app.bsky.embed.recordWithMedia") and isinstance(record, Mapping):
        record = record.get("record")
    elif not kind.startswith("app.bsky.embed.record"):
        return ""
    if isinstance(record, Mapping):
        return str(record.get("uri") or "")
    return ""


def sort_time(post: Mapping[str, Any]) -> datetime:
    """What the AppView sorts and filters ``since`` on: the earlier of createdAt and indexedAt."""
    record = post.get("record") if isinstance(post.get("record"), Mapping) else {}
    indexed = parse_datetime(require_str(dict(post), "indexedAt"))
    try:
        created = parse_datetime(record.get("createdAt"))
    except MappingError:
        return indexed
    return min(created, indexed)


def map_post(post: Mapping[str, Any]) -> CollectedPost:
    """One ``app.bsky.feed.defs#postView``."""
    if not isinstance(post, Mapping):
        raise MappingError("post is not an object")
    uri = require_str(dict(post), "uri")
    at_uri_parts(uri)
    record = post.get("record")
    if not isinstance(record, Mapping):
        raise MappingError("missing field 'record'")
    text = record.get("text")
    if not isinstance(text, str):
        raise MappingError("missing field 'record.text'")
    author = post.get("author") if isinstance(post.get("author"), Mapping) else {}
    did = str(author.get("did") or "")
    handle = str(author.get("handle") or "")
    if handle == "handle.invalid":
        handle = ""
    verification = author.get("verification") if isinstance(author.get("verification"), Mapping) else {}
    reply = record.get("reply") if isinstance(record.get("reply"), Mapping) else {}
    parent = reply.get("parent") if isinstance(reply.get("parent"), Mapping) else {}
    root = reply.get("root") if isinstance(reply.get("root"), Mapping) else {}
    langs = record.get("langs") if isinstance(record.get("langs"), list) else []
    created = record.get("createdAt") or post.get("indexedAt")
    metadata = {"did": did}
    if post.get("cid"):
        metadata["cid"] = str(post["cid"])
    if root.get("uri"):
        metadata["reply_root"] = str(root["uri"])
    return CollectedPost(
        platform=PLATFORM,
        external_id=uri,
        text=text,
        created_at=parse_datetime(created),
        author=Author(id=did, handle=handle, display_name=str(author.get("displayName") or ""),
                      # ProfileViewBasic carries no follower count.
                      followers=count(author.get("followersCount")),
                      verified=verification.get("verifiedStatus") == "valid"),
        engagement=Engagement(likes=count(post.get("likeCount")), reposts=count(post.get("repostCount")),
                              replies=count(post.get("replyCount")), quotes=count(post.get("quoteCount"))),
        url=web_url(uri, handle),
        lang_hint=str(langs[0]) if langs and isinstance(langs[0], str) else "",
        in_reply_to=str(parent.get("uri") or ""),
        quote_of=_quoted_uri(record.get("embed")),
        metadata=metadata,
    )


def _entry(post: Any) -> Entry | None:
    # The sort time, not createdAt, decides "older than the backfill": it is what the pages follow.
    try:
        moment = sort_time(post)
        return Entry(int(moment.timestamp() * 1_000_000), str(post["uri"]), moment)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def classify(response: HttpResponse) -> Outcome | None:
    """atproto reports an expired access token as 400 ExpiredToken, not 401."""
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("error") in _EXPIRED:
        return Outcome.REAUTH
    return None


class _SessionAuth:
    """An app-password session; the access JWT is created on first use and replaced when it expires."""

    header_names = ("Authorization",)

    def __init__(self, pds_url: str, credentials: BlueskyCredentials) -> None:
        self._url = pds_url + SESSION_PATH
        self._credentials = credentials
        self._token: str | None = None
        self._lock = asyncio.Lock()

    async def headers(self, api: ApiClient) -> dict[str, str]:
        async with self._lock:
            if self._token is None:
                response = await api.send("POST", self._url, json={
                    "identifier": self._credentials.identifier,
                    "password": self._credentials.app_password.get_secret_value()})
                body = api.decode_json(response)
                token = body.get("accessJwt") if isinstance(body, dict) else None
                if not isinstance(token, str) or not token:
                    raise AuthError("createSession returned no access token", platform=PLATFORM)
                self._token = token
                api.add_secrets([token])
            return {"Authorization": f"Bearer {self._token}"}

    async def invalidate(self) -> bool:
        self._token = None
        return True

    def secret_values(self) -> list[str]:
        values = [self._credentials.app_password.get_secret_value()]
        return values + ([self._token] if self._token else [])

    def __repr__(self) -> str:
        return f"_SessionAuth({self._url!r})"


class BlueskyConnector(HttpConnector):
    platform: ClassVar[str] = PLATFORM
    config_model = BlueskyConfig
    credentials_model = BlueskyCredentials
    credential_url_fields = ("pds_url",)

    def __init__(self, config: BlueskyConfig, credentials: BlueskyCredentials | None = None,
                 **kwargs: Any) -> None:
        super().__init__(config, credentials, **kwargs)
        self._auth = _SessionAuth(config.pds_url, credentials) if credentials else None
        self._search_url = (config.pds_url if credentials else config.base_url) + SEARCH_PATH

    async def fetch(self, cursor: Cursor | None, *, limit: int) -> FetchResult:
        sweep = SweepCursor.load(cursor, kind="bluesky.search", now=self.clock.time(),
                                 backfill_s=self.backfill_s())
        params: dict[str, Any] = {"q": self.config.query, "sort": "latest",
                                  "limit": max(1, min(MAX_PAGE, limit))}
        low = sweep.lower_bound()
        since = low / 1_000_000 if low is not None else sweep.not_before
        if since is not None:
            # Whole seconds, rounded down: the bound is inclusive, so rounding down only adds overlap.
            params["since"] = datetime.fromtimestamp(int(since), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.config.lang:
            params["lang"] = self.config.lang
        if sweep.page is not None:
            params["cursor"] = sweep.page
        response = await self.api.send("GET", self._search_url, params=params, auth=self._auth,
                                       classify=classify)
        body = self.api.decode_json(response)
        if not isinstance(body, dict) or not isinstance(body.get("posts", []), list):
            raise ResponseFormatError("searchPosts response has no posts list", platform=PLATFORM)
        raw = body.get("posts") or []
        posts, errors = mapped(PLATFORM, raw, map_post, id_of=lambda p: p.get("uri"))
        entries = [_entry(p) for p in raw]
        next_page = body.get("cursor") or None
        kept, errors, step = select(sweep, entries, posts, errors, next_page,
                                    overlap=self.config.overlap_s * 1_000_000)
        logger.debug("bluesky: %d posts, %d new, %d errors", len(raw), len(kept), len(errors))
        return FetchResult(kept, step.cursor.dump(kind="bluesky.search"), errors, has_more=step.more)
