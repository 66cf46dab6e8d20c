"""THE contract of an incoming post: its limits, its enums and the one function that judges it.

Posts arrive four ways (REST ``POST /v1/posts``, signed webhooks, file imports and the collector's
gRPC ``IngestPosts``); each entry point decodes its own wire format into a :class:`PostFields` and
asks :func:`post_problems` what is wrong with it, so a post is accepted or rejected for the same
reasons, with the same (field, message) pairs, whichever way it came in. Decoding stays with the
entry point (JSON types, RFC 3339 strings, CSV cells, protobuf enums); only what a post *means*
lives here.

:class:`PostFields` is a frozen dataclass rather than the REST pydantic model so that the collector
can judge a ``dengar.v1.Post`` without going through JSON and pydantic's own error wording.
Messages name their field ("external_id longer than 512 characters") so that they read on their
own in logs, CLI reports and gRPC errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

from dengar.v1 import common_pb2
from dengar_common.enums import PLATFORM_ALIASES, PLATFORM_NAMES, PLATFORMS

# The id of a post on its platform. 512 is what the public REST API has always promised (its
# OpenAPI schema says maxLength 512), so it wins over the 256 the importer and the collector used:
# shrinking it would break API users. Both places that use it cope: the store keys posts on the
# 24-hex hash of ``tenant:platform:external_id`` (ids.mention_id), and the JetStream Nats-Msg-Id
# ``tenant:platform:external_id`` is at most 63 + 1 + 10 + 1 + 512 characters, far below the
# header and max_payload limits (control characters, which would break the header block, are refused).
MAX_EXTERNAL_ID_CHARS = 512
MAX_TEXT_CHARS = 40_000
# Headlines and thread titles are short; a longer "title" is a body sent in the wrong field.
MAX_TITLE_CHARS = 1_000
MAX_URL_CHARS = 2_048
# BCP-47 tags are short; 35 is RFC 5646's recommended minimum buffer for one.
MAX_LANG_CHARS = 35
# in_reply_to, quote_of and repost_of are external ids of other posts.
MAX_REF_CHARS = MAX_EXTERNAL_ID_CHARS
MAX_COUNTRY_CHARS = 64
MAX_AUTHOR_ID_CHARS = 256
MAX_AUTHOR_HANDLE_CHARS = 256
MAX_AUTHOR_DISPLAY_NAME_CHARS = 512
MAX_AUTHOR_LOCATION_CHARS = 256
MAX_METADATA_ENTRIES = 64
MAX_METADATA_KEY_CHARS = 128
MAX_METADATA_VALUE_CHARS = 2_048
# Counters are int64 on the wire.
MAX_COUNT = 2**63 - 1
# A post travels as one NATS message and the server's default max_payload is 1 MiB. The field
# limits above still allow ~0.6 MB of 4-byte characters, so the encoded text is capped as a whole;
# the rest of a serialised post (tags, lengths, numbers) is a few hundred bytes.
MAX_POST_BYTES = 512 * 1024
# Nothing we listen to predates 2000; an earlier date is a parsing bug on the caller's side (epoch 0,
# milliseconds read as seconds) and would poison every time-bucketed chart.
EARLIEST_CREATED_AT = datetime(2000, 1, 1, tzinfo=UTC)
# Clocks drift and exports carry odd time zones, but a post from next week is a bug.
FUTURE_TOLERANCE = timedelta(days=1)

# The enums of a post and of what the pipeline says about it, by their public names.
PLATFORM_CHOICES: tuple[str, ...] = tuple(sorted(PLATFORMS))
# In this order: it is the output order of the NLP model heads (index -> label).
SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")

_LANG_RE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True, slots=True)
class PostAuthor:
    id: str = ""
    handle: str = ""
    display_name: str = ""
    followers: int = 0
    verified: bool = False
    location: str = ""


@dataclass(frozen=True, slots=True)
class PostEngagement:
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    views: int = 0


@dataclass(frozen=True, slots=True)
class PostFields:
    """An incoming post as the contract sees it, whatever format it arrived in.

    ``platform`` is a public name (aliases such as "twitter" allowed; "" when none was given);
    ``created_at`` is None when the post has none.
    """

    platform: str
    external_id: str
    text: str = ""
    created_at: datetime | None = None
    title: str = ""
    url: str = ""
    lang: str = ""
    in_reply_to: str = ""
    quote_of: str = ""
    repost_of: str = ""
    country: str = ""
    author: PostAuthor = PostAuthor()
    engagement: PostEngagement = PostEngagement()
    metadata: Mapping[str, str] = field(default_factory=dict)


def canonical_platform(name: str) -> str | None:
    """The public name of a platform name or alias ("Twitter" -> "x"), or None for an unknown one."""
    key = name.strip().lower()
    key = PLATFORM_ALIASES.get(key, key)
    return key if key in PLATFORMS else None


def _has_control_chars(value: str) -> bool:
    return any(ch < " " or ch == "\x7f" for ch in value)


def _too_long(problems: list[tuple[str, str]], name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        problems.append((name, f"{name} longer than {limit} characters"))


def _count(problems: list[tuple[str, str]], name: str, value: int) -> None:
    if value < 0:
        problems.append((name, f"{name} must not be negative"))
    elif value > MAX_COUNT:
        problems.append((name, f"{name} must be at most {MAX_COUNT}"))


def _encoded_size(post: PostFields) -> int:
    strings = [post.external_id, post.text, post.title, post.url, post.lang, post.in_reply_to,
               post.quote_of, post.repost_of, post.country, post.author.id, post.author.handle,
               post.author.display_name, post.author.location, *post.metadata.keys(),
               *post.metadata.values()]
    # surrogatepass: a lone surrogate is refused elsewhere; here it only has to be counted.
    return sum(len(s.encode("utf-8", "surrogatepass")) for s in strings)


def post_problems(post: PostFields, *, now: datetime) -> list[tuple[str, str]]:
    """Everything wrong with ``post`` as (field, message) pairs, ``field`` a dotted path; empty when
    the post is acceptable. ``now`` bounds ``created_at`` from above."""
    problems: list[tuple[str, str]] = []
    if not post.platform.strip():
        problems.append(("platform", "platform is required"))
    elif canonical_platform(post.platform) is None:
        problems.append(("platform", f"unknown platform {post.platform!r}; expected one of "
                                     f"{list(PLATFORM_CHOICES)}"))

    ext = post.external_id
    if not ext.strip():
        problems.append(("external_id", "external_id is required"))
    elif len(ext) > MAX_EXTERNAL_ID_CHARS:
        problems.append(("external_id", f"external_id longer than {MAX_EXTERNAL_ID_CHARS} characters"))
    elif _has_control_chars(ext):
        # It becomes part of the Nats-Msg-Id header, where CR/LF would break the header block.
        problems.append(("external_id", "external_id contains control characters"))

    if not post.text.strip() and not post.title.strip():
        problems.append(("text", "text (or title) is required"))
    _too_long(problems, "text", post.text, MAX_TEXT_CHARS)
    _too_long(problems, "title", post.title, MAX_TITLE_CHARS)

    if post.created_at is None:
        problems.append(("created_at", "created_at is required"))
    else:
        latest = now + FUTURE_TOLERANCE
        if not EARLIEST_CREATED_AT <= post.created_at <= latest:
            problems.append(("created_at", f"created_at must be between {EARLIEST_CREATED_AT:%Y-%m-%d} "
                                           f"and {latest.isoformat(timespec='seconds')}"))

    _too_long(problems, "url", post.url, MAX_URL_CHARS)
    if post.url and not post.url.lower().startswith(("http://", "https://")):
        problems.append(("url", "url must be an http(s) URL"))
    if len(post.lang) > MAX_LANG_CHARS:
        _too_long(problems, "lang", post.lang, MAX_LANG_CHARS)
    elif post.lang and not _LANG_RE.match(post.lang):
        problems.append(("lang", "lang must be a BCP-47 language tag such as 'en' or 'pt-BR'"))
    for name in ("in_reply_to", "quote_of", "repost_of"):
        _too_long(problems, name, getattr(post, name), MAX_REF_CHARS)
    _too_long(problems, "country", post.country, MAX_COUNTRY_CHARS)

    for f in fields(PostEngagement):
        _count(problems, f"engagement.{f.name}", getattr(post.engagement, f.name))
    author = post.author
    _count(problems, "author.followers", author.followers)
    _too_long(problems, "author.id", author.id, MAX_AUTHOR_ID_CHARS)
    _too_long(problems, "author.handle", author.handle, MAX_AUTHOR_HANDLE_CHARS)
    _too_long(problems, "author.display_name", author.display_name, MAX_AUTHOR_DISPLAY_NAME_CHARS)
    _too_long(problems, "author.location", author.location, MAX_AUTHOR_LOCATION_CHARS)

    if len(post.metadata) > MAX_METADATA_ENTRIES:
        problems.append(("metadata", f"metadata has more than {MAX_METADATA_ENTRIES} entries"))
    for key, value in post.metadata.items():
        if not 1 <= len(key) <= MAX_METADATA_KEY_CHARS:
            problems.append(("metadata", f"metadata key {key[:40]!r} must be 1 to "
                                         f"{MAX_METADATA_KEY_CHARS} characters"))
        else:
            _too_long(problems, f"metadata.{key}", value, MAX_METADATA_VALUE_CHARS)

    if not problems and _encoded_size(post) > MAX_POST_BYTES:
        problems.append(("post", f"post larger than {MAX_POST_BYTES // 1024} KiB once encoded"))
    return problems


def fields_from_proto(post: common_pb2.Post) -> PostFields:
    """The contract's view of a ``dengar.v1.Post`` (the collector's gRPC input)."""
    if post.platform == common_pb2.PLATFORM_UNSPECIFIED:
        platform = ""
    else:
        # An enum number from a newer client stays a number, which the contract does not know.
        platform = PLATFORM_NAMES.get(post.platform, str(post.platform))
    created_at: datetime | None = None
    if post.HasField("created_at"):
        try:
            if not 0 <= post.created_at.nanos < 1_000_000_000:
                raise ValueError("invalid nanos")
            created_at = post.created_at.ToDatetime(tzinfo=UTC)
        except (ValueError, OverflowError, OSError):
            # Not a representable time: as far out of range as a time can be.
            created_at = datetime.min.replace(tzinfo=UTC)
    a, e = post.author, post.engagement
    return PostFields(
        platform=platform, external_id=post.external_id, text=post.text, created_at=created_at,
        title=post.title, url=post.url, lang=post.lang_hint, in_reply_to=post.in_reply_to,
        quote_of=post.quote_of, repost_of=post.repost_of, country=post.country,
        author=PostAuthor(id=a.id, handle=a.handle, display_name=a.display_name, followers=a.followers,
                          verified=a.verified, location=a.location),
        engagement=PostEngagement(likes=e.likes, reposts=e.reposts, replies=e.replies, quotes=e.quotes,
                                  views=e.views),
        metadata=dict(post.metadata),
    )
