"""Listening queries as stored records: validation, ids and page tokens. Pure: no I/O, no clock.

The query language itself is in ``domain.query``; this module is about the records a tenant manages
(name, role, expression, enabled) and the rules for creating and changing them.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast

from dengar_collector.domain.ingest import check_request
from dengar_common.errors import AlreadyExists, InvalidArgument, NotFound, ResourceExhausted
from dengar_common.query import ROLES, CompiledQuery, QueryRole, compile_query

MAX_NAME_CHARS = 200
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_TOKEN_VERSION = 1
# A page token only carries a name key and a role; anything longer was not issued by us.
_MAX_TOKEN_CHARS = 2 * MAX_NAME_CHARS * 4


class QueryInputError(InvalidArgument):
    """A request field is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


class QueryNotFoundError(NotFound):
    """No query with this id in this tenant (another tenant's id included)."""

    def __init__(self, query_id: str) -> None:
        super().__init__(f"listening query {query_id} not found")
        self.query_id = query_id


class QueryNameTakenError(AlreadyExists):
    """The tenant already has a query with this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a listening query named {name} already exists", field="name",
                         reason="name-taken")
        self.name = name


class QueryLimitError(ResourceExhausted):
    """The tenant has as many queries as it may have."""

    def __init__(self, message: str, *, limit: int | None = None, current: int | None = None) -> None:
        super().__init__(message, reason="query-limit", limit=limit, current=current)


@dataclass(frozen=True, slots=True)
class QueryRecord:
    id: str
    tenant_id: str
    name: str
    role: QueryRole
    expression: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    # Bumped by every change of what the query matches (see QueryChanges.changes_matching); the
    # outbox publishes each version once. 0: stored before versions existed.
    version: int = 0


@dataclass(frozen=True, slots=True)
class QueryChanges:
    """The fields an update sets; None leaves a field as it is."""

    name: str | None = None
    role: QueryRole | None = None
    expression: str | None = None
    enabled: bool | None = None

    def is_empty(self) -> bool:
        return self.name is None and self.role is None and self.expression is None and self.enabled is None

    def changes_matching(self) -> bool:
        """Whether the update may change which posts the query tags (a new version, a backfill)."""
        return self.expression is not None or self.enabled is not None


@dataclass(frozen=True, slots=True)
class QueryPage:
    queries: list[QueryRecord]
    next_page_token: str


class QueryRepository(Protocol):
    """Where the records live. Every method takes the tenant first and never sees another's."""

    async def insert(self, tenant_id: str, record: QueryRecord) -> None:
        """Raises QueryNameTakenError or QueryLimitError; nothing is stored then."""
        ...

    async def get(self, tenant_id: str, query_id: str) -> QueryRecord | None: ...

    async def list_page(self, tenant_id: str, *, role: QueryRole | None, after: str | None,
                        limit: int) -> list[QueryRecord]:
        """Up to ``limit`` records ordered by name key, strictly after the name key ``after``."""
        ...

    async def update(self, tenant_id: str, query_id: str, changes: QueryChanges,
                     now: datetime) -> QueryRecord | None:
        """The updated record, or None when there is no such query. Raises QueryNameTakenError."""
        ...

    async def delete(self, tenant_id: str, query_id: str) -> bool: ...


class QuerySource(Protocol):
    """What the tagger reads: a cheap change marker and the enabled queries."""

    async def version(self, tenant_id: str) -> int:
        """A number that changes whenever one of the tenant's queries is created, changed or deleted."""
        ...

    async def load_enabled(self, tenant_id: str) -> Sequence[QueryRecord]: ...


def new_query_id() -> str:
    return "q_" + secrets.token_hex(8)


def name_key(name: str) -> str:
    """What names are unique by and sorted on: "Acme" and "acme " are the same query name."""
    return " ".join(name.split()).casefold()


def check_tenant(tenant_id: str) -> None:
    """The same rule (and message) as IngestPosts; raises RequestError."""
    check_request(tenant_id, 0)


def clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise QueryInputError("name", "name is required")
    if len(cleaned) > MAX_NAME_CHARS:
        raise QueryInputError("name", f"name longer than {MAX_NAME_CHARS} characters")
    if any(ch < " " or ch == "\x7f" for ch in cleaned):
        raise QueryInputError("name", "name contains control characters")
    return cleaned


def check_role(role: str) -> QueryRole:
    if role not in ROLES:
        raise QueryInputError("role", f"role must be one of {', '.join(ROLES)}")
    return cast(QueryRole, role)  # ROLES holds exactly the QueryRole literals


def check_expression(expression: str) -> CompiledQuery:
    """The compiled expression; raises QuerySyntaxError with the position of the problem."""
    return compile_query(expression)


def page_size(requested: int) -> int:
    if requested < 0:
        raise QueryInputError("page_size", "page_size must not be negative")
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    # Larger requests are served at the maximum rather than refused (AIP-158).
    return min(requested, MAX_PAGE_SIZE)


def encode_page_token(after: str, role: QueryRole | None) -> str:
    payload = json.dumps({"v": _TOKEN_VERSION, "a": after, "r": role or ""}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii").rstrip("=")


def decode_page_token(token: str, role: QueryRole | None) -> str:
    """The name key to continue after; QueryInputError unless ``token`` was issued for this role."""
    if len(token) > _MAX_TOKEN_CHARS:
        raise QueryInputError("page_token", "page_token is not valid")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        after, token_role, version = data["a"], data["r"], data["v"]
    except (ValueError, binascii.Error, KeyError, TypeError):
        raise QueryInputError("page_token", "page_token is not valid") from None
    if version != _TOKEN_VERSION or not isinstance(after, str) or not after:
        raise QueryInputError("page_token", "page_token is not valid")
    if token_role != (role or ""):
        raise QueryInputError("page_token", "page_token belongs to a listing with another role filter")
    return after
