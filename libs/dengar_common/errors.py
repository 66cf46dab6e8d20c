"""Domain errors: what went wrong, in the domain's words, with no transport attached.

Use cases and domain code raise these; the gRPC server interceptor (``dengar_common.grpcerrors``)
turns each into its status code and trailing metadata, and the gateway turns that status back into
an RFC 9457 problem. So a servicer never calls ``context.abort`` and a router never looks at a
``grpc.StatusCode``.

This module is pure (no grpc import): ``domain/`` packages may raise these errors.
"""

from __future__ import annotations

from typing import ClassVar

from dengar_common.ids import is_valid_tenant_id


class DomainError(Exception):
    """Base of every error a use case reports to its caller.

    ``field`` names the request field at fault (dotted path), ``position`` and ``expected`` locate a
    syntax error inside that field's value, ``reason`` is a short machine-readable slug
    (``query-limit``, ``name-taken``...) that clients may switch on, and ``retry_after_s`` tells a
    client when to come back after a ``ResourceExhausted`` or ``Unavailable``. A quota that is
    reached names its ``limit`` and the tenant's ``current`` usage (both reach the HTTP problem).
    """

    #: The gRPC status name this error maps to (kept as a string so this module stays pure).
    status_name: ClassVar[str] = "UNKNOWN"

    def __init__(self, message: str, *, field: str | None = None, position: int | None = None,
                 expected: str | None = None, reason: str | None = None,
                 retry_after_s: float | None = None, limit: int | None = None,
                 current: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.position = position
        self.expected = expected
        self.reason = reason
        self.retry_after_s = retry_after_s
        self.limit = limit
        self.current = current


class InvalidArgument(DomainError, ValueError):
    """The request itself is wrong (a bad value, a syntax error): retrying it unchanged won't help."""

    status_name = "INVALID_ARGUMENT"


class NotFound(DomainError, LookupError):
    """The named resource does not exist for this tenant (another tenant's id looks the same)."""

    status_name = "NOT_FOUND"


class AlreadyExists(DomainError):
    """A resource with the same unique key (a name, an id) already exists."""

    status_name = "ALREADY_EXISTS"


class FailedPrecondition(DomainError):
    """The request is valid but the resource is not in a state that allows it (e.g. a paused source)."""

    status_name = "FAILED_PRECONDITION"


class ResourceExhausted(DomainError):
    """A per-tenant limit or quota is reached."""

    status_name = "RESOURCE_EXHAUSTED"


class Unauthenticated(DomainError):
    """The caller could not be identified (a bad signature on a push)."""

    status_name = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""

    status_name = "PERMISSION_DENIED"


class Unavailable(DomainError):
    """A dependency (the store, the bus) is down: the same request may succeed later."""

    status_name = "UNAVAILABLE"


TENANT_ID_RULE = "1-63 characters of a-z, 0-9, '_' or '-', starting with a letter or digit"


def tenant_id_problem(tenant_id: str) -> str | None:
    """Why ``tenant_id`` cannot name a tenant (the one message every service gives), or None."""
    if is_valid_tenant_id(tenant_id):
        return None
    if not tenant_id:
        return f"tenant_id is required: {TENANT_ID_RULE}"
    return f"invalid tenant_id {tenant_id[:80]!r}: expected {TENANT_ID_RULE}"


def check_tenant_id(tenant_id: str) -> str:
    """Return ``tenant_id`` or raise ``InvalidArgument`` naming the field."""
    problem = tenant_id_problem(tenant_id)
    if problem:
        raise InvalidArgument(problem, field="tenant_id")
    return tenant_id
