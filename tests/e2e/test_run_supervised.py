"""`dengar run` as a user runs it: a SIGKILLed service is restarted and the platform keeps serving;
a process in a crash loop stops the platform with its log tail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dengar_common.localinfra import free_port
from dengar_common.localstate import read_state

pytestmark = pytest.mark.e2e


def _wait(cond: Callable[[], Any], what: str, timeout: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (got := cond()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)
    return got


def _child(parent: int, marker: str) -> int | None:
    """The pid of ``parent``'s child process whose command line contains ``marker``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # After the parenthesised command name: the state, then the parent's pid.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z" and marker in cmdline:
            return int(entry.name)
    return None


def _ready(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    log = tmp_path / "run.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENGAR_")}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "dengar_cli", "run", "--no-demo", "--home",
                                 str(tmp_path / "home"), "--port", str(free_port())],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc, tmp_path / "home", log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the runner's children in /proc")
def test_dengar_run_restarts_a_killed_service_and_gives_up_on_a_crash_loop(runner) -> None:
    proc, home, log = runner
    state = _wait(lambda: read_state(home), "the platform to be up")
    _wait(lambda: "Press Ctrl-C to stop." in log.read_text(), "the runner's banner")

    insights = _child(proc.pid, "dengar_insights")
    assert insights is not None
    os.kill(insights, signal.SIGKILL)
    again = _wait(lambda: (pid := _child(proc.pid, "dengar_insights")) not in (None, insights) and pid,
                  "insights to be started again")
    assert again != insights
    _wait(lambda: (home / "run" / "insights.port").exists(), "insights to listen")
    _wait(lambda: _ready(state.api_url), "the platform to be ready again")
    assert proc.poll() is None
    assert "insights exited with code -9; restarting it in 1s (1 crash(es) in the last 300s; 5 stop" \
        in log.read_text()
    # The gateway reaches the restarted insights on the same port.
    key = (home / "demo-key").read_text().strip()
    r = httpx.get(f"{state.api_url}/v1/mentions", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert r.status_code == 200, r.text

    # nats-server killed as soon as it is back, five times in a row: a crash loop.
    for _ in range(5):
        if proc.poll() is not None:
            break
        pid = _wait(lambda: proc.poll() is not None or _child(proc.pid, "nats-server"), "nats-server")
        if pid is True:
            break
        os.kill(pid, signal.SIGKILL)
        _wait(lambda p=pid: proc.poll() is not None or _child(proc.pid, "nats-server") != p,
              "nats-server to be gone")
    assert proc.wait(120) == 1
    out = log.read_text()
    assert "nats-server exited 5 times within 300s (last exit code -9); giving up" in out
    assert out.count("giving up") == 1
    # The tail of nats-server's own log.  Which lines it holds depends on when the last start was
    # killed (before or after "Server is ready"), so it is compared with the log file itself.
    after = out.split("giving up")[1]
    nats_log = Path(after.split("Last lines of ", 1)[1].split(":\n", 1)[0])
    last_lines = nats_log.read_text(errors="replace").splitlines()[-5:]
    assert last_lines and all(line in after for line in last_lines), (last_lines, after)
    assert "[INF]" in after
    assert "Stopped." in out
    assert read_state(home) is None
