"""When a pull source runs next: its interval with jitter, and back-off after failures.

Pure: the caller passes the time and the random generator, so tests pin both.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from annotated_types import Ge, Gt, Le


@dataclass(frozen=True)
class SchedulePolicy:
    # Fraction of the interval added or removed at random, so sources created together (or a fleet
    # restarted together) spread out instead of hitting the platforms in lockstep.
    # (The constraints are checked where settings are loaded: DENGAR_COLLECTOR__SCHEDULER__POLICY__*.)
    jitter: Annotated[float, Ge(0), Le(1)] = 0.1
    # A fetch that said "more is available" (a backfill, a page cut by the limit) goes again this soon.
    more_delay_s: Annotated[float, Ge(0)] = 1.0
    # Retryable failures: full-jitter exponential back-off, base * 2^(failures - 1), capped.
    retry_base_s: Annotated[float, Gt(0)] = 30.0
    retry_max_s: Annotated[float, Gt(0)] = 3600.0
    # Failures that need a person (bad credentials, a rejected query): retrying often only burns
    # the platform's patience with our address, so wait long; fixing the source reschedules it.
    error_backoff_s: Annotated[float, Gt(0)] = 6 * 3600.0


def next_run_after_success(now: datetime, interval_s: float, *, has_more: bool, policy: SchedulePolicy,
                           rng: random.Random) -> datetime:
    """The next run of a source whose run just succeeded."""
    if has_more:
        return now + timedelta(seconds=policy.more_delay_s)
    spread = interval_s * policy.jitter
    return now + timedelta(seconds=max(0.0, interval_s + rng.uniform(-spread, spread)))


def retry_delay_s(consecutive_failures: int, *, retry_after: float | None, policy: SchedulePolicy,
                  rng: random.Random) -> float:
    """Seconds to wait after the ``consecutive_failures``-th retryable failure in a row (1 = first).

    Full jitter in [ceiling / 2, ceiling] keeps a minimum distance between attempts while still
    de-synchronising them. A ``retry_after`` from the platform is a floor, even beyond the cap: asking
    earlier than a quota reset only earns another refusal.
    """
    exponent = max(0, min(consecutive_failures - 1, 30))
    ceiling = min(policy.retry_max_s, policy.retry_base_s * (2 ** exponent))
    delay = rng.uniform(ceiling / 2, ceiling)
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return delay


def error_delay_s(*, policy: SchedulePolicy, rng: random.Random) -> float:
    """Seconds to wait after a failure that retrying cannot fix."""
    return policy.error_backoff_s * rng.uniform(1.0, 1.0 + policy.jitter)


def scrub_secrets(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value (of 4 characters or more) replaced by ``***``."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
