"""The wire side of deliveries: webhooks through the SSRF-safe HTTP client, email through SMTP."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from dengar_common.errors import InvalidArgument
from dengar_common.http_safety import EgressPolicy, SafeHttpClient, parse_ip
from dengar_insights.domain.channels import Email, literal_address
from dengar_insights.settings import SmtpConfig

# Small: a receiver's answer is only logged by status.
MAX_RESPONSE_BYTES = 64 * 1024


class HttpWebhookSender:
    def __init__(self, client: SafeHttpClient) -> None:
        self._client = client

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
        async with asyncio.timeout(timeout_s):
            response = await self._client.request("POST", url, headers=headers, content=body,
                                                  max_bytes=MAX_RESPONSE_BYTES)
        return response.status_code


class UrlCheck:
    """Refuses a webhook URL whose literal address the egress policy refuses, when it is saved
    (names are checked on every resolved address at send time, which also defeats rebinding)."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy

    def __call__(self, url: str) -> None:
        ip = literal_address(url)
        if ip is None:
            return
        reason = self._policy.refusal_reason(parse_ip(str(ip)))
        if reason:
            raise InvalidArgument(f"url points to a non-public address ({reason})", field="url",
                                  reason="non-public-target")


class SmtpEmailSender:
    """The standard library's smtplib, in a thread: one connection per message (digests and alerts
    are rare; a pool would hold connections the server drops anyway)."""

    def __init__(self, config: SmtpConfig) -> None:
        self._cfg = config

    @property
    def configured(self) -> bool:
        return bool(self._cfg.host)

    async def send(self, recipients: Sequence[str], email: Email, timeout_s: float) -> int:
        msg = EmailMessage()
        msg["Subject"] = email.subject
        msg["From"] = self._cfg.from_address
        msg["To"] = ", ".join(recipients)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=self._cfg.from_address.rpartition("@")[2] or None)
        msg.set_content(email.text)
        msg.add_alternative(email.html, subtype="html")
        return await asyncio.to_thread(self._send_sync, list(recipients), msg, timeout_s)

    def _send_sync(self, recipients: list[str], msg: EmailMessage, timeout_s: float) -> int:
        cfg = self._cfg
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if cfg.security == "ssl":
            smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=timeout_s)
        with smtp:
            if cfg.security == "starttls":
                smtp.starttls(context=context)
            if cfg.user:
                smtp.login(cfg.user, cfg.password.get_secret_value())
            refused = smtp.send_message(msg, from_addr=cfg.from_address, to_addrs=recipients)
            if len(refused) == len(recipients):
                raise smtplib.SMTPRecipientsRefused(refused)
        return 250
