"""Encryption at rest of credentials and webhook secrets (Fernet, with key rotation).

Shared by the collector (source credentials) and insights (outbound channel secrets).
``DENGAR_COLLECTOR__SECRETS_KEYS`` / ``DENGAR_INSIGHTS__SECRETS_KEYS`` is a comma-separated list of
urlsafe-base64 32-byte keys: the first
encrypts, every one decrypts, so an operator rotates by putting a new key first and dropping the old
one once every document has been written again (`dengar sources reseal`, `dengar channels reseal`).
Without keys values are stored as given.

What is stored is an envelope that names its scheme, so documents written before a key was configured
(or with an older key) keep working and are recognised as due for re-encryption:

* ``{"scheme": "plain", "values": {...}}``
* ``{"scheme": "fernet", "token": "<Fernet token>"}``

The token covers a ``context`` (the source and the field) next to the values: a ciphertext copied into
another document, or another field, does not decrypt there.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import AfterValidator, BeforeValidator, SecretStr

SCHEME_PLAIN = "plain"
SCHEME_FERNET = "fernet"
KEY_BYTES = 32
# Shown to tenants (last_error) and operators: names the cause, never a value or ciphertext.
UNREADABLE_MESSAGE = "credentials cannot be decrypted with the configured keys"


class SecretDecryptError(Exception):
    """Stored secrets that the configured keys cannot open. ``str()`` is safe to show anyone."""

    def __init__(self, reason: str) -> None:
        super().__init__(UNREADABLE_MESSAGE)
        # For the operator's log: which of the possible causes, still without any value.
        self.reason = reason


def generate_key() -> str:
    """A new key in the format of ``DENGAR_COLLECTOR__SECRETS_KEYS``."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def parse_keys(raw: str) -> list[str]:
    """The keys of a ``DENGAR_COLLECTOR__SECRETS_KEYS`` value, primary first; ``ValueError`` if one is
    malformed. Messages name the key by position, never by value (they end up in start-up errors)."""
    if not raw.strip():
        return []
    parts = [p.strip() for p in raw.split(",")]
    for i, part in enumerate(parts, start=1):
        where = f"key {i} of {len(parts)}"
        if not part:
            raise ValueError(f"{where} is empty")
        try:
            decoded = base64.b64decode(part.encode("ascii"), altchars=b"-_", validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise ValueError(f"{where} is not urlsafe base64") from None
        if len(decoded) != KEY_BYTES:
            raise ValueError(f"{where} decodes to {len(decoded)} bytes, expected {KEY_BYTES}")
    if len(set(parts)) != len(parts):
        raise ValueError("the same key is listed twice")
    return parts


def _as_secret(value: Any) -> Any:
    # Wrapped before it is checked, so that a validation error shows "**********", never the key.
    return SecretStr(value) if isinstance(value, str) else value


def _check_keys(value: SecretStr) -> SecretStr:
    parse_keys(value.get_secret_value())
    return value


#: A settings field holding keys in the format of ``parse_keys`` (checked, never shown).
SecretsKeys = Annotated[SecretStr, AfterValidator(_check_keys), BeforeValidator(_as_secret)]


@dataclass(frozen=True)
class Opened:
    values: dict[str, str]
    # False when sealing again would store something else: plaintext while a key is configured, or
    # a token of a key that is no longer the first.
    current: bool


@dataclass
class ResealReport:
    """What re-sealing every stored secret with the first key did (``dengar sources reseal``,
    ``dengar channels reseal``): documents sealed again, those already sealed with the first key,
    and those no configured key opens (``tenant/id``), which keep their old ciphertext."""

    resealed: int = 0
    current: int = 0
    unreadable: list[str] = field(default_factory=list)

    def summary(self, what: str) -> str:
        text = f"{what}: {self.resealed} re-sealed with the first key, {self.current} already were"
        if self.unreadable:
            text += (f"; {len(self.unreadable)} cannot be opened with the configured keys: "
                     + ", ".join(self.unreadable))
        return text


class SecretBox:
    def __init__(self, keys: Sequence[str] = ()) -> None:
        self._fernets = [Fernet(k) for k in keys]

    @classmethod
    def from_setting(cls, raw: str) -> SecretBox:
        return cls(parse_keys(raw))

    @property
    def encrypts(self) -> bool:
        return bool(self._fernets)

    # -- tokens ----------------------------------------------------------------------------------

    def encrypt(self, values: Mapping[str, str], *, context: str = "") -> str:
        if not self._fernets:
            raise RuntimeError("no encryption key configured")
        payload = json.dumps({"c": context, "v": dict(values)}, separators=(",", ":")).encode()
        return self._fernets[0].encrypt(payload).decode("ascii")

    def _decrypt(self, token: str, context: str) -> tuple[dict[str, str], int]:
        if not self._fernets:
            raise SecretDecryptError("encrypted, but no key is configured")
        payload, index = self._try_keys(token)
        try:
            body = json.loads(payload)
            values, sealed_for = body["v"], body["c"]
        except (ValueError, KeyError, TypeError):
            raise SecretDecryptError("malformed payload") from None
        if sealed_for != context or not _is_str_map(values):
            raise SecretDecryptError("sealed for another document or field")
        return dict(values), index

    def _try_keys(self, token: str) -> tuple[bytes, int]:
        """The plaintext and the index of the key that opened it (0: the primary)."""
        for index, fernet in enumerate(self._fernets):
            try:
                return fernet.decrypt(token.encode("ascii")), index
            except (InvalidToken, UnicodeEncodeError):
                continue
        raise SecretDecryptError("no configured key opens the token")

    def decrypt(self, token: str, *, context: str = "") -> dict[str, str]:
        return self._decrypt(token, context)[0]

    # -- stored envelopes ------------------------------------------------------------------------

    def seal(self, values: Mapping[str, str], *, context: str) -> dict[str, Any]:
        if not self._fernets:
            return {"scheme": SCHEME_PLAIN, "values": dict(values)}
        return {"scheme": SCHEME_FERNET, "token": self.encrypt(values, context=context)}

    def open(self, sealed: Mapping[str, Any], *, context: str) -> Opened:
        scheme = sealed.get("scheme")
        if scheme == SCHEME_PLAIN:
            plain = sealed.get("values")
            if not isinstance(plain, dict) or not _is_str_map(plain):
                raise SecretDecryptError("malformed plaintext envelope")
            return Opened(dict(plain), current=not self.encrypts)
        if scheme == SCHEME_FERNET and isinstance(sealed.get("token"), str):
            values, index = self._decrypt(sealed["token"], context)
            return Opened(values, current=index == 0)
        raise SecretDecryptError(f"unknown scheme {str(scheme)[:20]!r}")


def _is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                           for k, v in value.items())
