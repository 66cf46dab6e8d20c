"""Finding the platform `make run` started: DENGAR_HOME, --home, ./.dengar, stale files, nothing running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dengar_cli.__main__ import main
from dengar_common.localstate import (
    LocalPlatform,
    PlatformNotRunning,
    clear_state,
    read_state,
    require_running,
    resolve_home,
    state_path,
    write_state,
)


def _state(pid: int, **kw: str) -> LocalPlatform:
    values = dict(mongo_uri="mongodb://127.0.0.1:1", nats_url="nats://127.0.0.1:2",
                  api_url="http://127.0.0.1:3", gateway_db="gw", started_at="2026-12-02T00:00:00+00:00")
    values.update(kw)
    return LocalPlatform(pid=pid, **values)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("DENGAR_HOME", "DENGAR_MONGO_URI", "DENGAR_GATEWAY__DB", "DENGAR_API_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def test_home_is_the_option_then_the_environment_then_dot_dengar(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_home() == Path(".dengar")
    monkeypatch.setenv("DENGAR_HOME", "/srv/dengar")
    assert resolve_home() == Path("/srv/dengar")
    assert resolve_home("/opt/x") == Path("/opt/x")
    assert state_path("/opt/x") == Path("/opt/x/platform.json")


def test_written_state_is_read_back_while_its_process_lives(tmp_path: Path) -> None:
    state = _state(os.getpid())
    write_state(tmp_path / "home", state)
    assert read_state(tmp_path / "home") == state
    assert [p.name for p in (tmp_path / "home").iterdir()] == ["platform.json"]  # no temp file left
    assert require_running(tmp_path / "home", setting="X") == state


def test_a_state_file_whose_process_is_gone_counts_as_not_running(tmp_path: Path) -> None:
    pid = _dead_pid()
    write_state(tmp_path, _state(pid))
    assert read_state(tmp_path) is None
    with pytest.raises(PlatformNotRunning, match=rf"pid {pid}\) is no longer running.*make run"):
        require_running(tmp_path, setting="DENGAR_MONGO_URI")


def test_unreadable_state_counts_as_not_running(tmp_path: Path) -> None:
    (tmp_path / "platform.json").write_text("{not json")
    assert read_state(tmp_path) is None


def test_clear_state_leaves_another_platforms_file(tmp_path: Path) -> None:
    write_state(tmp_path, _state(os.getpid()))
    clear_state(tmp_path, pid=os.getpid() + 1)
    assert read_state(tmp_path) is not None
    clear_state(tmp_path, pid=os.getpid())
    assert not (tmp_path / "platform.json").exists()


@pytest.mark.parametrize("argv", [["tenants", "list"], ["keys", "list", "--tenant", "acme"],
                                  ["tenants", "create", "Acme"]])
def test_nothing_running_says_how_to_start_it_and_exits_2(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no local Dengar platform is running (no .dengar/platform.json)" in err
    assert "make run" in err and "dengar run" in err and "DENGAR_MONGO_URI" in err and "DENGAR_HOME" in err
    assert "Traceback" not in err


def test_home_option_environment_and_launcher_option_are_where_it_looks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tenants", "list", "--home", str(tmp_path / "a")]) == 2
    assert f"no {tmp_path / 'a' / 'platform.json'}" in capsys.readouterr().err
    assert main(["--home", str(tmp_path / "b"), "tenants", "list"]) == 2
    assert f"no {tmp_path / 'b' / 'platform.json'}" in capsys.readouterr().err
    monkeypatch.setenv("DENGAR_HOME", str(tmp_path / "c"))
    write_state(tmp_path / "c", _state(_dead_pid()))
    assert main(["keys", "revoke", "k1"]) == 2
    assert "is no longer running" in capsys.readouterr().err


def test_import_without_url_or_platform_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    posts = tmp_path / "p.jsonl"
    posts.write_text('{"text": "hi", "platform": "x", "created_at": "2026-12-01T10:00:00Z"}\n')
    assert main(["import", str(posts), "--api-key", "dgr_x", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "no local Dengar platform is running" in err and "DENGAR_API_URL" in err
    # A dry run needs no platform.
    assert main(["import", str(posts), "--dry-run"]) == 0
