"""The webhook signature scheme, the same both ways (inbound to the collector, outbound from insights)::

    X-Dengar-Timestamp: 1767225600
    X-Dengar-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

The timestamp is part of the signed message, so a captured request cannot be replayed once it is older
than the receiver's tolerance. Pure: the caller passes the time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TIMESTAMP_HEADER = "X-Dengar-Timestamp"
SIGNATURE_HEADER = "X-Dengar-Signature"
SIGNATURE_PREFIX = "sha256="
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh webhook secret: 32 random bytes, URL-safe."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Dengar-Signature`` value for a request."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("utf-8") + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def signed_headers(secret: str, body: bytes, *, now: float) -> dict[str, str]:
    """The two headers a sender adds to a request carrying ``body`` at Unix time ``now``."""
    timestamp = str(int(now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}
