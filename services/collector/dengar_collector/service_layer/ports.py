"""What the use cases need from the outside world: the bus, the tagger, the source store and the
platform connectors. Adapters implement these (and raise the errors defined here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol

from dengar.v1 import common_pb2
from dengar_collector.domain.sources import SourceRecord
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


class DeletedTenants(Protocol):
    """Which tenants were deleted (offboarded): their posts are dropped, not published."""

    async def is_deleted(self, tenant_id: str) -> bool:
        ...


class NoTagger:
    """Tags nothing: for callers and tests that do not listen with queries."""

    async def tag(self, tenant_id: str, posts: Sequence[common_pb2.Post]) -> None:
        return None


# -- sources ------------------------------------------------------------------------------------------

# An opaque JSON object: only the connector that produced it reads it.
Cursor = dict[str, Any]


class SourceIdTaken(Exception):
    """``SourceStore.insert``: another source already has this id (draw a new one)."""


class SourceStore(Protocol):
    """Stored source definitions, their run state and leases (``adapters.source_store``)."""

    async def insert(self, tenant_id: str, record: SourceRecord) -> None:
        """Raises ``SourceIdTaken`` when the id is in use."""
        ...

    async def get(self, tenant_id: str, source_id: str) -> SourceRecord | None: ...

    async def update(self, tenant_id: str, source_id: str, *, set_fields: dict[str, Any],
                     inc: dict[str, Any] | None = None) -> SourceRecord | None: ...

    async def delete(self, tenant_id: str, source_id: str) -> bool: ...

    async def count(self, tenant_id: str) -> int:
        """How many sources the tenant has."""
        ...

    async def find_webhook(self, source_id: str) -> SourceRecord | None: ...

    async def record_push(self, tenant_id: str, source_id: str, *, accepted: int, now: datetime) -> None: ...

    async def due_tenants(self, now: datetime) -> list[str]: ...

    async def claim(self, tenant_id: str, *, owner: str, now: datetime,
                    lease_until: datetime) -> SourceRecord | None: ...

    async def renew_lease(self, tenant_id: str, source_id: str, *, owner: str, until: datetime) -> bool: ...

    async def release_lease(self, tenant_id: str, source_id: str, *, owner: str) -> None: ...

    async def finish_run(self, tenant_id: str, source_id: str, *, owner: str, generation: int,
                         set_fields: dict[str, Any], inc: dict[str, Any], cursor: dict[str, Any] | None,
                         write_cursor: bool, next_run_at: datetime) -> bool: ...

    # Last: a method named ``list`` would shadow the builtin in the annotations below it.
    async def list(self, tenant_id: str, *, kind: str = "", after: tuple[datetime, str] | None = None,
                   limit: int = 50) -> list[SourceRecord]: ...


class ConnectorError(Exception):
    """A fetch failed as a whole. ``retryable`` tells the scheduler whether trying later can help."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, platform: str = "", status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{platform}: {message}" if platform else message)
        self.platform = platform
        self.status = status
        # Seconds the remote side asked us to wait, when it said so.
        self.retry_after = retry_after


class InvalidCursorError(ConnectorError):
    """The cursor was not produced by this connector (or by an incompatible version of it)."""


class FetchedPost(Protocol):
    def to_proto(self) -> common_pb2.Post: ...


class FetchedPage(Protocol):
    """What one ``fetch`` returned (``adapters.connectors.FetchResult``)."""

    @property
    def posts(self) -> Sequence[FetchedPost]: ...

    @property
    def next_cursor(self) -> Cursor: ...

    @property
    def errors(self) -> Sequence[object]: ...

    @property
    def has_more(self) -> bool: ...


class SourceConnector(Protocol):
    async def fetch(self, cursor: Cursor | None, *, limit: int) -> FetchedPage:
        """What is new since ``cursor``; raises ``ConnectorError`` (subclasses)."""
        ...


class ConnectorBuilder(Protocol):
    def build(self, kind: str, config: dict[str, Any],
              credentials: dict[str, str] | None) -> SourceConnector:
        """Raises ``ValueError`` naming the field (never a credential value) for a bad definition."""
        ...
