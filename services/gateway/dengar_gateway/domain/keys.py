"""API keys: generation, hashing and verification. Pure functions, no I/O.

A key reads ``dgr_<key_id>_<secret>``. The key id is public (it is how a key is found, listed and
revoked); the secret is shown once and only its SHA-256 is stored. SHA-256 without a salt is
enough here because the secret has 256 bits of entropy: unlike a password it cannot be guessed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

KEY_PREFIX = "dgr"
_KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
# token_urlsafe(32) yields 43 characters of [A-Za-z0-9_-].
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


class Scope(StrEnum):
    """What a key may do. Scopes do not imply each other: an admin key cannot ingest or read
    unless it was also given those scopes (the key created with a tenant has all three)."""

    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"


ALL_SCOPES: tuple[Scope, ...] = (Scope.INGEST, Scope.READ, Scope.ADMIN)


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Scopes from names (order kept, duplicates dropped); ValueError names an unknown one."""
    out: list[Scope] = []
    for raw in values:
        name = raw.strip().lower()
        if not name:
            continue
        try:
            scope = Scope(name)
        except ValueError:
            raise ValueError(
                f"unknown scope {raw!r}; expected one of {[s.value for s in ALL_SCOPES]}") from None
        if scope not in out:
            out.append(scope)
    return out


def known_scopes(values: Iterable[str]) -> list[Scope]:
    """The recognised scopes among stored names; an unknown one (from a newer version) grants nothing."""
    names = {s.value for s in Scope}
    return [Scope(v) for v in values if v in names]


@dataclass(frozen=True)
class GeneratedKey:
    key_id: str
    secret: str
    """The full bearer token, ``dgr_<key_id>_<secret>``: return it to the user once, never store it."""
    hash: str


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: every request acts for exactly this tenant."""

    tenant_id: str
    key_id: str
    scopes: frozenset[Scope] = field(default_factory=frozenset)
    # The key's name: who the audit trail says acted.
    key_name: str = ""

    @property
    def actor(self) -> str:
        return self.key_name or self.key_id


@dataclass(frozen=True)
class ApiKeyRecord:
    """A stored key: its id, tenant, scopes and the hash of its secret."""

    key_id: str
    tenant_id: str
    name: str
    scopes: tuple[str, ...]
    hash: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generate_key() -> GeneratedKey:
    key_id = secrets.token_hex(8)
    token = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    return GeneratedKey(key_id=key_id, secret=token, hash=hash_key(token))


def parse_key(token: str) -> str | None:
    """The key id of a well-formed token, or None. Says nothing about whether the key is valid."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    _, key_id, secret = parts
    if not _KEY_ID_RE.match(key_id) or not _SECRET_RE.match(secret):
        return None
    return key_id


def verify_key(token: str, stored_hash: str) -> bool:
    # Constant-time, so the response time does not leak how much of the hash matched.
    return hmac.compare_digest(hash_key(token).encode("ascii"), stored_hash.encode("ascii"))
