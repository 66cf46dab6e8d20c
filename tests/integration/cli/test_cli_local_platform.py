"""`dengar tenants create` finds the store of a running local platform through its platform.json."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dengar_cli.__main__ import main
from dengar_common.localinfra import LocalInfra
from dengar_common.localstate import LocalPlatform, write_state


def test_tenants_create_uses_the_platform_found_in_dengar_home(
        infra: LocalInfra, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for var in ("DENGAR_MONGO_URI", "DENGAR_GATEWAY__DB", "DENGAR_API_URL"):
        monkeypatch.delenv(var, raising=False)
    write_state(tmp_path, LocalPlatform(
        pid=os.getpid(), mongo_uri=infra.mongo_uri, nats_url=infra.nats_url, api_url="http://127.0.0.1:9",
        gateway_db=f"gw_{unique}", started_at=datetime.now(UTC).isoformat()))
    monkeypatch.setenv("DENGAR_HOME", str(tmp_path))

    assert main(["tenants", "create", "Acme"]) == 0
    out = capsys.readouterr().out
    assert "tenant_id: acme" in out and "api_key: dgr_" in out
    assert main(["tenants", "list"]) == 0
    assert capsys.readouterr().out.startswith("acme\tAcme\t")

    # An explicit setting wins over the state file: another database, so no tenant there yet.
    monkeypatch.setenv("DENGAR_MONGO_URI", infra.mongo_uri)
    monkeypatch.setenv("DENGAR_GATEWAY__DB", f"gw_{unique}_other")
    monkeypatch.setenv("DENGAR_HOME", str(tmp_path / "empty"))
    assert main(["tenants", "list"]) == 0
    assert capsys.readouterr().out == ""
