"""Reddit: subreddit listings (``/r/<sub>/new``, ``/r/<sub>/comments``) and search (``/search``).

Authentication is an OAuth "script/web app" client-credentials grant: ``POST /api/v1/access_token`` on
www.reddit.com with the app's id and secret, then ``Authorization: bearer`` on oauth.reddit.com. The
token is cached until shortly before it expires and fetched again when the API answers 401.

Listings are newest first and page with ``after=<fullname>``. A sweep walks back until it meets the
newest item of the last sweep (ids are base-36 counters, so they order like time). ``before=<fullname>``
is not used to go forward: when that anchor post is deleted, Reddit answers an empty listing forever.
External ids are fullnames (``t3_…`` posts, ``t1_…`` comments), so posts and comments never collide.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from dengar_collector.adapters.connectors.api import ApiClient, HttpConnector
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
from dengar_collector.adapters.connectors.text import count, parse_datetime, plain_text, require_str

logger = logging.getLogger(__name__)

PLATFORM = "reddit"
TOKEN_PATH = "/api/v1/access_token"
MAX_PAGE = 100
# Refresh this long before the announced expiry, so a token never expires between check and use.
TOKEN_MARGIN_S = 120.0
_REMOVED = frozenset({"[removed]", "[deleted]"})


class RedditConfig(ApiConfig):
    base_url: str = "https://oauth.reddit.com"
    auth_url: str = "https://www.reddit.com"
    # A subreddit ("indonesia", or "a+b" for several), a search query, or both (search in the subreddit).
    subreddit: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{2,21}(\+[A-Za-z0-9_]{2,21})*$")
    query: str | None = Field(default=None, min_length=1, max_length=512)
    # Subreddit listings only: new posts or new comments.
    kind: Literal["posts", "comments"] = "posts"
    # Reddit's API rules require a descriptive User-Agent naming the app and its author.
    user_agent: str = Field(default="server:dengar-collector:v0.1 (self-hosted Dengar)", min_length=1)

    @field_validator("auth_url")
    @classmethod
    def _auth_url(cls, value: str) -> str:
        return check_base_url(value)

    @model_validator(mode="after")
    def _source(self) -> RedditConfig:
        if not self.subreddit and not self.query:
            raise ValueError("set subreddit, query or both")
        if self.query and self.kind == "comments":
            raise ValueError("search returns posts only; kind 'comments' needs a subreddit without query")
        return self


class RedditCredentials(Credentials):
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr


def _base36(value: str) -> int:
    return int(value, 36)


def _removed(text: str) -> bool:
    return text.strip() in _REMOVED


def map_thing(thing: Mapping[str, Any]) -> CollectedPost:
    """One listing child: ``{"kind": "t3"|"t1", "data": {...}}``."""
    if not isinstance(thing, Mapping) or not isinstance(thing.get("data"), Mapping):
        raise MappingError("listing child has no data")
    kind = thing.get("kind")
    data = dict(thing["data"])
    name = require_str(data, "name")
    created = parse_datetime(float(data["created_utc"]))
    author = str(data.get("author") or "")
    permalink = str(data.get("permalink") or "")
    metadata = {"subreddit": str(data.get("subreddit") or ""), "kind": str(kind)}
    common = {
        "platform": PLATFORM, "external_id": name, "created_at": created,
        "author": Author(id=str(data.get("author_fullname") or ""), handle=author, display_name=author),
        "url": f"https://www.reddit.com{permalink}" if permalink.startswith("/") else permalink,
    }
    # Up-votes net of down-votes, fuzzed by Reddit, and negative for a buried comment: a like count
    # cannot be negative, so a buried item counts zero.
    votes = data.get("ups") if data.get("ups") is not None else data.get("score")
    likes = max(0, int(float(votes or 0)))
    if kind == "t3":
        title = plain_text(str(data.get("title") or ""))
        selftext = str(data.get("selftext") or "")
        if _removed(selftext):
            selftext = ""
        if not data.get("is_self") and data.get("url"):
            metadata["link_url"] = str(data["url"])
        for key in ("domain", "link_flair_text"):
            if data.get(key):
                metadata[key] = str(data[key])
        if data.get("over_18"):
            metadata["nsfw"] = "true"
        return CollectedPost(
            **common, title=title, text=selftext,
            engagement=Engagement(likes=likes, replies=count(data.get("num_comments")),
                                  views=count(data.get("view_count"))),
            repost_of=str(data.get("crosspost_parent") or ""),
            metadata=metadata,
        )
    if kind == "t1":
        body = str(data.get("body") or "")
        if _removed(body) or not body.strip():
            raise MappingError("comment removed or deleted")
        if data.get("link_id"):
            metadata["link_id"] = str(data["link_id"])
        if data.get("link_title"):
            metadata["link_title"] = plain_text(str(data["link_title"]))
        return CollectedPost(
            **common, text=body,
            engagement=Engagement(likes=likes),
            in_reply_to=str(data.get("parent_id") or ""),
            metadata=metadata,
        )
    raise MappingError(f"unsupported listing kind {kind!r}")


def _entry(thing: Any, post: CollectedPost | None) -> Entry | None:
    try:
        data = thing["data"]
        return Entry(_base36(str(data["id"])), str(data["name"]),
                     post.created_at if post else parse_datetime(float(data["created_utc"])))
    except (KeyError, TypeError, ValueError, MappingError):
        return None


class _ClientCredentialsAuth:
    """The app-only OAuth token, fetched on first use and cached until shortly before it expires."""

    header_names = ("Authorization",)

    def __init__(self, token_url: str, credentials: RedditCredentials, user_agent: str) -> None:
        self._url = token_url
        self._credentials = credentials
        self._user_agent = user_agent
        basic = f"{credentials.client_id}:{credentials.client_secret.get_secret_value()}"
        self._basic = base64.b64encode(basic.encode("utf-8")).decode("ascii")
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.token_requests = 0

    async def headers(self, api: ApiClient) -> dict[str, str]:
        async with self._lock:
            if self._token is None or api.clock.time() >= self._expires_at:
                await self._refresh(api)
            return {"Authorization": f"bearer {self._token}"}

    async def _refresh(self, api: ApiClient) -> None:
        self.token_requests += 1
        response = await api.send("POST", self._url, data={"grant_type": "client_credentials"},
                                  headers={"Authorization": f"Basic {self._basic}",
                                           "User-Agent": self._user_agent})
        body = api.decode_json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            # Reddit answers some credential errors with 200 and {"error": "invalid_grant"}.
            error = body.get("error") if isinstance(body, dict) else None
            raise AuthError(f"token endpoint returned no access token (error={error!r})", platform=PLATFORM)
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token = token
        self._expires_at = api.clock.time() + max(0.0, lifetime - TOKEN_MARGIN_S)
        api.add_secrets([token])
        logger.info("reddit: obtained an app token valid for %.0fs", lifetime)

    async def invalidate(self) -> bool:
        self._token = None
        return True

    def secret_values(self) -> list[str]:
        values = [self._credentials.client_secret.get_secret_value(), self._basic]
        return values + ([self._token] if self._token else [])

    def __repr__(self) -> str:
        return f"_ClientCredentialsAuth({self._url!r})"


class RedditConnector(HttpConnector):
    platform: ClassVar[str] = PLATFORM
    config_model = RedditConfig
    credentials_model = RedditCredentials
    credential_url_fields = ("base_url", "auth_url")
    credentials_required = True

    def __init__(self, config: RedditConfig, credentials: RedditCredentials, **kwargs: Any) -> None:
        super().__init__(config, credentials, **kwargs)
        self.auth = _ClientCredentialsAuth(config.auth_url + TOKEN_PATH, credentials, config.user_agent)

    @property
    def _kind(self) -> str:
        return f"reddit.{'search' if self.config.query else self.config.kind}"

    def _listing(self) -> tuple[str, dict[str, Any]]:
        cfg = self.config
        if cfg.query:
            path = f"/r/{cfg.subreddit}/search" if cfg.subreddit else "/search"
            params: dict[str, Any] = {"q": cfg.query, "sort": "new", "type": "link", "t": "all"}
            if cfg.subreddit:
                params["restrict_sr"] = "1"
            return path, params
        return f"/r/{cfg.subreddit}/{'comments' if cfg.kind == 'comments' else 'new'}", {}

    async def fetch(self, cursor: Cursor | None, *, limit: int) -> FetchResult:
        sweep = SweepCursor.load(cursor, kind=self._kind, now=self.clock.time(), backfill_s=self.backfill_s())
        path, params = self._listing()
        # raw_json=1: text fields without the legacy HTML escaping (&amp;).
        params.update({"limit": max(1, min(MAX_PAGE, limit)), "raw_json": "1"})
        if sweep.page is not None:
            params["after"] = sweep.page
        body = await self.api.get_json(self.config.base_url + path, params=params, auth=self.auth,
                                       headers={"User-Agent": self.config.user_agent})
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("children", []), list):
            raise ResponseFormatError("expected a Listing", platform=PLATFORM)
        children = data.get("children") or []
        posts, errors = mapped(PLATFORM, children, map_thing, id_of=lambda t: t["data"]["name"])
        entries = [_entry(t, p) for t, p in zip(children, posts, strict=True)]
        kept, errors, step = select(sweep, entries, posts, errors, data.get("after") or None)
        logger.debug("reddit: %d items from %s, %d new, %d errors", len(children), path, len(kept),
                     len(errors))
        return FetchResult(kept, step.cursor.dump(kind=self._kind), errors, has_more=step.more)
