"""Mastodon (any instance): hashtag timelines and status search.

- ``GET /api/v1/timelines/tag/:hashtag``: newest first, ``since_id`` bounds a sweep from below and the
  ``Link: <...max_id=...>; rel="next"`` header pages towards older statuses.
- ``GET /api/v2/search?type=statuses``: ``min_id`` bounds from below, ``max_id`` pages (no Link header).
  Status search needs an access token on most instances.

Status ids are instance-local (snowflakes), so they order the sweep; the *external id* is the status
``uri``, the ActivityPub id, which is the same on every instance: a tenant following a tag on two
instances gets each federated post once. ``in_reply_to`` can only be the parent's local id (the API gives
no parent URI); ``metadata["instance"]`` says which instance's id space it belongs to. Reblogs become posts
whose ``repost_of`` is the reblogged status' URI and whose text is the reblogged content.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from pydantic import Field, SecretStr, model_validator

from dengar_collector.adapters.connectors.api import HttpConnector, StaticHeaderAuth
from dengar_collector.adapters.connectors.base import (
    ApiConfig,
    Author,
    CollectedPost,
    Credentials,
    Cursor,
    Engagement,
    FetchResult,
    MappingError,
    ResponseFormatError,
    mapped,
)
from dengar_collector.adapters.connectors.sweep import Entry, SweepCursor, select
from dengar_collector.adapters.connectors.text import count, html_to_text, parse_datetime, require_str

logger = logging.getLogger(__name__)

PLATFORM = "mastodon"
# Mastodon caps every list at 40 items.
MAX_PAGE = 40
_LINK_PART = re.compile(r'<([^>]*)>\s*((?:;\s*[^;,]+)*)')


class MastodonConfig(ApiConfig):
    base_url: str = "https://mastodon.social"
    # Exactly one of the two: a hashtag (without '#') or a full-text status search.
    hashtag: str | None = Field(default=None, pattern=r"^#?[\w]{1,100}$")
    query: str | None = Field(default=None, min_length=1, max_length=500)
    # Tag timeline only: statuses from this instance's users only.
    local_only: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> MastodonConfig:
        if (self.hashtag is None) == (self.query is None):
            raise ValueError("set exactly one of hashtag or query")
        return self


class MastodonCredentials(Credentials):
    access_token: SecretStr


def parse_link_header(value: str) -> dict[str, str]:
    """``rel -> URL`` from an RFC 8288 ``Link`` header."""
    links: dict[str, str] = {}
    for match in _LINK_PART.finditer(value or ""):
        url, params = match.group(1), match.group(2)
        for param in params.split(";"):
            key, _, val = param.strip().partition("=")
            if key.strip().lower() == "rel":
                for rel in val.strip().strip('"').split():
                    links.setdefault(rel.lower(), url)
    return links


def _query_value(url: str, name: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else None


def _handle(account: Mapping[str, Any], instance: str) -> str:
    acct = str(account.get("acct") or account.get("username") or "")
    # Local accounts have no domain in "acct"; the handle is only global with one.
    return acct if "@" in acct or not acct else f"{acct}@{instance}"


def _content_text(status: Mapping[str, Any]) -> str:
    text = html_to_text(str(status.get("content") or ""))
    if not text:
        # Media-only posts: the alt texts are what there is to read.
        alts = [str(m.get("description") or "").strip() for m in status.get("media_attachments") or []
                if isinstance(m, dict)]
        text = "\n".join(a for a in alts if a)
    return text


def map_status(status: Mapping[str, Any], *, instance: str) -> CollectedPost:
    """One Status entity as returned by ``instance``."""
    if not isinstance(status, Mapping):
        raise MappingError("status is not an object")
    local_id = require_str(dict(status), "id")
    account = status.get("account")
    if not isinstance(account, Mapping):
        raise MappingError("missing field 'account'")
    reblog = status.get("reblog") if isinstance(status.get("reblog"), Mapping) else None
    source = reblog or status
    quote = source.get("quote") if isinstance(source.get("quote"), Mapping) else None
    quoted = quote.get("quoted_status") if quote and isinstance(quote.get("quoted_status"), Mapping) else None
    metadata = {"instance": instance, "status_id": local_id}
    for key in ("visibility", "spoiler_text"):
        if source.get(key):
            metadata[key] = str(source[key])
    if source.get("in_reply_to_account_id"):
        metadata["in_reply_to_account_id"] = str(source["in_reply_to_account_id"])
    handle = _handle(account, instance)
    return CollectedPost(
        platform=PLATFORM,
        external_id=str(status.get("uri") or local_id),
        text=_content_text(source),
        created_at=parse_datetime(require_str(dict(status), "created_at")),
        author=Author(id=handle, handle=handle, display_name=str(account.get("display_name") or ""),
                      followers=count(account.get("followers_count"))),
        engagement=Engagement(likes=count(status.get("favourites_count")),
                              reposts=count(status.get("reblogs_count")),
                              replies=count(status.get("replies_count")),
                              quotes=count(status.get("quotes_count"))),
        url=str(status.get("url") or source.get("url") or status.get("uri") or ""),
        lang_hint=str(source.get("language") or ""),
        in_reply_to=str(source.get("in_reply_to_id") or ""),
        quote_of=str(quoted.get("uri") or "") if quoted else "",
        repost_of=str(reblog.get("uri") or reblog.get("id") or "") if reblog else "",
        metadata=metadata,
    )


def _entry(status: Any, post: CollectedPost | None) -> Entry | None:
    try:
        local_id = str(status["id"])
        return Entry(int(local_id), local_id, post.created_at if post else None)
    except (KeyError, TypeError, ValueError):
        return None


class MastodonConnector(HttpConnector):
    platform: ClassVar[str] = PLATFORM
    config_model = MastodonConfig
    credentials_model = MastodonCredentials
    credential_url_fields = ("base_url",)

    def __init__(self, config: MastodonConfig, credentials: MastodonCredentials | None = None,
                 **kwargs: Any) -> None:
        super().__init__(config, credentials, **kwargs)
        self._auth = (StaticHeaderAuth("Authorization", credentials.access_token, prefix="Bearer ")
                      if credentials else None)
        self._instance = urlsplit(config.base_url).hostname or ""

    @property
    def _kind(self) -> str:
        return "mastodon.tag" if self.config.hashtag else "mastodon.search"

    async def fetch(self, cursor: Cursor | None, *, limit: int) -> FetchResult:
        sweep = SweepCursor.load(cursor, kind=self._kind, now=self.clock.time(), backfill_s=self.backfill_s())
        page_size = max(1, min(MAX_PAGE, limit))
        params: dict[str, Any] = {"limit": page_size}
        if sweep.page is not None:
            params["max_id"] = sweep.page
        if self.config.hashtag:
            tag = self.config.hashtag.lstrip("#")
            url = f"{self.config.base_url}/api/v1/timelines/tag/{tag}"
            if sweep.floor is not None:
                params["since_id"] = str(sweep.floor.key)
            if self.config.local_only:
                params["local"] = "true"
        else:
            url = f"{self.config.base_url}/api/v2/search"
            params.update({"q": self.config.query, "type": "statuses", "resolve": "false"})
            if sweep.floor is not None:
                params["min_id"] = str(sweep.floor.key)
        response = await self.api.send("GET", url, params=params, auth=self._auth)
        body = self.api.decode_json(response)
        statuses = body.get("statuses") if isinstance(body, dict) and not self.config.hashtag else body
        if not isinstance(statuses, list):
            raise ResponseFormatError("expected a list of statuses", platform=PLATFORM)
        posts, errors = mapped(PLATFORM, statuses, lambda s: map_status(s, instance=self._instance),
                               id_of=lambda s: s.get("uri") or s.get("id"))
        entries = [_entry(s, p) for s, p in zip(statuses, posts, strict=True)]
        next_page = None
        if len(statuses) >= page_size:
            # The Link header is authoritative when present; the smallest id otherwise (search has none).
            link = parse_link_header(response.headers.get("link", "")).get("next")
            next_page = _query_value(link, "max_id") if link else None
            if next_page is None:
                keyed = [e.key for e in entries if e is not None]
                next_page = str(min(keyed)) if keyed else None
        kept, errors, step = select(sweep, entries, posts, errors, next_page)
        logger.debug("mastodon: %d statuses from %s, %d new, %d errors", len(statuses), self._instance,
                     len(kept), len(errors))
        return FetchResult(kept, step.cursor.dump(kind=self._kind), errors, has_more=step.more)
