"""The stored form of a mention's near-duplicate keys (the NLP service's MinHash LSH band keys).

NLP sends one key per band, ``"<version>-<perms>-<band:02d>-<16 hex digits>"`` (e.g. 32 keys of
``mh1-128-07-5f0c…``): about 1.1 KB of BSON per mention as a list of strings, most of it the
repeated prefix, the band numbers and hex. Keys in exactly that layout (bands numbered 0, 1, 2 …
in order, one prefix) are stored as ``{"p": <prefix>, "h": <the digests' 8 bytes each>}``, about
300 bytes; any other list (another hasher, keys from an older version) is stored as it came.
``keys_of`` reads either form back as the original list, so readers see what NLP sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_KEY_RE = re.compile(r"^(.+-)(\d{2,})-([0-9a-f]{16})$")
_DIGEST_BYTES = 8


def pack(keys: Sequence[str]) -> list[str] | dict[str, Any]:
    """The stored form of ``keys``: compact when it reads back as exactly ``keys``."""
    keys = list(keys)
    if not keys:
        return keys
    prefix = ""
    digests = bytearray()
    for band, key in enumerate(keys):
        match = _KEY_RE.match(key)
        if match is None or int(match.group(2)) != band or (prefix and match.group(1) != prefix):
            return keys
        prefix = match.group(1)
        digests += bytes.fromhex(match.group(3))
    packed = {"p": prefix, "h": bytes(digests)}
    return packed if unpack(packed) == keys else keys


def unpack(stored: Any) -> list[str]:
    """The keys of either stored form (absent: none)."""
    if not stored:
        return []
    if isinstance(stored, Mapping):
        prefix, raw = str(stored.get("p", "")), bytes(stored.get("h") or b"")
        return [f"{prefix}{i:02d}-{raw[i * _DIGEST_BYTES:(i + 1) * _DIGEST_BYTES].hex()}"
                for i in range(len(raw) // _DIGEST_BYTES)]
    return [str(k) for k in stored]


def keys_of(doc: Mapping[str, Any]) -> list[str]:
    """The near-duplicate keys of a stored mention document."""
    return unpack(doc.get("neardup_keys"))
