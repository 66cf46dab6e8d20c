"""Limits on what an unauthenticated caller can cost: key guessing and webhook floods.

Both are keyed by the client address (the peer, or the X-Forwarded-For of a trusted proxy: uvicorn's
``FORWARDED_ALLOW_IPS``) and live in limiter pools of their own, apart from the API keys' buckets, so
a flood of random ids or addresses evicts only its own kind and never a real key's bucket.
"""

from __future__ import annotations

import re
from typing import Protocol

from dengar_common.errors import ResourceExhausted, Unauthenticated

# The collector's source ids: ``src_`` + 16 lower-case hex digits. Checked here first, so a request
# with any other id costs neither a limiter entry, a body read nor a collector call.
_SOURCE_ID = re.compile(r"src_[0-9a-f]{16}")


def is_source_id(value: str) -> bool:
    return _SOURCE_ID.fullmatch(value) is not None


class PeekingLimiter(Protocol):
    def acquire(self, key: str) -> float:
        """0.0 when allowed (one token taken), else the seconds until ``key`` may try again."""
        ...

    def peek(self, key: str) -> float:
        """What ``acquire`` would answer, without taking a token."""
        ...


class AuthFailureGuard:
    """Each failed authentication (401) takes a token from its client address's bucket; an address
    whose bucket is empty gets 429 before its key is even looked at, so a correct guess made while
    throttled is not answered either. Successful requests cost nothing here."""

    def __init__(self, limiter: PeekingLimiter) -> None:
        self._limiter = limiter

    def check(self, address: str) -> None:
        wait = self._limiter.peek(address)
        if wait > 0:
            raise ResourceExhausted("too many failed authentications from this address",
                                    reason="auth-failures", retry_after_s=wait)

    def failed(self, address: str) -> None:
        self._limiter.acquire(address)


class WebhookGuard:
    """The order of checks on ``POST /v1/webhooks/{id}``, cheapest first and all before the body is
    read: the id's format, then the client address's bucket (random ids do not bypass it), then the
    source's bucket (a flood aimed at one source, from many addresses)."""

    def __init__(self, per_address: PeekingLimiter, per_source: PeekingLimiter) -> None:
        self._per_address = per_address
        self._per_source = per_source

    def admit(self, address: str, source_id: str) -> None:
        if not is_source_id(source_id):
            # The same answer as an unknown source or a bad signature: nothing to learn from it.
            raise Unauthenticated("unknown webhook source")
        for limiter, key, what in ((self._per_address, address, "client address"),
                                   (self._per_source, source_id, "webhook source")):
            wait = limiter.acquire(key)
            if wait > 0:
                raise ResourceExhausted(f"rate limit exceeded for this {what}", reason="rate-limited",
                                        retry_after_s=wait)
