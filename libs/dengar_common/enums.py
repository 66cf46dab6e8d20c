"""Names used on the REST API and in documents for the proto enums."""

from __future__ import annotations

from dengar.v1 import common_pb2

PLATFORMS: dict[str, int] = {
    "x": common_pb2.PLATFORM_X,
    "mastodon": common_pb2.PLATFORM_MASTODON,
    "bluesky": common_pb2.PLATFORM_BLUESKY,
    "reddit": common_pb2.PLATFORM_REDDIT,
    "youtube": common_pb2.PLATFORM_YOUTUBE,
    "rss": common_pb2.PLATFORM_RSS,
    "hackernews": common_pb2.PLATFORM_HACKERNEWS,
    "facebook": common_pb2.PLATFORM_FACEBOOK,
    "instagram": common_pb2.PLATFORM_INSTAGRAM,
    "tiktok": common_pb2.PLATFORM_TIKTOK,
    "news": common_pb2.PLATFORM_NEWS,
    "forum": common_pb2.PLATFORM_FORUM,
    "review": common_pb2.PLATFORM_REVIEW,
    "other": common_pb2.PLATFORM_OTHER,
}
PLATFORM_NAMES: dict[int, str] = {v: k for k, v in PLATFORMS.items()}
# "twitter" is what most exports still say.
PLATFORM_ALIASES: dict[str, str] = {"twitter": "x", "hn": "hackernews"}

SENTIMENTS: dict[str, int] = {
    "negative": common_pb2.SENTIMENT_NEGATIVE,
    "neutral": common_pb2.SENTIMENT_NEUTRAL,
    "positive": common_pb2.SENTIMENT_POSITIVE,
}
SENTIMENT_NAMES: dict[int, str] = {v: k for k, v in SENTIMENTS.items()}


def platform_from_name(name: str) -> int:
    """Enum value for a platform name; raises ValueError for an unknown one."""
    key = name.strip().lower()
    key = PLATFORM_ALIASES.get(key, key)
    try:
        return PLATFORMS[key]
    except KeyError:
        raise ValueError(f"unknown platform {name!r}; expected one of {sorted(PLATFORMS)}") from None


def platform_name(value: int) -> str:
    return PLATFORM_NAMES.get(value, "other")


def sentiment_from_name(name: str) -> int:
    try:
        return SENTIMENTS[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown sentiment {name!r}; expected one of {sorted(SENTIMENTS)}") from None


def sentiment_name(value: int) -> str:
    return SENTIMENT_NAMES.get(value, "neutral")
