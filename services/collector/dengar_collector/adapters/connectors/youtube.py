"""YouTube Data API v3: ``search.list`` for new videos, ``videos.list`` for their counts, and
``commentThreads.list`` for the newest top-level comments of each new video.

``search.list`` (type=video, order=date) is newest first; ``publishedAfter`` (inclusive) bounds a sweep
and ``pageToken`` pages. Search results show up late and unevenly, so the floor keeps an overlap window
(``overlap_s``) of remembered video ids. ``search.list`` costs 100 quota units of the default 10,000 a
day; ``videos.list`` and ``commentThreads.list`` cost 1 each. The key goes in the ``X-Goog-Api-Key``
header, never in the URL (URLs end up in logs and proxies).

A spent quota is a ``QuotaExceededError`` whose ``retry_after`` points at midnight Pacific time, when
Google resets it. Comments switched off on one video are an item error for that video only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, ClassVar

from pydantic import Field, SecretStr

from dengar_collector.adapters.connectors.api import HttpConnector, Outcome, StaticHeaderAuth
from dengar_collector.adapters.connectors.base import (
    ApiConfig,
    Author,
    CollectedPost,
    Credentials,
    Cursor,
    Engagement,
    FetchResult,
    ItemError,
    MappingError,
    QuotaExceededError,
    RequestRejectedError,
    ResponseFormatError,
    mapped,
)
from dengar_collector.adapters.connectors.sweep import Entry, SweepCursor, select
from dengar_collector.adapters.connectors.text import (
    count,
    html_to_text,
    iso_z,
    parse_datetime,
    plain_text,
    require_str,
)
from dengar_common.http_safety import HttpResponse

logger = logging.getLogger(__name__)

PLATFORM = "youtube"
MAX_PAGE = 50
MAX_COMMENTS = 100
_QUOTA = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_RATE = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
# Reasons that are about the key or project. A bare "forbidden" is not among them: commentThreads uses it
# for one private video, and that must not fail the whole fetch.
_AUTH = frozenset({"keyInvalid", "keyExpired", "accessNotConfigured", "ipRefererBlocked",
                   "API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "authError"})


class YouTubeConfig(ApiConfig):
    base_url: str = "https://www.googleapis.com/youtube/v3"
    query: str = Field(min_length=1, max_length=500)
    region_code: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")
    relevance_language: str | None = Field(default=None, pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z]{2,4})?$")
    # Newest top-level comments fetched for each new video (0: videos only).
    comments_per_video: int = Field(default=20, ge=0, le=MAX_COMMENTS)
    overlap_s: int = Field(default=1800, ge=0, le=7 * 86_400)


class YouTubeCredentials(Credentials):
    api_key: SecretStr


def error_reasons(response: HttpResponse) -> list[str]:
    """``error.errors[].reason`` (and ``error.status``) of a Google API error body."""
    try:
        body = response.json()
    except ValueError:
        return []
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return []
    reasons = [str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict)]
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            reasons.append(str(detail["reason"]))
    return reasons


def classify(response: HttpResponse) -> Outcome | None:
    """Google answers quota, rate and key problems with 403/400 plus a reason."""
    reasons = set(error_reasons(response))
    if reasons & _QUOTA:
        return Outcome.QUOTA
    if reasons & _RATE:
        return Outcome.RATE_LIMITED
    if reasons & _AUTH:
        return Outcome.AUTH
    if response.status_code == 403:
        # commentsDisabled, forbidden on one video: not the key's fault.
        return Outcome.REJECTED if reasons else Outcome.AUTH
    return None


def seconds_to_quota_reset(now: float) -> float:
    """Seconds until the next midnight in America/Los_Angeles, when YouTube quotas reset."""
    pacific: tzinfo
    try:
        from zoneinfo import ZoneInfo

        pacific = ZoneInfo("America/Los_Angeles")
    except Exception:  # no tz database in the image: PST is close enough for a retry hint
        pacific = timezone(timedelta(hours=-8))
    local = datetime.fromtimestamp(now, tz=pacific)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(60.0, midnight.timestamp() - now)


def _video_id(item: Mapping[str, Any]) -> str:
    ident = item.get("id")
    if isinstance(ident, Mapping):
        return require_str(dict(ident), "videoId")
    return require_str(dict(item), "id")


def map_video(item: Mapping[str, Any], details: Mapping[str, Any] | None = None) -> CollectedPost:
    """A ``search#result`` (or ``videos#video``) with, when available, its ``videos.list`` resource."""
    if not isinstance(item, Mapping):
        raise MappingError("item is not an object")
    video_id = _video_id(item)
    snippet = dict(item.get("snippet") or {})
    full = dict((details or {}).get("snippet") or {})
    stats = (details or {}).get("statistics") or {}
    # videos.list has the full description and title; search.list's are cut and HTML-escaped.
    title = plain_text(str(full.get("title") or snippet.get("title") or ""))
    description = str(full.get("description") if "description" in full else
                      html_to_text(str(snippet.get("description") or "")))
    channel_id = str(snippet.get("channelId") or full.get("channelId") or "")
    channel = plain_text(str(snippet.get("channelTitle") or full.get("channelTitle") or ""))
    lang = str(full.get("defaultAudioLanguage") or full.get("defaultLanguage") or "")
    metadata = {"kind": "video", "channel_id": channel_id}
    live = snippet.get("liveBroadcastContent") or full.get("liveBroadcastContent")
    if live and live != "none":
        metadata["live"] = str(live)
    return CollectedPost(
        platform=PLATFORM,
        external_id=video_id,
        title=title,
        text=description,
        created_at=parse_datetime(snippet.get("publishedAt") or full.get("publishedAt")),
        author=Author(id=channel_id, display_name=channel),
        engagement=Engagement(views=count(stats.get("viewCount")), likes=count(stats.get("likeCount")),
                              replies=count(stats.get("commentCount"))),
        url=f"https://www.youtube.com/watch?v={video_id}",
        # YouTube's language codes are BCP-47 already ("id", "en-US"); "zxx" means no speech.
        lang_hint="" if lang == "zxx" else lang,
        metadata=metadata,
    )


def map_comment_thread(thread: Mapping[str, Any]) -> CollectedPost:
    """A ``commentThreads#commentThread``: its top-level comment, as a reply to the video."""
    if not isinstance(thread, Mapping):
        raise MappingError("item is not an object")
    snippet = thread.get("snippet") or {}
    top = snippet.get("topLevelComment") or {}
    comment_id = require_str(dict(top), "id")
    c = dict(top.get("snippet") or {})
    video_id = str(c.get("videoId") or snippet.get("videoId") or "")
    if not video_id:
        raise MappingError("comment has no videoId")
    text = str(c.get("textOriginal") or "") or html_to_text(str(c.get("textDisplay") or ""))
    author_channel = c.get("authorChannelId") or {}
    author_id = str(author_channel.get("value") or "") if isinstance(author_channel, Mapping) else ""
    name = str(c.get("authorDisplayName") or "")
    return CollectedPost(
        platform=PLATFORM,
        external_id=comment_id,
        text=text,
        created_at=parse_datetime(c.get("publishedAt")),
        author=Author(id=author_id, handle=name if name.startswith("@") else "", display_name=name),
        engagement=Engagement(likes=count(c.get("likeCount")), replies=count(snippet.get("totalReplyCount"))),
        url=f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}",
        in_reply_to=video_id,
        metadata={"kind": "comment", "video_id": video_id},
    )


def _entry(item: Any, post: CollectedPost | None) -> Entry | None:
    try:
        published = post.created_at if post else parse_datetime(item["snippet"]["publishedAt"])
        return Entry(int(published.timestamp()), _video_id(item), published)
    except (KeyError, TypeError, ValueError, MappingError):
        return None


class YouTubeConnector(HttpConnector):
    platform: ClassVar[str] = PLATFORM
    config_model = YouTubeConfig
    credentials_model = YouTubeCredentials
    credential_url_fields = ("base_url",)
    credentials_required = True

    def __init__(self, config: YouTubeConfig, credentials: YouTubeCredentials, **kwargs: Any) -> None:
        super().__init__(config, credentials, **kwargs)
        self._auth = StaticHeaderAuth("X-Goog-Api-Key", credentials.api_key)

    async def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            body = await self.api.get_json(self.config.base_url + path, params=params, auth=self._auth,
                                           classify=classify)
        except QuotaExceededError as exc:
            if exc.retry_after is None:
                exc.retry_after = seconds_to_quota_reset(self.clock.time())
            raise
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
            raise ResponseFormatError(f"{path} response has no items list", platform=PLATFORM)
        return body

    async def _details(self, video_ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        if not video_ids:
            return {}
        # At most 50 ids, one search page; maxResults is not allowed together with id.
        body = await self._get("/videos", {"part": "snippet,statistics", "id": ",".join(video_ids)})
        return {str(v.get("id")): v for v in body.get("items") or [] if isinstance(v, dict)}

    async def _comments(self, video_id: str, index: int) -> tuple[list[CollectedPost], list[ItemError]]:
        try:
            body = await self._get("/commentThreads", {
                "part": "snippet", "videoId": video_id, "order": "time", "textFormat": "plainText",
                "maxResults": self.config.comments_per_video})
        except RequestRejectedError as exc:
            # Comments disabled, video gone or private since the search: that video only.
            return [], [ItemError(index=index, reason=f"comments unavailable: {exc}"[:300],
                                  external_id=video_id)]
        threads = body.get("items") or []
        posts, errors = mapped(PLATFORM, threads, map_comment_thread, id_of=lambda t: t.get("id"))
        # The errors' indexes point into the search page; the comment's own id says which one it was.
        errors = [ItemError(index=index, reason=f"comment: {e.reason}", external_id=e.external_id)
                  for e in errors]
        return [p for p in posts if p is not None], errors

    async def fetch(self, cursor: Cursor | None, *, limit: int) -> FetchResult:
        sweep = SweepCursor.load(cursor, kind="youtube.search", now=self.clock.time(),
                                 backfill_s=self.backfill_s())
        params: dict[str, Any] = {"part": "snippet", "type": "video", "order": "date",
                                  "q": self.config.query, "maxResults": max(1, min(MAX_PAGE, limit))}
        low = sweep.lower_bound()
        after = float(low) if low is not None else sweep.not_before
        if after is not None:
            params["publishedAfter"] = iso_z(datetime.fromtimestamp(int(after), tz=UTC))
        if self.config.region_code:
            params["regionCode"] = self.config.region_code.upper()
        if self.config.relevance_language:
            params["relevanceLanguage"] = self.config.relevance_language
        if sweep.page is not None:
            params["pageToken"] = sweep.page
        body = await self._get("/search", params)
        items = list(body.get("items") or [])
        # Channels and playlists never match type=video, but a malformed item should not stop the page.
        ids: list[str] = []
        for item in items:
            try:
                ids.append(_video_id(item))
            except (MappingError, AttributeError, TypeError):
                continue
        details = await self._details(ids)

        def map_with_details(item: Any) -> CollectedPost:
            return map_video(item, details.get(_video_id(item)))

        posts, errors = mapped(PLATFORM, items, map_with_details, id_of=_video_id)
        entries = [_entry(i, p) for i, p in zip(items, posts, strict=True)]
        kept, errors, step = select(sweep, entries, posts, errors, body.get("nextPageToken") or None,
                                    overlap=self.config.overlap_s)
        comments: list[CollectedPost] = []
        if self.config.comments_per_video:
            for index, video in enumerate(posts):
                if video is None or not step.fresh[index]:
                    continue
                found, comment_errors = await self._comments(video.external_id, index)
                comments.extend(found)
                errors.extend(comment_errors)
        logger.debug("youtube: %d videos, %d new, %d comments, %d errors", len(items), len(kept),
                     len(comments), len(errors))
        return FetchResult(kept + comments, step.cursor.dump(kind="youtube.search"), errors,
                           has_more=step.more)
