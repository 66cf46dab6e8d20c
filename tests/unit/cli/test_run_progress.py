"""`dengar run`'s output: feed progress (one bar on a terminal, a line per quarter elsewhere) and the
closing Insights section."""

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


def test_a_poll_that_crosses_several_quarters_prints_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(3000, "enriched and counted", tty=False)
    progress.update_to(3000)  # `make run` again: the demo posts were counted by the first run
    progress.update_to(3000)
    progress.close()
    assert capsys.readouterr().out.splitlines() == ["  enriched and counted: 3000/3000 posts"]


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


def test_demo_period_is_the_week_in_whole_hours_up_to_the_next() -> None:
    from datetime import UTC, datetime, timedelta

    from dengar_cli.run_local import demo_period

    start, end = demo_period(datetime(2026, 12, 2, 19, 24, 5, tzinfo=UTC))
    assert end == datetime(2026, 12, 2, 20, tzinfo=UTC) and end - start == timedelta(days=7)


def test_insights_print_each_card_with_its_lead_drivers_once(capsys: pytest.CaptureFixture[str]) -> None:
    from dengar_cli.run_local import print_insights

    print_insights([{"title": "Spike in negative mentions of Kirimin", "narrative": "Negative mentions rose.",
                     "drivers": [{"kind": "hashtag", "value": "kirimindown"},
                                 {"kind": "term", "value": "kirimindown"},
                                 {"kind": "platform", "value": "x"},
                                 {"kind": "aspect", "value": "delivery:negative"}]}])
    print_insights([])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Insights")
    assert out[1:4] == ["  1. Spike in negative mentions of Kirimin", "     Negative mentions rose.",
                        "     drivers: 'kirimindown', delivery (negative)"]
    assert out[-1] == "  nothing unusual found"
