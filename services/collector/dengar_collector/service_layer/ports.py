"""What the domain needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dengar.v1 import common_pb2
from dengar_common.errors import Unavailable


class PublishError(Unavailable):
    """The event bus did not confirm every post; nothing can be promised about the batch.

    ``str()`` is the cause, for logs; the caller is told to retry (message ids make that safe)."""

    def __init__(self, cause: str) -> None:
        super().__init__("event bus unavailable; retry the whole batch")
        self.cause = cause

    def __str__(self) -> str:
        return self.cause


class PostPublisher(Protocol):
    async def publish(self, tenant_id: str, posts: Sequence[common_pb2.Post]) -> int:
        """Publish normalised posts; return how many were new (not duplicates).

        Raises ``PublishError`` unless every post was stored by the bus. Publishing is idempotent per
        post, so the caller may retry the whole batch.
        """
        ...


class PostTagger(Protocol):
    async def tag(self, tenant_id: str, posts: Sequence[common_pb2.Post]) -> None:
        """Set each post's ``query_ids`` (in place) to the tenant's enabled queries that it matches."""
        ...


class NoTagger:
    """Tags nothing: for callers and tests that do not listen with queries."""

    async def tag(self, tenant_id: str, posts: Sequence[common_pb2.Post]) -> None:
        return None
