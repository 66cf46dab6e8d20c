"""Tenant ids. They appear in NATS subjects and database documents, so they are slugs."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from dengar_common.ids import is_valid_tenant_id

_NON_SLUG = re.compile(r"[^a-z0-9]+")
MAX_TENANT_ID = 63


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str
    created_at: datetime


def slugify_tenant(name: str) -> str:
    """A valid tenant id derived from a display name: "Acme Café, Inc." -> "acme-cafe-inc".

    A name with nothing usable in it (say, only CJK characters) gets a random id rather than an
    error, since the display name is kept separately anyway.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = _NON_SLUG.sub("-", ascii_name.lower()).strip("-")[:MAX_TENANT_ID].strip("-")
    if not slug:
        slug = "tenant-" + secrets.token_hex(4)
    assert is_valid_tenant_id(slug), slug
    return slug
