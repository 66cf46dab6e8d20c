"""MongoDB client construction. Every service owns its database; documents carry tenant_id."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient


def make_client(uri: str, *, app_name: str, **options: Any) -> AsyncMongoClient[dict[str, Any]]:
    """``options`` are more ``AsyncMongoClient`` keyword arguments (tests add command listeners)."""
    # tz_aware so that datetimes read back are UTC-aware, like the ones we write.
    return AsyncMongoClient(uri, appname=app_name, tz_aware=True, serverSelectionTimeoutMS=10_000,
                            **options)
