"""Validation and normalisation of posts pushed through IngestPosts.

Everything here is pure: the clock is passed in, nothing is published. A request is either malformed
as a whole (``RequestError``, answered with INVALID_ARGUMENT) or split into accepted posts and per-index
errors, so that one bad row never costs the caller the rest of its batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dengar_collector.domain.post import PostFields
from dengar_common.errors import InvalidArgument, tenant_id_problem
from dengar_common.ids import mention_id
from dengar_common.post_contract import post_problems

MAX_POSTS_PER_REQUEST = 1_000
DEFAULT_SOURCE_ID = "api"


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


def check_request(tenant_id: str, n_posts: int) -> None:
    """Raise ``RequestError`` when the request cannot be processed at all."""
    problem = tenant_id_problem(tenant_id)
    if problem:
        raise RequestError(problem, field="tenant_id")
    if n_posts > MAX_POSTS_PER_REQUEST:
        raise RequestError(f"too many posts: {n_posts} > {MAX_POSTS_PER_REQUEST}; split the batch")


def validate_post(post: PostFields, *, now: datetime) -> list[tuple[str, str]]:
    """Problems with one post as (field, message) pairs; empty when the post is acceptable.

    The rules are the shared post contract's, so a post pushed over gRPC is judged exactly as one
    pushed over REST, a webhook or a file import."""
    return post_problems(post, now=now)


def post_id(tenant_id: str, post: PostFields) -> str:
    """The id a valid post gets (the request's tenant is authoritative; a tenant inside the post is
    never trusted)."""
    return mention_id(tenant_id, post.platform, post.external_id)


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
