"""The local runner's restart policy: CrashLoopBackOff-like delays, a reset after a healthy run, and
giving up on a crash loop with the log tail; driven with a fake clock over real child processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dengar_cli.supervise import CrashLoop, CrashLoopError, RestartPolicy, Supervisor


def test_the_delay_doubles_up_to_the_cap() -> None:
    loop = CrashLoop(RestartPolicy(base_s=1, cap_s=30, max_crashes=100, window_s=1e9, reset_after_s=1e9))
    delays = []
    now = 0.0
    for _ in range(8):
        loop.started(now)
        delays.append(loop.crashed(now + 1))
        now += 2
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_healthy_run_resets_the_back_off() -> None:
    loop = CrashLoop(RestartPolicy(base_s=1, reset_after_s=60, max_crashes=100))
    loop.started(0)
    assert loop.crashed(1) == 1
    loop.started(2)
    assert loop.crashed(3) == 2
    loop.started(4)
    assert loop.crashed(4 + 59) == 4  # not up long enough
    loop.started(70)
    assert loop.crashed(70 + 60) == 1


def test_it_gives_up_after_max_crashes_within_the_window_only() -> None:
    loop = CrashLoop(RestartPolicy(max_crashes=3, window_s=100, reset_after_s=1e9))
    assert loop.crashed(0) is not None
    assert loop.crashed(50) is not None
    assert loop.crashed(120) is not None  # the first one is out of the window
    assert loop.crashed(130) is None


class FakePlatform:
    """The part of Platform the supervisor uses, over real processes (``sleep``)."""

    def __init__(self, tmp: Path, names: tuple[str, ...]) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.spawned: list[str] = []
        self.crash_on_start: set[str] = set()
        for n in names:
            self.log_path(n).write_text(f"{n} line 1\n{n} last words\n")
            self.procs[n] = self._spawn(n)

    def _spawn(self, name: str) -> subprocess.Popen[bytes]:
        code = "raise SystemExit(3)" if name in self.crash_on_start else "import time; time.sleep(120)"
        return subprocess.Popen([sys.executable, "-c", code])

    def process_names(self) -> list[str]:
        return list(self.procs)

    def exit_code(self, name: str) -> int | None:
        return self.procs[name].poll()

    def log_path(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    def respawn(self, name: str) -> None:
        self.spawned.append(name)
        self.procs[name] = self._spawn(name)

    def stop(self) -> None:
        for p in self.procs.values():
            p.kill()
            p.wait()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake(tmp_path: Path):
    p = FakePlatform(tmp_path, ("nats-server", "insights", "gateway"))
    try:
        yield p
    finally:
        p.stop()


def test_a_killed_process_is_restarted_after_its_back_off_and_the_rest_keeps_running(fake) -> None:
    clock = Clock()
    sup = Supervisor(fake, RestartPolicy(base_s=1), clock=clock)
    sup.poll()
    gateway = fake.procs["gateway"]
    fake.procs["insights"].send_signal(signal.SIGKILL)
    fake.procs["insights"].wait()
    sup.poll()
    assert fake.spawned == []  # waiting out the back-off
    clock.now += 1
    sup.poll()
    assert fake.spawned == ["insights"]
    assert fake.procs["insights"].poll() is None
    assert sup.restarts("insights") == 1
    assert fake.procs["gateway"] is gateway and gateway.poll() is None

    # Killed again soon after: twice the delay.
    fake.procs["insights"].kill()
    fake.procs["insights"].wait()
    clock.now += 1
    sup.poll()
    clock.now += 1.5
    sup.poll()
    assert fake.spawned == ["insights"]
    clock.now += 0.5
    sup.poll()
    assert fake.spawned == ["insights", "insights"]


def test_a_crash_loop_gives_up_with_the_log_tail(fake) -> None:
    clock = Clock()
    sup = Supervisor(fake, RestartPolicy(base_s=1, max_crashes=4, window_s=300), clock=clock)
    sup.poll()
    fake.crash_on_start.add("nats-server")
    fake.procs["nats-server"].kill()
    with pytest.raises(CrashLoopError) as err:
        for _ in range(200):
            fake.procs["nats-server"].wait()
            clock.now += 0.5
            sup.poll()
    assert err.value.name == "nats-server"
    assert fake.spawned == ["nats-server"] * 3
    assert "nats-server exited 4 times" in str(err.value) and "last words" in str(err.value)
    assert "exit code 3" in str(err.value)
    assert fake.procs["gateway"].poll() is None


def test_the_thread_reports_giving_up(fake) -> None:
    seen: list[CrashLoopError] = []
    fake.crash_on_start.add("gateway")
    sup = Supervisor(fake, RestartPolicy(base_s=0.01, max_crashes=3), on_give_up=seen.append)
    sup.start(interval=0.01)
    fake.procs["gateway"].kill()
    assert sup._thread is not None
    sup._thread.join(timeout=30)
    sup.stop()
    assert [e.name for e in seen] == ["gateway"] and sup.failure is seen[0]
