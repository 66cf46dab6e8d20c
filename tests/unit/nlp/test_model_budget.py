"""The shipped models stay within the repository's size budget and match their model card."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MODELS = ROOT / "services" / "nlp" / "models"
CARD = MODELS / "README.md"
BUDGET_BYTES = 80 * 1000 * 1000  # 80 MB
# The card's file table: rows starting with a backticked path relative to services/nlp/models.
CARD_FILE_RE = re.compile(r"^\| `([^`]+)` \|", re.MULTILINE)


def committed_files() -> list[Path]:
    """Files under the models folder that git tracks or would add (untracked but not ignored).

    Outside a git checkout (an sdist, a container image) every file there counts.
    """
    git = shutil.which("git")
    if git is not None:
        proc = subprocess.run(
            [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", str(MODELS)],
            cwd=ROOT, capture_output=True, check=False,
        )
        if proc.returncode == 0:
            names = [n for n in proc.stdout.decode("utf-8", errors="surrogateescape").split("\0") if n]
            # --cached lists files deleted from the work tree too; those are not shipped.
            return sorted({ROOT / n for n in names if (ROOT / n).is_file()})
    return sorted(p for p in MODELS.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def test_models_within_budget() -> None:
    files = committed_files()
    assert files, f"no model files found under {MODELS}"
    total = sum(p.stat().st_size for p in files)
    biggest = sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:5]
    listing = ", ".join(f"{p.relative_to(MODELS)} {p.stat().st_size / 1e6:.1f} MB" for p in biggest)
    assert total <= BUDGET_BYTES, (
        f"models total {total / 1e6:.1f} MB > {BUDGET_BYTES / 1e6:.0f} MB; biggest: {listing}"
    )


def _card_files() -> list[str]:
    return sorted(set(CARD_FILE_RE.findall(CARD.read_text(encoding="utf-8"))))


def test_card_lists_existing_files() -> None:
    listed = _card_files()
    assert listed, "the model card names no model files"
    missing = [name for name in listed if not (MODELS / name).is_file()]
    assert not missing, f"model card lists files that do not exist: {missing}"


@pytest.mark.parametrize("suffix", [".onnx"])
def test_every_shipped_model_is_in_the_card(suffix: str) -> None:
    listed = set(_card_files())
    shipped = {p.relative_to(MODELS).as_posix() for p in committed_files() if p.suffix == suffix}
    unlisted = sorted(shipped - listed)
    assert not unlisted, f"model files missing from {CARD.relative_to(ROOT)}: {unlisted}"
