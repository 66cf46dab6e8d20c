"""Idempotency-Key records of ``POST /v1/posts``: what a reservation can find, and how a body is
recognised when it is sent again."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

# Printable ASCII: the key is echoed in logs and stored; UUIDs and ULIDs fit easily.
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class Reservation(Enum):
    NEW = "new"
    REPLAY = "replay"
    BODY_MISMATCH = "body_mismatch"
    IN_FLIGHT = "in_flight"


@dataclass(frozen=True)
class IdempotencyOutcome:
    reservation: Reservation
    # The owner token of a NEW reservation, needed to complete or release it.
    owner: str = ""
    status: int = 0
    response: str = ""


def is_valid_key(key: str) -> bool:
    return _KEY.match(key) is not None


def body_hash(body: Any) -> str:
    # Canonical JSON, so the same posts re-sent with other whitespace or key order still match.
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
