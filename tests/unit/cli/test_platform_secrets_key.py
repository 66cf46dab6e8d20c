"""`make run` gives the collector a secrets key of its own, made once and kept private."""

from __future__ import annotations

import stat
from pathlib import Path

from dengar_cli.platform import Platform
from dengar_common.secrets import SecretBox, parse_keys


def test_the_key_is_made_once_readable_only_by_the_owner(tmp_path: Path) -> None:
    platform = Platform(home=tmp_path / "home")
    key = platform.secrets_key()
    path = tmp_path / "home" / "secrets.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert parse_keys(key) == [key] and SecretBox.from_setting(key).encrypts
    # Restarts reuse it: what the last run encrypted stays readable.
    assert Platform(home=tmp_path / "home").secrets_key() == key
    assert Platform(home=tmp_path / "other").secrets_key() != key
