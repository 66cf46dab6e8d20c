"""Delivery channels of a tenant and how a notification looks on each. Pure values and functions.

A channel is a ``webhook`` (a URL, a signing secret Dengar generates, a payload ``format``: ``dengar``,
our JSON document, or ``slack``, a Slack incoming-webhook body ``{"text", "blocks"}``) or an ``email``
(recipient addresses and a language). Validation names the request field at fault. Whether a webhook
target is public is decided by the egress policy of the safe HTTP client (at create time on literal
addresses, and again at connect time on every resolved address).
"""

from __future__ import annotations

import html
import ipaddress
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from dengar_common.errors import InvalidArgument
from dengar_insights.domain.notification import Notification

WEBHOOK = "webhook"
EMAIL = "email"
CHANNEL_KINDS = (WEBHOOK, EMAIL)
FORMAT_DENGAR = "dengar"
FORMAT_SLACK = "slack"
FORMATS = (FORMAT_DENGAR, FORMAT_SLACK)
LANGUAGES = ("en", "id")
MAX_NAME = 100
MAX_URL = 2048
MAX_RECIPIENTS = 20

# Deliberately simpler than RFC 5322: one @, no spaces or angle brackets, a dotted domain. A quoted
# local part or a display name is refused rather than half-parsed into an SMTP envelope.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


@dataclass(frozen=True)
class Channel:
    id: str
    tenant_id: str
    name: str
    kind: str
    # webhook
    url: str = ""
    format: str = FORMAT_DENGAR
    # email
    recipients: tuple[str, ...] = ()
    language: str = "en"
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Set for webhooks; never returned by reads, shown once by create and rotate.
    secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class ChannelSpec:
    """What a client sends to create or replace a channel."""

    name: str
    kind: str
    url: str = ""
    format: str = ""
    recipients: tuple[str, ...] = ()
    language: str = ""


def validate_url(url: str, *, field_name: str = "url") -> str:
    value = url.strip()
    if not value:
        raise InvalidArgument("a webhook channel needs a url", field=field_name)
    if len(value) > MAX_URL:
        raise InvalidArgument(f"url is longer than {MAX_URL} characters", field=field_name)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidArgument("url is not a valid URL", field=field_name) from None
    if parts.scheme not in ("http", "https"):
        raise InvalidArgument("url must be http or https", field=field_name)
    if not parts.hostname:
        raise InvalidArgument("url has no host", field=field_name)
    if parts.username or parts.password:
        # Credentials in a URL end up in logs; a receiver authenticates us by the signature.
        raise InvalidArgument("url must not contain credentials", field=field_name)
    if port == 0:
        raise InvalidArgument("url has an invalid port", field=field_name)
    return value


def validate_email(address: str, *, field_name: str = "recipients") -> str:
    value = address.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise InvalidArgument(f"{value[:80]!r} is not an email address", field=field_name)
    return value


def validate_spec(spec: ChannelSpec) -> ChannelSpec:
    """The normalised spec; InvalidArgument naming the field otherwise."""
    name = spec.name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidArgument(f"name must be 1-{MAX_NAME} characters", field="name")
    if spec.kind not in CHANNEL_KINDS:
        raise InvalidArgument(f"unknown channel kind {spec.kind[:40]!r}; expected one of "
                              f"{', '.join(CHANNEL_KINDS)}", field="kind")
    if spec.kind == WEBHOOK:
        fmt = spec.format or FORMAT_DENGAR
        if fmt not in FORMATS:
            raise InvalidArgument(f"unknown format {fmt[:40]!r}; expected one of {', '.join(FORMATS)}",
                                  field="format")
        if spec.recipients:
            raise InvalidArgument("recipients are for email channels", field="recipients")
        lang = spec.language or "en"
        if lang not in LANGUAGES:
            raise InvalidArgument("language must be en or id", field="language")
        return ChannelSpec(name=name, kind=WEBHOOK, url=validate_url(spec.url), format=fmt, language=lang)
    if spec.url:
        raise InvalidArgument("url is for webhook channels", field="url")
    if not spec.recipients:
        raise InvalidArgument("an email channel needs at least one recipient", field="recipients")
    if len(spec.recipients) > MAX_RECIPIENTS:
        raise InvalidArgument(f"at most {MAX_RECIPIENTS} recipients", field="recipients")
    recipients = tuple(dict.fromkeys(validate_email(r) for r in spec.recipients))
    lang = spec.language or "en"
    if lang not in LANGUAGES:
        raise InvalidArgument("language must be en or id", field="language")
    return ChannelSpec(name=name, kind=EMAIL, recipients=recipients, language=lang)


def literal_address(url: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a URL names literally (``http://10.0.0.1/``), or None for a hostname."""
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# -- retries ------------------------------------------------------------------------------------------


def backoff_s(failures: int, *, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """The wait before the next attempt after ``failures`` failed ones (1, 2, ...): exponential,
    capped, with "equal jitter" (uniform in the upper half) so that receivers coming back from an
    outage are not hit by every sender at once, yet a retry never comes almost immediately."""
    ceiling = min(cap_s, base_s * 2.0 ** max(0, failures - 1))
    r: float = (rng or random.Random()).random()
    return ceiling / 2 + r * ceiling / 2


# -- rendering ----------------------------------------------------------------------------------------

_LABELS = {
    "en": {"severity": "Severity", "links": "Links", "footer": "Sent by Dengar.",
           "info": "info", "warning": "warning", "critical": "critical"},
    "id": {"severity": "Tingkat", "links": "Tautan", "footer": "Dikirim oleh Dengar.",
           "info": "informasi", "warning": "peringatan", "critical": "kritis"},
}
# Display names of well-known link keys in emails (the keys stay as they are in webhook payloads).
_LINK_NAMES = {"id": {"mentions": "sebutan", "alert": "peringatan", "brief": "ringkasan"}}


def _link_name(name: str, language: str) -> str:
    return _LINK_NAMES.get(language, {}).get(name, name)


def _pick(texts: Mapping[str, str], language: str) -> str:
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")


def webhook_body(n: Notification, delivery_id: str, fmt: str, language: str = "en") -> bytes:
    """The exact bytes POSTed (and signed) for a notification."""
    doc: dict[str, Any]
    if fmt == FORMAT_SLACK:
        title, text = _pick(n.title, language), _pick(n.text, language)
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000] or " "}},
        ]
        if n.links:
            blocks.append({"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"<{url}|{name}>"} for name, url in list(n.links.items())[:10]]})
        doc = {"text": f"{title}\n{text}", "blocks": blocks}
    else:
        doc = {"id": delivery_id, "type": n.kind, "key": n.key, "tenant_id": n.tenant_id,
               "severity": n.severity, "created_at": n.created_at.isoformat(),
               "title": dict(n.title), "text": dict(n.text), "links": dict(n.links),
               "data": dict(n.payload)}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def render_email(n: Notification, language: str) -> Email:
    labels = _LABELS.get(language, _LABELS["en"])
    title, text = _pick(n.title, language), _pick(n.text, language)
    severity = labels.get(n.severity, n.severity)
    prefix = "" if n.severity == "info" else f"[{severity.upper()}] "
    lines = [title, "", text, "", f"{labels['severity']}: {severity}"]
    if n.links:
        lines += ["", labels["links"] + ":"] + [f"- {_link_name(name, language)}: {url}"
                                                for name, url in n.links.items()]
    lines += ["", "--", labels["footer"]]
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())
    links = "".join(f'<li><a href="{html.escape(url, quote=True)}">{html.escape(_link_name(name, language))}'
                    "</a></li>" for name, url in n.links.items())
    body_html = (f'<!doctype html><html lang="{language}"><body>'
                 f"<h2>{html.escape(title)}</h2>{paragraphs}"
                 f"<p><strong>{html.escape(labels['severity'])}:</strong> {html.escape(severity)}</p>"
                 + (f"<p>{html.escape(labels['links'])}:</p><ul>{links}</ul>" if links else "")
                 + f"<hr><p><small>{html.escape(labels['footer'])}</small></p></body></html>")
    # Header injection: a subject is one line.
    subject = " ".join((prefix + title).split())[:200]
    return Email(subject=subject, text="\n".join(lines) + "\n", html=body_html)


def check_channel_ids(ids: Sequence[str]) -> tuple[str, ...]:
    if not ids:
        raise InvalidArgument("at least one channel id is needed", field="channel_ids")
    if len(ids) > 20:
        raise InvalidArgument("at most 20 channels", field="channel_ids")
    return tuple(dict.fromkeys(ids))
