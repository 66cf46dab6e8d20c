"""`dengar run`'s feed progress: one bar on a terminal, a line per quarter elsewhere."""

from __future__ import annotations

import io

import pytest

from dengar_cli.run_local import Progress


def test_without_a_terminal_a_line_per_quarter(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(3000, "enriched and counted", tty=False)
    for done in range(0, 3001, 60):  # ~50 polls, as the old output printed a line for each
        progress.update_to(done)
    progress.update_to(3000)
    progress.close()
    assert capsys.readouterr().out.splitlines() == [
        f"  enriched and counted: {n}/3000 posts" for n in (780, 1500, 2280, 3000)]


def test_nothing_to_count_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(0, "enriched", tty=False)
    progress.update_to(0)
    progress.close()
    assert capsys.readouterr().out == ""


def test_on_a_terminal_one_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    progress = Progress(3000, "enriched", tty=True)
    for done in (100, 1500, 5000):  # never past the total
        progress.update_to(done)
    progress.close()
    text = out.getvalue()
    assert "3000/3000" in text and "posts" in text
    assert text.count("\n") == 1  # redrawn in place with \r, one line left behind
