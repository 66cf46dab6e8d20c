"""RFC 3339 timestamps, strictly: the API never guesses a timezone or a Unix-time unit."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_RFC3339 = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?"
    r"(?P<tz>[Zz]|[+-]\d{2}:\d{2})?$")
# In a query string an unencoded "+" arrives as a space: "...T10:00:00 07:00".
_SPACE_OFFSET = re.compile(r"(\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?) (\d{2}:\d{2})$")


def parse_rfc3339(value: str) -> datetime:
    """A timezone-aware datetime; ValueError says what is wrong with the string."""
    m = _RFC3339.match(value.strip())
    if not m:
        raise ValueError("must be an RFC 3339 timestamp such as 2024-05-01T12:00:00Z")
    if not m["tz"]:
        raise ValueError("must include a timezone offset (Z or ±HH:MM), e.g. 2024-05-01T12:00:00Z")
    tz = "+00:00" if m["tz"] in ("Z", "z") else m["tz"]
    # Microseconds are the most datetime (and the protobuf Timestamp we fill) usefully keeps.
    frac = f".{(m['frac'] or '')[:6]:0<6}" if m["frac"] else ""
    try:
        return datetime.fromisoformat(f"{m['date']}T{m['time']}{frac}{tz}")
    except ValueError as exc:  # out-of-range fields, e.g. month 13
        raise ValueError(f"invalid timestamp: {exc}") from None


def rfc3339_field(value: Any) -> Any:
    """Pydantic before-validator for body fields."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string with a timezone")
    return parse_rfc3339(value)


def rfc3339_query(value: Any) -> Any:
    """Pydantic before-validator for query parameters (tolerates the decoded '+')."""
    if isinstance(value, str):
        value = _SPACE_OFFSET.sub(r"\1+\2", value.strip())
    return rfc3339_field(value)


def to_millis(value: datetime) -> datetime:
    """``value`` at BSON's millisecond precision, i.e. exactly what a MongoDB round trip returns."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def utcnow_ms() -> datetime:
    """Now (UTC) at millisecond precision: a document answered right after a write equals a later read."""
    return to_millis(datetime.now(UTC))
