from __future__ import annotations

import pytest

from dengar_common.ids import is_valid_tenant_id, mention_id
from dengar_common.settings import CommonSettings, ConfigError, load_settings


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENGAR_SHUTDOWN_GRACE_S", "soon")
    with pytest.raises(ConfigError, match="DENGAR_SHUTDOWN_GRACE_S"):
        load_settings(CommonSettings)


def test_mention_id_is_stable_and_key_sensitive() -> None:
    a = mention_id("acme", "x", "1")
    assert a == mention_id("acme", "x", "1")
    assert a != mention_id("other", "x", "1")
    assert len(a) == 24


@pytest.mark.parametrize("tenant,ok", [("acme", True), ("a-b_9", True), ("", False),
                                        ("Acme", False), ("a.b", False), ("a*", False)])
def test_tenant_alphabet(tenant: str, ok: bool) -> None:
    assert is_valid_tenant_id(tenant) is ok
