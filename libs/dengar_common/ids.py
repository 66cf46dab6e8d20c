"""Identifiers derived from natural keys, so that every service computes the same id."""

from __future__ import annotations

import hashlib
import re

_TENANT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def is_valid_tenant_id(tenant_id: str) -> bool:
    """Tenant ids appear in NATS subjects, so only a safe alphabet is allowed."""
    return bool(_TENANT_RE.match(tenant_id))


def natural_key(tenant_id: str, platform: str, external_id: str) -> str:
    return f"{tenant_id}:{platform}:{external_id}"


def mention_id(tenant_id: str, platform: str, external_id: str) -> str:
    """Stable 24-hex id of a post: the same post always gets the same id."""
    digest = hashlib.sha256(natural_key(tenant_id, platform, external_id).encode("utf-8"))
    return digest.hexdigest()[:24]
