"""Data retention: how long a tenant's mentions are kept.

A tenant's retention is a number of days (its own, else the service's default); 0 keeps mentions
forever. A mention whose ``created_at`` is older than the cutoff is removed by the sweep, with what
describes it alone: its workflow audit trail, and the resolved alerts and delivered notifications
of the same age (they quote mentions). Rollups are aggregates without personal data and are kept,
so the time series and counts of past periods stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dengar_common.errors import InvalidArgument

MAX_DAYS = 36_500
FOREVER = 0


@dataclass(frozen=True)
class Retention:
    tenant_id: str
    days: int  # FOREVER (0) or a number of days
    is_default: bool

    def cutoff(self, now: datetime) -> datetime | None:
        """Mentions created before this are expired; None when kept forever."""
        return None if self.days == FOREVER else now - timedelta(days=self.days)


def check_days(days: int) -> int:
    if not 0 <= days <= MAX_DAYS:
        raise InvalidArgument(f"retention must be 0 (forever) to {MAX_DAYS} days", field="days")
    return days
