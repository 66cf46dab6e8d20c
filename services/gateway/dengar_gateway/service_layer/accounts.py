"""Tenants and their API keys: creating, listing and revoking keys, and authenticating a request."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from dengar_common.errors import InvalidArgument, NotFound, ResourceExhausted, Unauthenticated
from dengar_common.ids import is_valid_tenant_id
from dengar_gateway.domain.keys import (
    ALL_SCOPES,
    ApiKeyRecord,
    Principal,
    Scope,
    generate_key,
    known_scopes,
    parse_key,
    verify_key,
)
from dengar_gateway.domain.tenants import Tenant, slugify_tenant
from dengar_gateway.service_layer.ports import ApiKeyRepository, RateLimiter, TenantRepository
from dengar_gateway.service_layer.quotas import KeyQuota, TenantRateLimit

logger = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RateLimit:
    """One token per request from the bucket of whoever makes it (a key, a webhook source)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    def take(self, bucket: str, what: str) -> None:
        """Raise ``ResourceExhausted`` (with the wait) when ``bucket`` is empty."""
        wait = self._limiter.acquire(bucket)
        if wait > 0:
            raise ResourceExhausted(f"rate limit exceeded for this {what}", reason="rate-limited",
                                    retry_after_s=wait)


class Accounts:
    """The gateway's tenants and keys, over the store's repositories."""

    def __init__(self, tenants: TenantRepository, keys: ApiKeyRepository, rate_limit: RateLimit, *,
                 tenant_rate: TenantRateLimit | None = None, key_quota: KeyQuota | None = None,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._tenants = tenants
        self._keys = keys
        self._rate_limit = rate_limit
        self._tenant_rate = tenant_rate
        self._key_quota = key_quota
        self._clock = clock

    async def authenticate(self, token: str) -> Principal:
        """The caller of a bearer ``token``, after taking one token from its key's rate limit and
        one request from its tenant's (shared by all of the tenant's keys and gateway replicas)."""
        key_id = parse_key(token.strip())
        if key_id is None:
            raise Unauthenticated("malformed API key")
        record = await self._keys.find_for_auth(key_id)
        # One message for unknown, revoked and wrong keys: which one it was is nobody else's business.
        if record is None or record.revoked or not verify_key(token.strip(), record.hash):
            raise Unauthenticated("invalid or revoked API key")
        self._rate_limit.take(key_id, "API key")
        if self._tenant_rate is not None:
            await self._tenant_rate.take(record.tenant_id)
        return Principal(tenant_id=record.tenant_id, key_id=key_id, key_name=record.name,
                         scopes=frozenset(known_scopes(record.scopes)))

    async def create_tenant(self, name: str, tenant_id: str | None = None
                            ) -> tuple[Tenant, ApiKeyRecord, str]:
        """A tenant (its id derived from ``name`` unless given) and its first key, with all scopes."""
        name = name.strip()
        if not name:
            raise InvalidArgument("the tenant name must not be empty", field="name")
        tenant_id = tenant_id or slugify_tenant(name)
        if not is_valid_tenant_id(tenant_id):
            raise InvalidArgument(f"invalid tenant id {tenant_id!r}: use [a-z0-9][a-z0-9_-]{{0,62}}",
                                  field="tenant_id")
        tenant = await self._tenants.create(tenant_id, name, self._clock())
        record, secret = await self._new_key(tenant_id, ALL_SCOPES, "initial")
        return tenant, record, secret

    async def list_tenants(self) -> list[Tenant]:
        return await self._tenants.list_all()

    async def create_key(self, tenant_id: str, scopes: Sequence[Scope], name: str, *,
                         check_tenant: bool = False) -> tuple[ApiKeyRecord, str]:
        """A new key and its secret (shown once). ``check_tenant``: refuse an unknown tenant (the
        operator CLI; over the API the tenant is the caller's own)."""
        if not scopes:
            raise InvalidArgument("give at least one scope", field="scopes")
        if check_tenant and await self._tenants.get(tenant_id) is None:
            raise NotFound(f"no tenant {tenant_id!r} (create it with: dengar tenants create NAME)")
        return await self._new_key(tenant_id, scopes, name)

    async def _new_key(self, tenant_id: str, scopes: Sequence[Scope], name: str
                       ) -> tuple[ApiKeyRecord, str]:
        if self._key_quota is not None:
            await self._key_quota.check_room(tenant_id)
        generated = generate_key()
        record = await self._keys.insert(
            tenant_id, key_id=generated.key_id, key_hash=generated.hash,
            scopes=list(dict.fromkeys(s.value for s in scopes)), name=name, now=self._clock())
        if self._key_quota is not None:
            await self._key_quota.confirm(tenant_id, record.key_id)
        logger.info("key %s created for %s", record.key_id, tenant_id)
        return record, generated.secret

    async def list_keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        return await self._keys.list(tenant_id)

    async def revoke_key(self, tenant_id: str | None, key_id: str) -> str:
        """Revoke a key of ``tenant_id`` (None: of whichever tenant owns it); return that tenant."""
        owner = tenant_id if tenant_id is not None else await self._keys.tenant_of(key_id)
        if owner is None or not await self._keys.revoke(owner, key_id, self._clock()):
            raise NotFound("no such API key" if tenant_id is not None else f"no API key {key_id!r}")
        return owner
