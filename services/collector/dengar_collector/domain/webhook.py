"""Signed push webhooks: the signature scheme and the body formats.

A sender signs each request with the source's secret::

    X-Dengar-Timestamp: 1767225600
    X-Dengar-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

The timestamp is part of the signed message, so a captured request cannot be replayed once it is
older than the tolerance. Pure: the caller passes the time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from dengar_common.errors import InvalidArgument, Unauthenticated
from dengar_common.signing import SECRET_PREFIX, SIGNATURE_PREFIX, new_secret, sign

# The scheme itself lives in dengar_common.signing (insights signs outbound webhooks with it).
__all__ = ["SECRET_PREFIX", "SIGNATURE_PREFIX", "new_secret", "sign"]

# Unix seconds of any date this side of the year 2286: ten digits, eleven at most.
_MAX_TIMESTAMP_DIGITS = 11
_NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                           "application/x-jsonlines", "application/jsonlines"})


# One answer for every authentication failure, so that source ids cannot be probed.
UNAUTHENTICATED_MESSAGE = "invalid webhook signature or timestamp"


class SignatureError(Unauthenticated):
    """The request is not authentic. ``str()`` is the reason, for logs; the caller only ever gets
    ``UNAUTHENTICATED_MESSAGE``."""

    def __init__(self, why: str) -> None:
        super().__init__(UNAUTHENTICATED_MESSAGE)
        self.why = why

    def __str__(self) -> str:
        return self.why


class BodyError(InvalidArgument):
    """The body is not a post batch in any accepted format."""


def verify(secret: str, timestamp: str, signature: str, body: bytes, *, now: float,
           tolerance_s: float) -> None:
    """Raise :class:`SignatureError` unless the request was signed with ``secret`` within the tolerance."""
    ts = timestamp.strip()
    if not ts.isascii() or not ts.isdigit() or len(ts) > _MAX_TIMESTAMP_DIGITS:
        raise SignatureError("timestamp is not Unix seconds")
    # Checked before the MAC so a stale request costs no hashing; both answers look the same outside.
    if abs(now - int(ts)) > tolerance_s:
        raise SignatureError("timestamp outside the tolerance")
    expected = sign(secret, ts, body)
    # compare_digest on bytes: its time does not depend on where the first difference is.
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8", "replace")):
        raise SignatureError("signature mismatch")


def burn_time(body: bytes) -> None:
    """Compute a MAC nobody checks, so an unknown source costs the same time as a bad signature."""
    hmac.new(b"\0" * 32, body, hashlib.sha256).digest()


@dataclass
class ParsedBody:
    """The items of a push, in order, and the per-item problems found before validation
    (an NDJSON line that is not JSON): index -> message."""

    items: list[Any]
    broken: dict[int, str]


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _ndjson(text: str) -> ParsedBody:
    items: list[Any] = []
    broken: dict[int, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except (ValueError, RecursionError) as exc:
            broken[len(items)] = f"line is not valid JSON: {exc}"
            items.append(None)
    return ParsedBody(items, broken)


def parse_body(body: bytes, content_type: str, *, max_posts: int) -> ParsedBody:
    """``{"posts": [...]}``, one post object, or NDJSON (one post per line).

    NDJSON is recognised by its media type, or, without one, by a body that is not one JSON document
    but whose lines are. Raises :class:`BodyError` for anything else and for more than ``max_posts``.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("the body is not UTF-8") from None
    if not text.strip():
        raise BodyError("the body is empty")
    if _media_type(content_type) in _NDJSON_TYPES:
        parsed = _ndjson(text)
    else:
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as exc:
            if len([line for line in text.splitlines() if line.strip()]) > 1:
                parsed = _ndjson(text)
            else:
                raise BodyError(f"the body is not valid JSON: {exc}") from None
        else:
            if isinstance(doc, dict) and "posts" in doc:
                extra = sorted(set(doc) - {"posts"})
                if extra:
                    raise BodyError(f"unexpected keys next to 'posts': {', '.join(extra)}")
                if not isinstance(doc["posts"], list):
                    raise BodyError("'posts' must be an array of posts")
                parsed = ParsedBody(list(doc["posts"]), {})
            elif isinstance(doc, dict):
                parsed = ParsedBody([doc], {})
            else:
                raise BodyError("expected {\"posts\": [...]}, one post object, or NDJSON")
    if not parsed.items:
        raise BodyError("the body contains no posts")
    if len(parsed.items) > max_posts:
        raise BodyError(f"too many posts: {len(parsed.items)} > {max_posts}; split the batch")
    return parsed
