"""The architecture rules of `make test`, shown to bite.

`lint-imports` runs on the real tree in `make test` (`make importlint`). Here the same contracts from
pyproject.toml are run against a throw-away tree of look-alike packages that break each rule on
purpose, so a contract that silently stopped matching anything (a renamed package, a typo) fails
this test instead of passing forever.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
SERVICES = ("dengar_collector", "dengar_nlp", "dengar_insights", "dengar_gateway")


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(config["tool"]["importlinter"]["contracts"])


def _write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _violating_tree(root: Path) -> None:
    """Skeletons of every root package, each breaking the rules in one obvious way."""
    for pkg in ("dengar", "dengar/v1", "dengar_common", "dengar_cli"):
        _write(root / pkg / "__init__.py")
    _write(root / "dengar/v1/common_pb2.py")
    # libs importing a service
    _write(root / "dengar_cli/launcher.py", "import dengar_nlp.entrypoints\n")
    for svc in SERVICES:
        for sub in ("", "domain", "service_layer", "adapters", "entrypoints"):
            _write(root / svc / sub / "__init__.py" if sub else root / svc / "__init__.py")
        _write(root / svc / "bootstrap.py")
    # a service importing another service
    _write(root / "dengar_gateway/adapters/shortcut.py", "import dengar_insights.adapters\n")
    # domain importing an adapter, an I/O client and protobuf
    _write(root / "dengar_collector/domain/leaky.py",
           "import dengar_collector.adapters\nimport pymongo\nimport dengar.v1.common_pb2\n")
    _write(root / "dengar_nlp/domain/leaky.py", "import onnxruntime\n")
    _write(root / "dengar_insights/domain/leaky.py", "import grpc\n")
    _write(root / "dengar_gateway/domain/leaky.py", "import dengar_gateway.entrypoints\n")
    for svc in SERVICES:
        _write(root / svc / "service_layer/leaky.py", f"import {svc}.adapters\nimport nats\n")


def _run(pythonpath: Path | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=pythonpath or ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_real_tree_keeps_every_contract() -> None:
    result = _run(None)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_every_contract_catches_a_deliberate_violation(tmp_path: Path) -> None:
    pytest.importorskip("grimp")
    for external in ("pymongo", "nats", "grpc", "onnxruntime", "google", "fastapi", "httpx", "tokenizers"):
        _write(tmp_path / external / "__init__.py")
    _violating_tree(tmp_path)
    result = _run(tmp_path)
    assert result.returncode == 1, result.stdout[-4000:] + result.stderr[-2000:]
    report = " ".join(result.stdout.split())  # the report wraps long contract names
    for contract in _contracts():
        name = str(contract["name"])
        assert f"{name} BROKEN" in report, \
            f"{name!r} did not catch its violation:\n{report}"


def test_type_ignores_carry_a_code_and_a_reason() -> None:
    """`# type: ignore[code]  # why` only: a bare ignore hides every future error on that line."""
    bad = []
    for base in ("libs", "services", "tests", "bench", "scripts"):
        for path in (ROOT / base).rglob("*.py"):
            if "dengar/v1" in path.as_posix():
                continue  # generated
            for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if "type: ignore" not in line or "type: ignore" in line.split("#", 1)[0]:
                    continue
                if not re.search(r"type: ignore\[[a-z0-9_-]+(, *[a-z0-9_-]+)*\]\s+#\s*\S", line):
                    bad.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    assert not bad, "type: ignore without an error code and a reason:\n" + "\n".join(bad)


def test_the_type_checker_is_strict_and_fails_on_an_error(tmp_path: Path) -> None:
    """`make typecheck` runs mypy with pyproject's [tool.mypy]; the same settings reject this file."""
    bad = tmp_path / "leaky.py"
    bad.write_text("def untyped(x):\n    return x\n\n\ndef wrong() -> int:\n    return 'text'\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--no-incremental",
         str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[no-untyped-def]" in result.stdout and "[return-value]" in result.stdout, result.stdout
