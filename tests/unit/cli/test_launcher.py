"""The `dengar` launcher: plugins from the dengar.cli entry-point group, loaded only when needed."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest

import dengar_cli.__main__ as launcher
from dengar_common.cliplugin import ENTRY_POINT_GROUP, Command

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("dengar_collector", "dengar_nlp", "dengar_insights", "dengar_gateway")


def test_the_services_register_their_commands() -> None:
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert found == {"analyze": "dengar_nlp.entrypoints.cli:COMMAND",
                     "tenants": "dengar_gateway.entrypoints.cli:TENANTS",
                     "keys": "dengar_gateway.entrypoints.cli:KEYS",
                     "export": "dengar_gateway.entrypoints.cli_export:EXPORT",
                     "sources": "dengar_collector.entrypoints.cli:COMMAND",
                     "channels": "dengar_insights.entrypoints.cli:COMMAND"}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        assert isinstance(ep.load(), Command)


def test_usage_lists_builtins_then_plugins_with_their_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert launcher.main(["--help"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines() if line.startswith("  ") and line.strip()
             and not line.startswith("   ")]
    assert names == ["run", "import", "analyze", "channels", "export", "keys", "sources", "tenants"]
    assert "analyze [FILE]" in out and "with the NLP models" in out
    assert "tenants create NAME|list" in out and "print its first API key" in out


def _plugin_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, body in {
        "dgr_plugin_a": '''
            from dengar_common.cliplugin import Command
            def _run(argv):
                print("a ran with", argv)
                return 3
            COMMAND = Command(_run, "does a", "X")
        ''',
        "dgr_plugin_b": '''
            def main(argv):
                """Does b.

                More text."""
                return 0
        ''',
        "dgr_plugin_broken": "raise ImportError('missing dependency')\n",
    }.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [EntryPoint("alpha", "dgr_plugin_a:COMMAND", ENTRY_POINT_GROUP),
           EntryPoint("beta", "dgr_plugin_b:main", ENTRY_POINT_GROUP),
           EntryPoint("broken", "dgr_plugin_broken:COMMAND", ENTRY_POINT_GROUP),
           EntryPoint("run", "dgr_plugin_b:main", ENTRY_POINT_GROUP)]
    monkeypatch.setattr(launcher, "entry_points", lambda group: [e for e in eps if e.group == group])
    for name in ("dgr_plugin_a", "dgr_plugin_b", "dgr_plugin_broken"):
        monkeypatch.delitem(sys.modules, name, raising=False)


def test_only_the_chosen_plugin_is_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    _plugin_modules(tmp_path, monkeypatch)
    assert launcher.main(["alpha", "x", "--y"]) == 3
    assert "a ran with ['x', '--y']" in capsys.readouterr().out
    assert "dgr_plugin_a" in sys.modules
    assert "dgr_plugin_b" not in sys.modules and "dgr_plugin_broken" not in sys.modules


def test_usage_survives_a_broken_plugin_and_builtins_cannot_be_shadowed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _plugin_modules(tmp_path, monkeypatch)
    assert launcher.main([]) == 0
    out = capsys.readouterr().out
    assert "alpha X" in out and "does a" in out
    assert "beta" in out and "Does b." in out and "More text" not in out
    assert "broken" in out and "unavailable: ImportError: missing dependency" in out
    assert launcher.discover()["run"].load() is launcher.BUILTINS["run"]
    assert launcher.main(["nope"]) == 2
    assert "unknown command 'nope'" in capsys.readouterr().err


def test_a_real_command_imports_no_other_service(tmp_path: Path) -> None:
    code = ("import sys; from dengar_cli.__main__ import main; "
            f"rc = main(['tenants', 'list', '--home', {str(tmp_path)!r}]); "
            "print(rc, sorted({m.split('.')[0] for m in sys.modules if m.startswith('dengar_')}))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin"}, check=True)
    assert res.stdout.split(" ", 1)[0] == "2"
    assert "dengar_gateway" in res.stdout and "dengar_nlp" not in res.stdout


def test_libs_import_no_service() -> None:
    offenders = []
    for path in (ROOT / "libs").rglob("*.py"):
        if "dengar/v1" in path.as_posix():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in SERVICES]
    assert offenders == []
