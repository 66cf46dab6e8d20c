"""Posts in the public JSON format (REST ``POST /v1/posts``, signed webhooks, file imports).

Each item is validated on its own, so that one bad post never rejects the whole batch: the caller
gets per-item errors and the valid posts go through. Shared by the gateway and the collector so that a
post means the same thing whichever way it arrives."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from dengar.v1 import common_pb2
from dengar_common.enums import PLATFORM_ALIASES, PLATFORMS, platform_from_name, platform_name
from dengar_common.ids import mention_id
from dengar_common.times import rfc3339_field

MAX_TEXT_CHARS = 40_000
_INT64_MAX = 2**63 - 1
_LANG_RE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")


# Pydantic alone would also take a number as Unix seconds or a date without a time; the API
# promises RFC 3339 only, and a number is more often milliseconds by mistake than seconds.
Rfc3339 = Annotated[AwareDatetime, BeforeValidator(rfc3339_field)]
Count = Annotated[int, Field(ge=0, le=_INT64_MAX)]


class AuthorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field("", max_length=256, description="Platform-specific author id.")
    handle: str = Field("", max_length=256)
    display_name: str = Field("", max_length=512)
    followers: Count = 0
    verified: bool = False
    location: str = Field("", max_length=256)


class EngagementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    likes: Count = 0
    reposts: Count = 0
    replies: Count = 0
    quotes: Count = 0
    views: Count = 0


class PostIn(BaseModel):
    """One post pushed through ``POST /v1/posts``. Unknown fields are rejected, so that a typo
    (``lang_hint`` for ``lang``) is reported instead of silently dropping data."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    platform: str = Field(
        description="Platform name: " + ", ".join(sorted(PLATFORMS))
        + " (aliases: " + ", ".join(f"{a}={c}" for a, c in sorted(PLATFORM_ALIASES.items())) + ").",
        json_schema_extra={"examples": ["x", "reddit"]},
    )
    external_id: str = Field(min_length=1, max_length=512, description="The post's id on its platform.")
    text: str = Field(max_length=MAX_TEXT_CHARS)
    created_at: Rfc3339 = Field(description="RFC 3339 timestamp with a timezone.")
    author: AuthorIn | None = None
    engagement: EngagementIn | None = None
    url: str = Field("", max_length=2048)
    lang: str = Field("", max_length=35, description="BCP-47 language reported by the platform.")
    in_reply_to: str = Field("", max_length=512)
    quote_of: str = Field("", max_length=512)
    repost_of: str = Field("", max_length=512)
    title: str = Field("", max_length=1000)
    country: str = Field("", max_length=64)
    metadata: dict[Annotated[str, Field(min_length=1, max_length=128)],
                   Annotated[str, Field(max_length=2048)]] = Field(default_factory=dict, max_length=64)

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str) -> str:
        # Canonical REST name, so "Twitter" and "x" end up as the same platform.
        return platform_name(platform_from_name(value))

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("lang")
    @classmethod
    def _bcp47(cls, value: str) -> str:
        if value and not _LANG_RE.match(value):
            raise ValueError("must be a BCP-47 language tag such as 'en' or 'pt-BR'")
        return value


class PostBatchIn(BaseModel):
    """The request body of ``POST /v1/posts`` (documentation: items are validated one by one)."""

    posts: list[PostIn] = Field(description="At most 1,000 posts; the whole body at most 5 MB.")


class ItemError(BaseModel):
    """Why one item of a batch was rejected. ``field`` is a dotted path inside the item."""

    index: int
    field: str
    message: str


def merge_item_errors(local: Iterable[ItemError], sent_indexes: Sequence[int],
                      forwarded: Iterable[Any]) -> list[ItemError]:
    """The caller's own per-item errors plus those reported for the items it passed on, sorted by index.

    ``forwarded`` errors (anything with ``index``, ``field`` and ``message``) count only the items that
    were passed on; ``sent_indexes[i]`` is the caller's index of the i-th of them.
    """
    errors = list(local)
    for err in forwarded:
        index = sent_indexes[err.index] if 0 <= err.index < len(sent_indexes) else err.index
        errors.append(ItemError(index=index, field=err.field, message=err.message))
    errors.sort(key=lambda e: e.index)
    return errors


def _field_path(loc: Sequence[int | str]) -> str:
    return ".".join(str(p) for p in loc)


def validate_items(items: Sequence[Any]) -> tuple[list[tuple[int, PostIn]], list[ItemError]]:
    """Valid posts with their index in ``items``, and one error per problem of the invalid ones."""
    valid: list[tuple[int, PostIn]] = []
    errors: list[ItemError] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(ItemError(index=index, field="", message="must be a JSON object"))
            continue
        try:
            valid.append((index, PostIn.model_validate(item)))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                msg = err["msg"]
                # Pydantic prefixes custom errors with "Value error, "; the API reads better without.
                msg = msg.removeprefix("Value error, ")
                errors.append(ItemError(index=index, field=_field_path(err["loc"]), message=msg))
    return valid, errors


def _timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def post_to_proto(post: PostIn, tenant_id: str, now: datetime, *, source_id: str = "api") -> common_pb2.Post:
    msg = common_pb2.Post(
        # The collector derives the same id; setting it here keeps the contract visible.
        id=mention_id(tenant_id, post.platform, post.external_id),
        tenant_id=tenant_id, platform=platform_from_name(post.platform),  # type: ignore[arg-type]
        external_id=post.external_id, text=post.text, url=post.url, lang_hint=post.lang,
        in_reply_to=post.in_reply_to, quote_of=post.quote_of, repost_of=post.repost_of,
        source_id=source_id, title=post.title, country=post.country, metadata=post.metadata,
        created_at=_timestamp(post.created_at), collected_at=_timestamp(now),
    )
    if post.author is not None:
        msg.author.CopyFrom(common_pb2.Author(**post.author.model_dump()))
    if post.engagement is not None:
        msg.engagement.CopyFrom(common_pb2.Engagement(**post.engagement.model_dump()))
    return msg
