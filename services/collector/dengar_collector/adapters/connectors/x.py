"""X (Twitter) API v2 recent search: ``GET /2/tweets/search/recent`` with an app bearer token.

Newest first; ``since_id`` (exclusive) bounds a sweep from below and ``next_token`` pages towards older
tweets, so the cursor is the newest id of the last completed sweep plus the token of a sweep in progress.
Recent search reaches back 7 days, so a first run's backfill is capped there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field, SecretStr

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
from dengar_collector.adapters.connectors.text import count, parse_datetime, require_str

logger = logging.getLogger(__name__)

PLATFORM = "x"
SEARCH_PATH = "/2/tweets/search/recent"
TWEET_FIELDS = "created_at,lang,public_metrics,referenced_tweets,conversation_id,author_id"
USER_FIELDS = "public_metrics,username,name,verified,location"
# The API refuses max_results outside 10..100.
MIN_PAGE, MAX_PAGE = 10, 100
RECENT_WINDOW = timedelta(days=7)
# Tweet ids are snowflakes: milliseconds since this epoch, shifted left by 22 bits.
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657
# X's codes for "no language": undetermined, media/hashtags/mentions/links only, no linguistic content.
_NO_LANGUAGE = frozenset({"und", "qme", "qht", "qam", "qct", "qst", "zxx"})
_RELATIONS = {"replied_to": "in_reply_to", "quoted": "quote_of", "retweeted": "repost_of"}
# X still reports the withdrawn ISO 639 codes for Indonesian, Hebrew and Yiddish.
_LEGACY_LANGUAGE = {"in": "id", "iw": "he", "ji": "yi"}


class XConfig(ApiConfig):
    base_url: str = "https://api.x.com"
    # X search syntax, e.g. "(gojek OR grab) lang:id -is:retweet".
    query: str = Field(min_length=1, max_length=4096)


class XCredentials(Credentials):
    bearer_token: SecretStr


def map_tweet(tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]]) -> CollectedPost:
    """One tweet of ``data`` with its author from ``includes.users``."""
    tweet_id = require_str(dict(tweet), "id")
    text = tweet.get("text")
    if not isinstance(text, str):
        raise MappingError("missing field 'text'")
    created_at = parse_datetime(require_str(dict(tweet), "created_at"))
    author_id = str(tweet.get("author_id") or "")
    user = users.get(author_id) or {}
    user_metrics = user.get("public_metrics") or {}
    metrics = tweet.get("public_metrics") or {}
    handle = str(user.get("username") or "")
    relations = {"in_reply_to": "", "quote_of": "", "repost_of": ""}
    for ref in tweet.get("referenced_tweets") or []:
        field = _RELATIONS.get(ref.get("type", "")) if isinstance(ref, dict) else None
        if field and ref.get("id"):
            relations[field] = str(ref["id"])
    lang = str(tweet.get("lang") or "")
    lang = _LEGACY_LANGUAGE.get(lang, lang)
    metadata = {}
    if tweet.get("conversation_id"):
        metadata["conversation_id"] = str(tweet["conversation_id"])
    return CollectedPost(
        platform=PLATFORM,
        external_id=tweet_id,
        text=text,
        created_at=created_at,
        author=Author(id=author_id, handle=handle, display_name=str(user.get("name") or ""),
                      followers=count(user_metrics.get("followers_count")),
                      # "verified" is the legacy flag; paid and organisation checks are verified_type.
                      verified=bool(user.get("verified"))
                      or str(user.get("verified_type") or "none") != "none",
                      location=str(user.get("location") or "")),
        engagement=Engagement(likes=count(metrics.get("like_count")),
                              reposts=count(metrics.get("retweet_count")),
                              replies=count(metrics.get("reply_count")),
                              quotes=count(metrics.get("quote_count")),
                              views=count(metrics.get("impression_count"))),
        url=(f"https://x.com/{handle}/status/{tweet_id}" if handle
             else f"https://x.com/i/web/status/{tweet_id}"),
        lang_hint="" if lang in _NO_LANGUAGE else lang,
        metadata=metadata,
        **relations,
    )


def snowflake_time(tweet_id: int) -> float:
    """Epoch seconds at which a tweet id was minted."""
    return ((tweet_id >> 22) + SNOWFLAKE_EPOCH_MS) / 1000.0


def _entry(tweet: Any, post: CollectedPost | None) -> Entry | None:
    try:
        tweet_id = str(tweet["id"])
        return Entry(int(tweet_id), tweet_id, post.created_at if post else None)
    except (KeyError, TypeError, ValueError):
        return None


class XConnector(HttpConnector):
    platform: ClassVar[str] = PLATFORM
    config_model = XConfig
    credentials_model = XCredentials
    credential_url_fields = ("base_url",)
    credentials_required = True

    def __init__(self, config: XConfig, credentials: XCredentials, **kwargs: Any) -> None:
        super().__init__(config, credentials, **kwargs)
        self._auth = StaticHeaderAuth("Authorization", credentials.bearer_token, prefix="Bearer ")

    async def fetch(self, cursor: Cursor | None, *, limit: int) -> FetchResult:
        now = self.clock.time()
        sweep = SweepCursor.load(cursor, kind="x.search", now=now, backfill_s=self.backfill_s())
        params: dict[str, Any] = {
            "query": self.config.query,
            "max_results": max(MIN_PAGE, min(MAX_PAGE, limit)),
            "expansions": "author_id",
            "tweet.fields": TWEET_FIELDS,
            "user.fields": USER_FIELDS,
        }
        # Recent search refuses a start_time or since_id older than 7 days (a minute of margin for skew).
        earliest = now - RECENT_WINDOW.total_seconds() + 60
        if sweep.floor is not None and snowflake_time(sweep.floor.key) >= earliest:
            params["since_id"] = str(sweep.floor.key)
        elif sweep.floor is not None or sweep.not_before is not None:
            # First run, or back after more than a week away: everything the window still holds. Tweets
            # the floor already covers are filtered out, so nothing is collected twice.
            lower = earliest if sweep.floor is not None else max(float(sweep.not_before or 0), earliest)
            params["start_time"] = datetime.fromtimestamp(lower, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if sweep.floor is not None:
                logger.warning("x: last collected tweet is older than the 7-day search window; "
                               "anything between it and %s could not be collected", params["start_time"])
        if sweep.page is not None:
            params["next_token"] = sweep.page
        body = await self.api.get_json(self.config.base_url + SEARCH_PATH, params=params, auth=self._auth)
        if not isinstance(body, dict):
            raise ResponseFormatError("search response is not an object", platform=PLATFORM)
        tweets = body.get("data") or []
        users = {str(u.get("id")): u for u in (body.get("includes") or {}).get("users") or []
                 if isinstance(u, dict)}
        meta = body.get("meta") or {}
        if body.get("errors"):
            # Partial errors (a deleted author, a withheld tweet) come beside the data.
            logger.info("x: search returned %d partial errors", len(body["errors"]))
        posts, errors = mapped(PLATFORM, tweets, lambda t: map_tweet(t, users),
                               id_of=lambda t: t.get("id"))
        entries = [_entry(t, p) for t, p in zip(tweets, posts, strict=True)]
        kept, errors, step = select(sweep, entries, posts, errors, meta.get("next_token"))
        logger.debug("x: %d tweets, %d new, %d errors, sweep %s", len(tweets), len(kept), len(errors),
                     "continues" if step.more else "complete")
        return FetchResult(kept, step.cursor.dump(kind="x.search"), errors, has_more=step.more)
