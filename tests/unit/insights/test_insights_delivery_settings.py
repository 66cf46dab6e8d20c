"""Malformed SMTP, delivery and egress settings stop insights at start-up, naming the variable."""

from __future__ import annotations

import pytest

from dengar_common.settings import ConfigError, load_settings
from dengar_insights.settings import InsightsSettings


@pytest.mark.parametrize(("env", "named"), [
    ({"DENGAR_INSIGHTS__SMTP__HOST": "smtp.example.com", "DENGAR_INSIGHTS__SMTP__FROM_ADDRESS": "nobody"},
     "smtp"),
    ({"DENGAR_INSIGHTS__SMTP__HOST": "smtp://smtp.example.com:25"}, "smtp.host"),
    ({"DENGAR_INSIGHTS__SMTP__PORT": "0"}, "smtp.port"),
    ({"DENGAR_INSIGHTS__SMTP__SECURITY": "tls13"}, "smtp.security"),
    ({"DENGAR_INSIGHTS__SMTP__USER": "me"}, "smtp"),
    ({"DENGAR_INSIGHTS__DELIVERIES__MAX_ATTEMPTS": "0"}, "deliveries.max_attempts"),
    ({"DENGAR_INSIGHTS__EGRESS__ALLOWED_CIDRS": '["10.0.0.0/33"]'}, "egress.allowed_cidrs"),
    ({"DENGAR_INSIGHTS__SECRETS_KEYS": "not-a-key"}, "secrets_keys"),
])
def test_malformed_settings_fail_fast(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                      named: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        load_settings(InsightsSettings)
    assert named in str(info.value).lower().replace("__", ".")
    assert "not-a-key" not in str(info.value)


def test_a_complete_smtp_configuration_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"HOST": "smtp.example.com", "PORT": "465", "SECURITY": "ssl", "USER": "dengar",
                       "PASSWORD": "s3cret", "FROM_ADDRESS": "alerts@example.com"}.items():
        monkeypatch.setenv(f"DENGAR_INSIGHTS__SMTP__{key}", value)
    smtp = load_settings(InsightsSettings).insights.smtp
    assert (smtp.host, smtp.port, smtp.security, smtp.from_address) == ("smtp.example.com", 465, "ssl",
                                                                        "alerts@example.com")
    assert "s3cret" not in repr(smtp)
