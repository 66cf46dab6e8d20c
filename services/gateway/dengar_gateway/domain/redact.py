"""Source ``config`` as keys without the ``admin`` scope see it: values that may carry a secret hidden.

A config holds no credentials (those are write-only), but tenants put secrets in it anyway: a private
feed URL with ``?token=...``, ``https://user:pass@host/feed``, a field named ``api_key``. Admins, who
can set the config, see it as stored; everyone else sees:

* in every URL: the user info and every query-string value replaced by ``***`` (names kept), the
  fragment dropped; scheme, host, port and path stay, so the source is still recognisable;
* the value of every key whose name looks like a secret (token, secret, password, api key...) as ``***``.

Pure: plain JSON in, plain JSON out.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_SECRET_NAME = re.compile(
    r"token|secret|passw|pwd|api_?key|access_?key|private_?key|client_?key|credential|signature|"
    r"session|cookie|bearer|auth(?!_?url)", re.IGNORECASE)
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def looks_secret(name: str) -> bool:
    return _SECRET_NAME.search(name.replace("-", "_")) is not None


def redact_url(value: str) -> str:
    """``value`` without user info, query-string values or fragment; unchanged if not a URL."""
    if not _URL.match(value.strip()):
        return value
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK  # not parseable: nothing of it is safe to show
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    if parts.username is not None or parts.password is not None:
        netloc = f"{MASK}@{netloc}"
    # A part without "=" (``?abc123``) may be the token itself: it has no name to keep.
    query = "&".join(f"{part.split('=', 1)[0]}={MASK}" if "=" in part else MASK
                     for part in parts.query.split("&") if part)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_config(value: Any, name: str = "") -> Any:
    """A copy of a JSON config with the values that may be secrets masked (see the module doc)."""
    if name and looks_secret(name) and value not in (None, "", False, {}, []):
        if isinstance(value, str) and _URL.match(value.strip()):
            return redact_url(value)
        return MASK  # a whole object or list under a secret's name too
    if isinstance(value, dict):
        return {k: redact_config(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_config(v, name) for v in value]
    if isinstance(value, str):
        return redact_url(value)
    return value
