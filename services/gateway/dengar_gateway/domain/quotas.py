"""Per-tenant quotas that the gateway owns: requests per second over all of a tenant's keys and
gateway replicas, API keys, and concurrent live streams; and the windows of the shared rate count.

The defaults come from settings (``DENGAR_GATEWAY__QUOTAS__*``, ``__STREAM__MAX_PER_TENANT``); a
tenant may have its own values (``dengar tenants limits``), stored on its tenant document.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

#: Names of the values a tenant may override, with their types.
OVERRIDABLE: dict[str, type] = {"rate_per_s": float, "max_keys": int, "max_streams": int}


@dataclass(frozen=True)
class TenantLimits:
    """``rate_per_s`` 0 disables the tenant's shared rate limit."""

    rate_per_s: float
    max_keys: int
    max_streams: int

    def with_overrides(self, overrides: Mapping[str, object]) -> TenantLimits:
        """These limits with a tenant's own values; unknown names and bad values are ignored
        (they are checked when set, and a stale document must not break authentication)."""
        changes: dict[str, float | int] = {}
        for name, kind in OVERRIDABLE.items():
            value = overrides.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if not math.isfinite(value) or value < 0 or (kind is int and value < 1):
                continue
            changes[name] = kind(value)
        return replace(self, **changes) if changes else self  # type: ignore[arg-type]  # names from OVERRIDABLE


def check_override(name: str, raw: str) -> float | int:
    """A tenant's override parsed from the command line; ValueError naming what is wrong."""
    kind = OVERRIDABLE.get(name)
    if kind is None:
        raise ValueError(f"unknown limit {name!r}; known: {', '.join(OVERRIDABLE)}")
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be {'an integer' if kind is int else 'a number'}") from None
    if not math.isfinite(value) or value < 0 or (kind is int and value < 1):
        raise ValueError(f"{name} must be {'>= 1' if kind is int else '>= 0 (0: unlimited)'}")
    return value  # type: ignore[no-any-return]  # int or float by OVERRIDABLE


@dataclass(frozen=True)
class RateWindow:
    """One fixed window of the shared per-tenant request count."""

    index: int
    start: float
    end: float
    limit: int


def rate_window(now: float, rate_per_s: float, window_s: float) -> RateWindow:
    """The window holding ``now`` (seconds since the epoch) and how many requests it allows.

    Windows are aligned on the epoch, so every replica computes the same ones from its own clock
    (clock skew between replicas shifts where one replica's window ends, not the count).
    """
    index = math.floor(now / window_s)
    limit = max(1, math.floor(rate_per_s * window_s))
    return RateWindow(index=index, start=index * window_s, end=(index + 1) * window_s, limit=limit)


def chunk_size(limit: int, configured: int, parts: int = 20) -> int:
    """How many requests of a window one replica claims from the shared count at once.

    A replica counts locally until its claim is used up, so it writes to the store once per
    claim rather than once per request. Claims not used by the end of the window are lost: with
    N replicas a tenant may get up to N claims fewer than the limit, never more than it.
    """
    size = configured if configured > 0 else math.ceil(limit / parts)
    return max(1, min(size, limit))
