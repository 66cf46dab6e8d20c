"""Live streams: the count of concurrent streams in this process, and Server-Sent Events framing.

The per-tenant limit over every gateway replica is kept in the store (``service_layer.quotas``);
``StreamLimits`` counts this process's streams, and limits them too when given a maximum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# Event ids are the stream's positions (decimal sequences): anything else in Last-Event-ID is a
# client bug, refused rather than silently restarting from now.
MAX_EVENT_ID_CHARS = 20


class StreamSlot:
    """One held stream; ``release`` is idempotent, so every exit path may call it."""

    def __init__(self, tenant_id: str, on_release: Callable[[str], None]) -> None:
        self.tenant_id = tenant_id
        self._on_release: Callable[[str], None] | None = on_release

    def release(self) -> None:
        if self._on_release is not None:
            on_release, self._on_release = self._on_release, None
            on_release(self.tenant_id)


@dataclass
class StreamLimits:
    """At most ``max_per_tenant`` streams held at once per tenant (None: only counted)."""

    max_per_tenant: int | None
    _held: dict[str, int] = field(default_factory=dict)

    def acquire(self, tenant_id: str) -> StreamSlot | None:
        """A slot, or None when the tenant already holds its maximum."""
        if self.max_per_tenant is not None and self._held.get(tenant_id, 0) >= self.max_per_tenant:
            return None
        self._held[tenant_id] = self._held.get(tenant_id, 0) + 1
        return StreamSlot(tenant_id, self._release)

    def held(self, tenant_id: str) -> int:
        return self._held.get(tenant_id, 0)

    @property
    def total(self) -> int:
        return sum(self._held.values())

    def _release(self, tenant_id: str) -> None:
        left = self._held.get(tenant_id, 0) - 1
        if left > 0:
            self._held[tenant_id] = left
        else:
            self._held.pop(tenant_id, None)


def _lines(name: str, value: str) -> str:
    # A field value cannot hold a line break: each line of a multi-line value is its own field.
    return "".join(f"{name}: {line}\n" for line in value.replace("\r\n", "\n").replace("\r", "\n")
                   .split("\n"))


def sse_event(data: str, *, event: str | None = None, event_id: str | None = None,
              retry_ms: int | None = None) -> bytes:
    """One Server-Sent Events message (text/event-stream), ending with its blank line."""
    out = ""
    if event_id is not None:
        if any(c in event_id for c in "\r\n\0"):
            raise ValueError("an event id cannot contain line breaks or NUL")
        out += f"id: {event_id}\n"
    if event is not None:
        out += _lines("event", event)
    if retry_ms is not None:
        out += f"retry: {int(retry_ms)}\n"
    out += _lines("data", data)
    return (out + "\n").encode()


def sse_comment(text: str = "") -> bytes:
    """A comment line: ignored by clients, keeps the connection visibly alive (a heartbeat)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return ("".join(f": {line}\n" if line else ":\n" for line in lines) + "\n").encode()


def parse_event_id(value: str | None) -> str | None:
    """The stream position in a Last-Event-ID; None when absent or empty; ValueError when it is
    not one of this API's event ids."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > MAX_EVENT_ID_CHARS or not value.isascii() or not value.isdigit():
        raise ValueError("not an event id of this stream (a decimal position)")
    if int(value) >= 2**64:
        raise ValueError("event id out of range")
    return value
