"""What the gateway's use cases need from the outside world (MongoDB in production)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from dengar_gateway.domain.idempotency import IdempotencyOutcome
from dengar_gateway.domain.keys import ApiKeyRecord
from dengar_gateway.domain.tenants import Tenant


class TenantRepository(Protocol):
    async def create(self, tenant_id: str, name: str, now: datetime) -> Tenant:
        """Raises ``AlreadyExists`` when the id is taken."""

    async def get(self, tenant_id: str) -> Tenant | None: ...

    async def list_all(self) -> list[Tenant]: ...


class ApiKeyRepository(Protocol):
    async def insert(self, tenant_id: str, *, key_id: str, key_hash: str, scopes: list[str], name: str,
                     now: datetime) -> ApiKeyRecord: ...

    async def find_for_auth(self, key_id: str) -> ApiKeyRecord | None: ...

    async def list(self, tenant_id: str) -> list[ApiKeyRecord]: ...

    async def revoke(self, tenant_id: str, key_id: str, now: datetime) -> bool:
        """True when the tenant has this key (revoked now or before)."""

    async def tenant_of(self, key_id: str) -> str | None: ...


class IdempotencyRepository(Protocol):
    async def reserve(self, tenant_id: str, key: str, body_hash: str, now: datetime
                      ) -> IdempotencyOutcome: ...

    async def complete(self, tenant_id: str, key: str, owner: str, status: int, response: str) -> None: ...

    async def release(self, tenant_id: str, key: str, owner: str) -> None: ...


class RateLimiter(Protocol):
    def acquire(self, key: str) -> float:
        """0.0 when allowed, else the seconds until ``key`` may try again."""


class QuotaRepository(Protocol):
    """The shared state of the per-tenant quotas: every gateway replica sees the same."""

    async def limits_of(self, tenant_id: str) -> dict[str, object]:
        """The tenant's own limits (overrides of the defaults); empty when it has none."""

    async def claim_requests(self, tenant_id: str, window: int, n: int, limit: int,
                             expires_at: datetime) -> bool:
        """Add ``n`` to the tenant's request count of ``window`` unless that would pass ``limit``
        (atomic: concurrent claims never take the count over it). True when added."""

    async def open_stream(self, tenant_id: str, lease_id: str, expires_at: datetime) -> None: ...

    async def count_streams(self, tenant_id: str, now: datetime) -> int:
        """The tenant's stream leases not yet expired at ``now``."""

    async def renew_streams(self, lease_ids: list[str], expires_at: datetime) -> None: ...

    async def close_stream(self, lease_id: str) -> None: ...

    async def count_active_keys(self, tenant_id: str) -> int: ...

    async def delete_key(self, tenant_id: str, key_id: str) -> None:
        """Remove a key that was just created (over the tenant's limit)."""


class TenantTombstones(Protocol):
    async def mark_deleted(self, tenant_id: str, now: datetime) -> bool:
        """Mark the tenant deleted (idempotent); False when there never was such a tenant."""

    async def record_deletion(self, tenant_id: str, done: bool, removed: dict[str, dict[str, int]],
                              now: datetime) -> None: ...


class TenantRecords(Protocol):
    """A repository of the gateway's own tenant data (keys, idempotency records)."""

    async def delete_tenant(self, tenant_id: str) -> int: ...


class TenantDataService(Protocol):
    """A service that owns tenant data, asked to delete a tenant's (its DeleteTenantData RPC)."""

    name: str

    async def delete_tenant_data(self, tenant_id: str) -> dict[str, int]:
        """What was removed, by collection; raises when the service could not finish."""
