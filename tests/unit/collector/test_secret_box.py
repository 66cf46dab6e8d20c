"""SecretBox: sealing source credentials at rest, key rotation, wrong keys, legacy plaintext."""

from __future__ import annotations

import pytest

from dengar_collector.adapters.source_store import from_doc, to_doc
from dengar_collector.settings import CollectorSettings
from dengar_common.secrets import (
    UNREADABLE_MESSAGE,
    SecretBox,
    SecretDecryptError,
    generate_key,
    parse_keys,
)
from dengar_common.settings import ConfigError, load_settings

OLD, NEW, OTHER = generate_key(), generate_key(), generate_key()
CREDS = {"access_token": "tok-3f9a-very-secret", "client_secret": "cs-77"}


def test_round_trip_hides_the_values() -> None:
    box = SecretBox([NEW])
    sealed = box.seal(CREDS, context="t/src/credentials")
    assert sealed["scheme"] == "fernet" and set(sealed) == {"scheme", "token"}
    assert not any(v in sealed["token"] for v in CREDS.values())
    opened = box.open(sealed, context="t/src/credentials")
    assert opened.values == CREDS and opened.current
    assert box.decrypt(box.encrypt({}, context="c"), context="c") == {}


def test_rotation_old_tokens_still_open_and_are_flagged_for_resealing() -> None:
    sealed = SecretBox([OLD]).seal(CREDS, context="c")
    rotated = SecretBox([NEW, OLD])
    opened = rotated.open(sealed, context="c")
    assert opened.values == CREDS and not opened.current
    resealed = rotated.seal(opened.values, context="c")
    # Once resealed the old key can go.
    assert SecretBox([NEW]).open(resealed, context="c") == type(opened)(CREDS, current=True)


@pytest.mark.parametrize("keys", [[OTHER], []], ids=["wrong key", "no key"])
def test_a_token_the_keys_cannot_open_fails_cleanly(keys: list[str]) -> None:
    sealed = SecretBox([OLD]).seal(CREDS, context="c")
    with pytest.raises(SecretDecryptError) as info:
        SecretBox(keys).open(sealed, context="c")
    assert str(info.value) == UNREADABLE_MESSAGE
    assert sealed["token"] not in repr(info.value) + info.value.reason


def test_a_token_copied_to_another_source_does_not_open() -> None:
    box = SecretBox([NEW])
    sealed = box.seal(CREDS, context="acme/src_a/credentials")
    with pytest.raises(SecretDecryptError, match="decrypted"):
        box.open(sealed, context="globex/src_b/credentials")


def test_plaintext_envelopes_open_and_are_stale_once_a_key_exists() -> None:
    plain = SecretBox().seal(CREDS, context="c")
    assert plain == {"scheme": "plain", "values": CREDS}
    assert SecretBox().open(plain, context="c").current
    opened = SecretBox([NEW]).open(plain, context="c")
    assert opened.values == CREDS and not opened.current
    with pytest.raises(SecretDecryptError):
        SecretBox([NEW]).open({"scheme": "rot13", "values": CREDS}, context="c")


def _legacy_doc() -> dict:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 30, tzinfo=UTC)
    return {"_id": "src_0123456789abcdef", "tenant_id": "acme", "name": "m", "kind": "mastodon",
            "config": {}, "interval_seconds": 300, "created_at": now, "updated_at": now,
            "credentials": dict(CREDS), "webhook_secret": "", "paused": False}


def test_documents_from_before_encryption_still_load() -> None:
    record, reason, stale = from_doc(_legacy_doc(), SecretBox([NEW]))
    assert (record.credentials, reason, stale, record.secrets_error) == (CREDS, "", True, "")
    assert from_doc(_legacy_doc(), SecretBox())[2] is False


def test_stored_documents_name_their_scheme_and_hold_no_value() -> None:
    record, _, _ = from_doc(_legacy_doc(), SecretBox())
    doc = to_doc(record, SecretBox([NEW]))
    assert "credentials" not in doc and doc["credentials_sealed"]["scheme"] == "fernet"
    assert doc["webhook_secret_sealed"] is None
    assert not any(v in repr(doc) for v in CREDS.values())
    back, reason, stale = from_doc(doc, SecretBox([OTHER, NEW]))
    assert (back.credentials, reason, stale) == (CREDS, "", True)
    broken, reason, _ = from_doc(doc, SecretBox([OTHER]))
    assert broken.credentials == {} and broken.secrets_error == UNREADABLE_MESSAGE
    assert reason.startswith("credentials: ") and doc["credentials_sealed"]["token"] not in reason


@pytest.mark.parametrize("raw,problem", [
    ("not base64!", "key 1 of 1 is not urlsafe base64"),
    ("c2hvcnQ=", "key 1 of 1 decodes to 5 bytes"),
    (f"{NEW},", "key 2 of 2 is empty"),
    (f"{NEW},{NEW}", "listed twice"),
])
def test_bad_keys_fail_at_start_up_naming_the_variable_not_the_key(raw: str, problem: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENGAR_COLLECTOR__SECRETS_KEYS", raw)
    with pytest.raises(ConfigError) as info:
        load_settings(CollectorSettings)
    assert "DENGAR_COLLECTOR__SECRETS_KEYS" in str(info.value) and problem in str(info.value)
    assert raw not in str(info.value)


def test_good_keys_load_primary_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENGAR_COLLECTOR__SECRETS_KEYS", f" {NEW} , {OLD}")
    settings = load_settings(CollectorSettings)
    assert parse_keys(settings.collector.secrets_keys.get_secret_value()) == [NEW, OLD]
    assert NEW not in repr(settings)
    assert parse_keys("") == [] and not SecretBox.from_setting(" ").encrypts


def test_no_key_outside_the_development_mode_fails_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DENGAR_COLLECTOR__SECRETS_KEYS", raising=False)
    monkeypatch.delenv("DENGAR_COLLECTOR__ALLOW_UNENCRYPTED_SECRETS", raising=False)
    with pytest.raises(ConfigError) as info:
        load_settings(CollectorSettings)
    assert "DENGAR_COLLECTOR__SECRETS_KEYS" in str(info.value)
    assert "DENGAR_COLLECTOR__ALLOW_UNENCRYPTED_SECRETS" in str(info.value)
    # The explicit development mode is the one way to run without a key.
    monkeypatch.setenv("DENGAR_COLLECTOR__ALLOW_UNENCRYPTED_SECRETS", "true")
    settings = load_settings(CollectorSettings)
    assert not SecretBox.from_setting(settings.collector.secrets_keys.get_secret_value()).encrypts
