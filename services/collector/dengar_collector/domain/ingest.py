"""Validation and normalisation of posts pushed through IngestPosts.

Everything here is pure: the clock is passed in, nothing is published. A request is either malformed
as a whole (``RequestError``, answered with INVALID_ARGUMENT) or split into accepted posts and per-index
errors, so that one bad row never costs the caller the rest of its batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dengar_collector.domain.post import PLATFORM_UNSPECIFIED, PostFields
from dengar_common.enums import PLATFORM_NAMES, platform_name
from dengar_common.errors import InvalidArgument
from dengar_common.ids import is_valid_tenant_id, mention_id

MAX_POSTS_PER_REQUEST = 1_000
MAX_EXTERNAL_ID_CHARS = 256
MAX_TEXT_CHARS = 40_000
# Headlines and thread titles are short; a longer "title" is a body sent in the wrong field.
MAX_TITLE_CHARS = 1_000
# A post travels as one NATS message and the server's default max_payload is 1 MiB; metadata maps
# are the only unbounded part left once text and title are capped.
MAX_POST_BYTES = 512 * 1024
DEFAULT_SOURCE_ID = "api"
# Nothing we listen to predates 2000; an earlier date is a parsing bug on the caller's side (epoch 0,
# milliseconds read as seconds) and would poison every time-bucketed chart.
EARLIEST_CREATED_AT = datetime(2000, 1, 1, tzinfo=UTC)
# Clocks drift and exports carry odd time zones, but a post from next week is a bug.
FUTURE_TOLERANCE = timedelta(days=1)

_ENGAGEMENT_FIELDS = ("likes", "reposts", "replies", "quotes", "views")


class RequestError(InvalidArgument):
    """The request as a whole is malformed (bad tenant, too many posts)."""


@dataclass(frozen=True)
class FieldError:
    index: int
    field: str
    message: str


@dataclass(frozen=True)
class Accepted:
    """A post to publish: its index in the request and the id it gets."""

    index: int
    post_id: str


@dataclass
class IngestPlan:
    """What to do with one request: posts to publish and the answer to give."""

    # Accepted posts, one per natural key (the first occurrence wins), in request order.
    to_publish: list[Accepted] = field(default_factory=list)
    # One id per accepted request item, in request order (duplicates repeat their id).
    post_ids: list[str] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    # Accepted items whose natural key already appeared earlier in the same request.
    duplicates: int = 0


def tenant_id_problem(tenant_id: str) -> str | None:
    """Why ``tenant_id`` cannot name a tenant (the one message every collector API gives), or None."""
    if is_valid_tenant_id(tenant_id):
        return None
    return (f"invalid tenant_id {tenant_id[:80]!r}: expected 1-63 characters of a-z, 0-9, '_' or '-', "
            "starting with a letter or digit")


def check_request(tenant_id: str, n_posts: int) -> None:
    """Raise ``RequestError`` when the request cannot be processed at all."""
    problem = tenant_id_problem(tenant_id)
    if problem:
        raise RequestError(problem)
    if n_posts > MAX_POSTS_PER_REQUEST:
        raise RequestError(f"too many posts: {n_posts} > {MAX_POSTS_PER_REQUEST}; split the batch")


def _has_control_chars(value: str) -> bool:
    return any(ch < " " or ch == "\x7f" for ch in value)


def validate_post(post: PostFields, *, now: datetime) -> list[tuple[str, str]]:
    """Problems with one post as (field, message) pairs; empty when the post is acceptable."""
    problems: list[tuple[str, str]] = []
    if post.platform == PLATFORM_UNSPECIFIED:
        problems.append(("platform", "platform is required"))
    elif post.platform not in PLATFORM_NAMES:
        # An enum number from a newer client: we could not name it in ids and subjects.
        problems.append(("platform", f"unknown platform value {post.platform}"))

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
    if len(post.text) > MAX_TEXT_CHARS:
        problems.append(("text", f"text longer than {MAX_TEXT_CHARS} characters"))
    if len(post.title) > MAX_TITLE_CHARS:
        problems.append(("title", f"title longer than {MAX_TITLE_CHARS} characters"))

    if post.created_at is None:
        problems.append(("created_at", "created_at is required"))
    else:
        ts = post.created_at
        latest = now + FUTURE_TOLERANCE
        if not 0 <= ts.nanos < 1_000_000_000:
            problems.append(("created_at", "created_at has invalid nanos"))
        elif not EARLIEST_CREATED_AT.timestamp() <= ts.seconds <= latest.timestamp():
            problems.append(("created_at", f"created_at must be between {EARLIEST_CREATED_AT:%Y-%m-%d} "
                                           f"and {latest.isoformat(timespec='seconds')}"))

    for name in _ENGAGEMENT_FIELDS:
        if getattr(post.engagement, name) < 0:
            problems.append((f"engagement.{name}", f"engagement.{name} must not be negative"))
    if post.author.followers < 0:
        problems.append(("author.followers", "author.followers must not be negative"))

    if not problems and post.byte_size > MAX_POST_BYTES:
        problems.append(("post", f"post larger than {MAX_POST_BYTES // 1024} KiB once serialised"))
    return problems


def post_id(tenant_id: str, post: PostFields) -> str:
    """The id a valid post gets (the request's tenant is authoritative; a tenant inside the post is
    never trusted)."""
    return mention_id(tenant_id, platform_name(post.platform), post.external_id)


def plan_ingest(tenant_id: str, posts: Sequence[PostFields], *, now: datetime) -> IngestPlan:
    """Validate every post of a well-formed request (see ``check_request``)."""
    plan = IngestPlan()
    seen: set[str] = set()
    for index, post in enumerate(posts):
        problems = validate_post(post, now=now)
        if problems:
            plan.rejected += 1
            plan.errors.extend(FieldError(index, f, m) for f, m in problems)
            continue
        pid = post_id(tenant_id, post)
        plan.accepted += 1
        plan.post_ids.append(pid)
        if pid in seen:
            # Same natural key twice in one batch: publishing it once is enough, and the answer
            # still lists the id so the caller can match items to ids.
            plan.duplicates += 1
            continue
        seen.add(pid)
        plan.to_publish.append(Accepted(index, pid))
    return plan
