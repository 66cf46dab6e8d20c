"""Waiting for posts to become queryable, by progress rather than by a fixed deadline.

How fast a post goes through the pipeline depends on the machine and on what else runs on it (the
suite has taken 15 minutes on an idle 2-core VM and 27 on a busy one), and speed is the benchmarks'
business. What the tests must catch is a pipeline that stops: the wait fails once the count has not
moved for ``stall_s``, and in any case after ``cap_s``.
"""

from __future__ import annotations

import time
from datetime import datetime

import httpx


def wait_counted(c: httpx.Client, start: datetime, end: datetime, expected: int, *,
                 stall_s: float = 120.0, cap_s: float = 1200.0) -> int:
    """The tenant's volume in [start, end) once it reaches ``expected``, or the last one read when
    it stalled or the cap ran out (the caller asserts on it)."""
    began = time.monotonic()
    last_change = began
    total = -1
    while True:
        r = c.get("/v1/analytics/timeseries", params={"metric": "volume", "interval": "day",
                                                      "from": start.isoformat(), "to": end.isoformat()})
        assert r.status_code == 200, r.text
        seen = sum(int(p["volume"]) for p in r.json()["points"])
        now = time.monotonic()
        if seen >= expected:
            return seen
        if seen != total:
            total, last_change = seen, now
        if now - last_change > stall_s or now - began > cap_s:
            return total
        time.sleep(1.0)


def wait_backfills_done(c: httpx.Client, *, cap_s: float = 300.0) -> dict[str, str]:
    """Each listening query's backfill state once none is pending or running (or when ``cap_s`` ran
    out; the caller asserts on it).  A new query re-tags the tenant's stored mentions in the
    background; a test that means to read a settled tenant waits for that first."""
    began = time.monotonic()
    while True:
        r = c.get("/v1/queries")
        assert r.status_code == 200, r.text
        states = {q["id"]: (q.get("backfill") or {}).get("state", "none") for q in r.json()["data"]}
        if not any(s in ("pending", "running") for s in states.values()) or \
                time.monotonic() - began > cap_s:
            return states
        time.sleep(0.5)
