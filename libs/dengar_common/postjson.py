"""Posts in the public JSON format (REST ``POST /v1/posts``, signed webhooks, file imports).

Each item is validated on its own, so that one bad post never rejects the whole batch: the caller
gets per-item errors and the valid posts go through. Shared by the gateway and the collector so that a
post means the same thing whichever way it arrives."""

from __future__ import annotations

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
    TypeAdapter,
    ValidationError,
    field_validator,
)

from dengar.v1 import common_pb2
from dengar_common import post_contract as pc
from dengar_common.enums import PLATFORM_ALIASES, PLATFORMS, platform_from_name
from dengar_common.ids import mention_id
from dengar_common.post_contract import MAX_TEXT_CHARS, PostAuthor, PostEngagement, PostFields, post_problems
from dengar_common.times import rfc3339_field

# Pydantic alone would also take a number as Unix seconds or a date without a time; the API
# promises RFC 3339 only, and a number is more often milliseconds by mistake than seconds.
Rfc3339 = Annotated[AwareDatetime, BeforeValidator(rfc3339_field)]
# Limits are not pydantic constraints: pydantic would word them its own way, and the collector must
# give the same answer for the same post. The model only decodes JSON types; ``post_contract``
# judges, and the schema documents its limits.
_RFC3339: TypeAdapter[datetime] = TypeAdapter(Rfc3339)
Count = Annotated[int, Field(json_schema_extra={"minimum": 0, "maximum": pc.MAX_COUNT})]


def _max_len(limit: int, **extra: Any) -> dict[str, Any]:
    return {"maxLength": limit, **extra}


class AuthorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field("", description="Platform-specific author id.",
                    json_schema_extra=_max_len(pc.MAX_AUTHOR_ID_CHARS))
    handle: str = Field("", json_schema_extra=_max_len(pc.MAX_AUTHOR_HANDLE_CHARS))
    display_name: str = Field("", json_schema_extra=_max_len(pc.MAX_AUTHOR_DISPLAY_NAME_CHARS))
    followers: Count = 0
    verified: bool = False
    location: str = Field("", json_schema_extra=_max_len(pc.MAX_AUTHOR_LOCATION_CHARS))


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
    external_id: str = Field(description="The post's id on its platform.",
                             json_schema_extra=_max_len(pc.MAX_EXTERNAL_ID_CHARS, minLength=1))
    text: str = Field(json_schema_extra=_max_len(MAX_TEXT_CHARS))
    created_at: Rfc3339 = Field(description="RFC 3339 timestamp with a timezone.")
    author: AuthorIn | None = None
    engagement: EngagementIn | None = None
    url: str = Field("", json_schema_extra=_max_len(pc.MAX_URL_CHARS))
    lang: str = Field("", description="BCP-47 language reported by the platform.",
                      json_schema_extra=_max_len(pc.MAX_LANG_CHARS))
    in_reply_to: str = Field("", json_schema_extra=_max_len(pc.MAX_REF_CHARS))
    quote_of: str = Field("", json_schema_extra=_max_len(pc.MAX_REF_CHARS))
    repost_of: str = Field("", json_schema_extra=_max_len(pc.MAX_REF_CHARS))
    title: str = Field("", json_schema_extra=_max_len(pc.MAX_TITLE_CHARS))
    country: str = Field("", json_schema_extra=_max_len(pc.MAX_COUNTRY_CHARS))
    metadata: dict[str, str] = Field(default_factory=dict, json_schema_extra={
        "maxProperties": pc.MAX_METADATA_ENTRIES,
        "propertyNames": {"minLength": 1, "maxLength": pc.MAX_METADATA_KEY_CHARS},
        "additionalProperties": {"type": "string", "maxLength": pc.MAX_METADATA_VALUE_CHARS}})

    @field_validator("platform")
    @classmethod
    def _canonical_platform(cls, value: str) -> str:
        # Canonical REST name, so "Twitter" and "x" end up as the same platform; an unknown name
        # is kept for the contract to report.
        return pc.canonical_platform(value) or value

    def to_fields(self) -> PostFields:
        """The contract's view of this post."""
        author = PostAuthor(**self.author.model_dump()) if self.author else PostAuthor()
        engagement = PostEngagement(**self.engagement.model_dump()) if self.engagement else PostEngagement()
        return PostFields(
            platform=self.platform, external_id=self.external_id, text=self.text,
            created_at=self.created_at, title=self.title, url=self.url, lang=self.lang,
            in_reply_to=self.in_reply_to, quote_of=self.quote_of, repost_of=self.repost_of,
            country=self.country, author=author, engagement=engagement, metadata=self.metadata)


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


def _related(a: str, b: str) -> bool:
    """Whether one dotted field path is the other or lies inside it."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _lenient_fields(item: dict[str, Any]) -> PostFields:
    """What can be read of an item that did not decode; anything of the wrong type reads as absent."""
    def text(d: dict[str, Any], key: str) -> str:
        value = d.get(key)
        return value if isinstance(value, str) else ""

    def count(d: dict[str, Any], key: str) -> int:
        value = d.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def obj(key: str) -> dict[str, Any]:
        value = item.get(key)
        return value if isinstance(value, dict) else {}

    author, engagement, metadata = obj("author"), obj("engagement"), obj("metadata")
    try:
        created_at: datetime | None = _RFC3339.validate_python(item.get("created_at"))
    except ValidationError:
        created_at = None
    platform = text(item, "platform")
    return PostFields(
        platform=pc.canonical_platform(platform) or platform, external_id=text(item, "external_id"),
        text=text(item, "text"), created_at=created_at, title=text(item, "title"), url=text(item, "url"),
        lang=text(item, "lang"), in_reply_to=text(item, "in_reply_to"), quote_of=text(item, "quote_of"),
        repost_of=text(item, "repost_of"), country=text(item, "country"),
        author=PostAuthor(id=text(author, "id"), handle=text(author, "handle"),
                          display_name=text(author, "display_name"), followers=count(author, "followers"),
                          location=text(author, "location")),
        engagement=PostEngagement(**{k: count(engagement, k) for k in EngagementIn.model_fields}),
        metadata={k: v for k, v in metadata.items() if isinstance(k, str) and isinstance(v, str)},
    )


def validate_items(items: Sequence[Any], *, now: datetime | None = None
                   ) -> tuple[list[tuple[int, PostIn]], list[ItemError]]:
    """Valid posts with their index in ``items``, and one error per problem of the invalid ones.

    Items are decoded by :class:`PostIn` and then judged by ``post_contract.post_problems``;
    ``now`` (default: the wall clock) bounds ``created_at`` from above."""
    if now is None:
        now = datetime.now(UTC)
    valid: list[tuple[int, PostIn]] = []
    errors: list[ItemError] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(ItemError(index=index, field="", message="must be a JSON object"))
            continue
        try:
            post = PostIn.model_validate(item)
        except ValidationError as exc:
            decoding: list[ItemError] = []
            for err in exc.errors(include_url=False):
                msg = err["msg"]
                # Pydantic prefixes custom errors with "Value error, "; the API reads better without.
                msg = msg.removeprefix("Value error, ")
                decoding.append(ItemError(index=index, field=_field_path(err["loc"]), message=msg))
            errors.extend(decoding)
            # The item is rejected anyway; the contract's problems with the rest of it are reported
            # too, so the caller can fix everything at once.
            bad = [e.field for e in decoding]
            errors.extend(ItemError(index=index, field=f, message=m)
                          for f, m in post_problems(_lenient_fields(item), now=now)
                          if not any(_related(f, b) for b in bad))
            continue
        problems = post_problems(post.to_fields(), now=now)
        if problems:
            errors.extend(ItemError(index=index, field=f, message=m) for f, m in problems)
        else:
            valid.append((index, post))
    return valid, errors


def _timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def post_to_proto(post: PostIn, tenant_id: str, now: datetime, *, source_id: str = "api") -> common_pb2.Post:
    msg = common_pb2.Post(
        # The collector derives the same id; setting it here keeps the contract visible.
        id=mention_id(tenant_id, post.platform, post.external_id),
        tenant_id=tenant_id, platform=platform_from_name(post.platform),  # type: ignore[arg-type]  # enum int: protobuf stubs want the ValueType
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
