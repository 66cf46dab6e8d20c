"""Delivery channels: validation naming the field, signing as the collector verifies it, back-off,
rendering (Dengar JSON, Slack, email in English and Indonesian) and the SSRF refusals."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from dengar_collector.domain.webhook import SignatureError, verify
from dengar_common.errors import InvalidArgument
from dengar_common.http_safety import EgressConfig
from dengar_common.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, new_secret, signed_headers
from dengar_insights.adapters.senders import UrlCheck
from dengar_insights.domain.channels import (
    ChannelSpec,
    backoff_s,
    render_email,
    validate_spec,
    webhook_body,
)
from dengar_insights.domain.notification import Notification

NOTE = Notification(
    tenant_id="acme", key="alert:i1:firing", kind="alert.firing",
    title={"en": "Negative spike on Refunds", "id": "Lonjakan negatif pada Refund"},
    text={"en": "Negative mentions tripled in the last hour.",
          "id": "Sebutan negatif naik tiga kali lipat dalam satu jam terakhir."},
    payload={"rule_id": "r1", "value": 42}, created_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
    severity="critical", links={"mentions": "https://dengar.example/v1/mentions?sentiment=negative"})


def test_outbound_signature_verifies_with_the_collectors_inbound_check() -> None:
    secret = new_secret()
    body = webhook_body(NOTE, "d1", "dengar")
    headers = signed_headers(secret, body, now=1_767_225_600.4)
    assert headers[TIMESTAMP_HEADER] == "1767225600"
    verify(secret, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body, now=1_767_225_610,
           tolerance_s=300)
    with pytest.raises(SignatureError):
        verify(secret, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body + b" ", now=1_767_225_610,
               tolerance_s=300)
    with pytest.raises(SignatureError):
        verify(new_secret(), headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body, now=1_767_225_610,
               tolerance_s=300)


def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    rng = random.Random(7)
    for failures, ceiling in [(1, 5), (2, 10), (3, 20), (4, 40), (10, 100), (30, 100)]:
        waits = [backoff_s(failures, base_s=5, cap_s=100, rng=rng) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert max(waits) - min(waits) > ceiling / 4  # jittered, not fixed


def test_dengar_payload_carries_the_notification() -> None:
    doc = json.loads(webhook_body(NOTE, "d1", "dengar"))
    assert doc["id"] == "d1" and doc["type"] == "alert.firing" and doc["key"] == "alert:i1:firing"
    assert doc["title"]["id"] == "Lonjakan negatif pada Refund"
    assert doc["data"] == {"rule_id": "r1", "value": 42} and doc["severity"] == "critical"


def test_slack_payload_is_an_incoming_webhook_body_in_the_channel_language() -> None:
    doc = json.loads(webhook_body(NOTE, "d1", "slack", "id"))
    assert set(doc) == {"text", "blocks"}
    assert doc["text"].startswith("Lonjakan negatif pada Refund")
    assert doc["blocks"][0] == {"type": "header",
                                "text": {"type": "plain_text", "text": "Lonjakan negatif pada Refund"}}
    assert doc["blocks"][1]["text"]["type"] == "mrkdwn"
    assert "<https://dengar.example/v1/mentions?sentiment=negative|mentions>" in json.dumps(doc["blocks"])


def test_email_is_rendered_in_english_and_indonesian() -> None:
    en, id_ = render_email(NOTE, "en"), render_email(NOTE, "id")
    assert en.subject == "[CRITICAL] Negative spike on Refunds"
    assert "Severity: critical" in en.text and "Sent by Dengar." in en.text
    assert id_.subject == "[KRITIS] Lonjakan negatif pada Refund"
    assert "Sebutan negatif naik tiga kali lipat" in id_.text and "Tingkat: kritis" in id_.text
    assert "Dikirim oleh Dengar." in id_.text
    assert '<html lang="id">' in id_.html and "<h2>Lonjakan negatif pada Refund</h2>" in id_.html


def test_email_html_escapes_and_subject_is_one_line() -> None:
    n = Notification(tenant_id="acme", key="k", kind="digest", title={"en": "a\r\nBcc: x@y.z <b>"},
                     text={"en": "<script>x</script>"}, payload={}, created_at=NOTE.created_at)
    mail = render_email(n, "en")
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html


@pytest.mark.parametrize(("spec", "field"), [
    (ChannelSpec(name="x", kind="pager"), "kind"),
    (ChannelSpec(name="", kind="webhook", url="https://example.com/h"), "name"),
    (ChannelSpec(name="x", kind="webhook", url="ftp://example.com/h"), "url"),
    (ChannelSpec(name="x", kind="webhook", url="https://"), "url"),
    (ChannelSpec(name="x", kind="webhook", url="https://u:p@example.com/"), "url"),
    (ChannelSpec(name="x", kind="webhook", url="https://example.com/", format="teams"), "format"),
    (ChannelSpec(name="x", kind="email"), "recipients"),
    (ChannelSpec(name="x", kind="email", recipients=("not-an-address",)), "recipients"),
    (ChannelSpec(name="x", kind="email", recipients=("a@b.co\r\nBcc: c@d.co",)), "recipients"),
    (ChannelSpec(name="x", kind="email", recipients=("a@b.co",), language="fr"), "language"),
])
def test_invalid_specs_name_the_field(spec: ChannelSpec, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_spec(spec)
    assert info.value.field == field


def test_valid_specs_are_normalised() -> None:
    web = validate_spec(ChannelSpec(name=" Ops ", kind="webhook", url="https://hooks.example.com/x"))
    assert (web.name, web.format, web.language) == ("Ops", "dengar", "en")
    mail = validate_spec(ChannelSpec(name="PR", kind="email", recipients=("a@b.co", "a@b.co", "c@d.id"),
                                     language="id"))
    assert mail.recipients == ("a@b.co", "c@d.id")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/h", "http://10.1.2.3/h", "http://169.254.169.254/",
                                 "http://[::1]/h", "http://[::ffff:192.168.1.1]/h", "http://0.0.0.0/"])
def test_non_public_literal_targets_are_refused_by_default(url: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        UrlCheck(EgressConfig().policy())(url)
    assert info.value.field == "url"


def test_private_targets_pass_when_configured_but_metadata_never() -> None:
    check = UrlCheck(EgressConfig(allow_private=True).policy())
    check("http://127.0.0.1:8080/h")
    check("https://hooks.example.com/h")  # names are vetted at connect time, on every address
    with pytest.raises(InvalidArgument):
        check("http://169.254.169.254/latest/meta-data")
