"""Sources: where posts come from. Pull sources are polled by the scheduler through a platform
connector; webhook sources are pushed to by external systems with a signed request.

Pure: what a source is, and the checks on what a tenant asks for that need no connector.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dengar_common.errors import InvalidArgument

WEBHOOK_KIND = "webhook"
MAX_NAME_CHARS = 200
# A week: slower than that a source is better paused and run by hand.
MAX_INTERVAL_S = 7 * 24 * 3600


class SourceStatus(enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    ERROR = "error"


class SourceInputError(InvalidArgument):
    """A create/update request cannot be honoured; ``field`` names the offending request field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message, field=field or None)


def new_source_id() -> str:
    # 64 random bits: ids are guessable neither for webhooks nor across tenants.
    return "src_" + secrets.token_hex(8)


def is_source_id(value: str) -> bool:
    return (len(value) == 20 and value.startswith("src_")
            and all(c in "0123456789abcdef" for c in value[4:]))


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise SourceInputError("name", "name is required")
    if len(name) > MAX_NAME_CHARS:
        raise SourceInputError("name", f"name longer than {MAX_NAME_CHARS} characters")
    if any(ch < " " for ch in name):
        raise SourceInputError("name", "name contains control characters")
    return name


def resolve_interval(value: int, *, default_s: int, minimum_s: int) -> int:
    """The polling interval of a request: 0 picks the default; below the minimum is an error."""
    if value == 0:
        return default_s
    if value < minimum_s:
        raise SourceInputError("interval_seconds", f"interval_seconds must be at least {minimum_s}")
    if value > MAX_INTERVAL_S:
        raise SourceInputError("interval_seconds", f"interval_seconds must be at most {MAX_INTERVAL_S}")
    return value


@dataclass
class SourceRecord:
    """A stored source. ``credentials`` and ``webhook_secret`` never leave the collector."""

    id: str
    tenant_id: str
    name: str
    kind: str
    config: dict[str, Any]
    interval_seconds: int
    created_at: datetime
    updated_at: datetime
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    webhook_secret: str = field(default="", repr=False)
    paused: bool = False
    last_run_at: datetime | None = None
    # None for webhook sources, which are never polled.
    next_run_at: datetime | None = None
    items_collected: int = 0
    runs: int = 0
    last_error: str = ""
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    last_success_at: datetime | None = None
    last_run_items: int = 0
    # The connector's resume point, stored only once the posts it covers are published.
    cursor: dict[str, Any] | None = field(default=None, repr=False)
    # Bumped whenever the config changes, so a run that started with the old config does not store
    # a cursor that belongs to another query.
    generation: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = None
    # Set when the stored credentials/secret could not be decrypted (then they are empty here): why,
    # in words safe to show the tenant. Runs fail with it instead of using empty credentials.
    secrets_error: str = ""

    @property
    def is_webhook(self) -> bool:
        return self.kind == WEBHOOK_KIND

    @property
    def status(self) -> SourceStatus:
        if self.paused:
            return SourceStatus.PAUSED
        if self.consecutive_failures > 0:
            return SourceStatus.ERROR
        return SourceStatus.ACTIVE

    def secret_values(self) -> list[str]:
        """Every value that must never appear in an error message or a log line."""
        values = [v for v in self.credentials.values() if v]
        if self.webhook_secret:
            values.append(self.webhook_secret)
        return values
