"""Validation and normalisation of posts pushed through IngestPosts.

Everything here is pure: the clock is passed in, nothing is published. A request is either malformed
as a whole (``RequestError``, answered with INVALID_ARGUMENT) or split into accepted posts and per-index
errors, so that one bad row never costs the caller the rest of its batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dengar.v1 import common_pb2
from dengar_common.enums import platform_name
from dengar_common.ids import is_valid_tenant_id, mention_id, natural_key
from dengar_common.post_contract import fields_from_proto, post_problems

MAX_POSTS_PER_REQUEST = 1_000
DEFAULT_SOURCE_ID = "api"


class RequestError(ValueError):
    """The request as a whole is malformed (bad tenant, too many posts)."""


@dataclass(frozen=True)
class FieldError:
    index: int
    field: str
    message: str


@dataclass
class IngestPlan:
    """What to do with one request: posts to publish and the answer to give."""

    # Normalised posts, one per natural key (the first occurrence wins), in request order.
    to_publish: list[common_pb2.Post] = field(default_factory=list)
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


def validate_post(post: common_pb2.Post, *, now: datetime) -> list[tuple[str, str]]:
    """Problems with one post as (field, message) pairs; empty when the post is acceptable.

    The rules are the shared post contract's, so a post pushed over gRPC is judged exactly as one
    pushed over REST, a webhook or a file import."""
    return post_problems(fields_from_proto(post), now=now)


def normalise_post(tenant_id: str, post: common_pb2.Post, *, now: datetime) -> common_pb2.Post:
    """A copy of a valid post with the fields the collector owns filled in."""
    out = common_pb2.Post()
    out.CopyFrom(post)
    # The request's tenant is authoritative (the gateway authenticated it); a tenant_id inside the
    # post is never trusted.
    out.tenant_id = tenant_id
    out.id = mention_id(tenant_id, platform_name(post.platform), post.external_id)
    out.collected_at.FromDatetime(now)
    if not out.source_id:
        out.source_id = DEFAULT_SOURCE_ID
    return out


def msg_id(post: common_pb2.Post) -> str:
    """The JetStream de-duplication id of a normalised post: ``tenant:platform:external_id``."""
    return natural_key(post.tenant_id, platform_name(post.platform), post.external_id)


def plan_ingest(tenant_id: str, posts: Sequence[common_pb2.Post], *, now: datetime) -> IngestPlan:
    """Validate every post of a well-formed request (see ``check_request``)."""
    plan = IngestPlan()
    seen: set[str] = set()
    for index, post in enumerate(posts):
        problems = validate_post(post, now=now)
        if problems:
            plan.rejected += 1
            plan.errors.extend(FieldError(index, f, m) for f, m in problems)
            continue
        normalised = normalise_post(tenant_id, post, now=now)
        plan.accepted += 1
        plan.post_ids.append(normalised.id)
        if normalised.id in seen:
            # Same natural key twice in one batch: publishing it once is enough, and the answer
            # still lists the id so the caller can match items to ids.
            plan.duplicates += 1
            continue
        seen.add(normalised.id)
        plan.to_publish.append(normalised)
    return plan
