"""Keeps a local platform running through crashes, the way Kubernetes restarts a pod's container.

A process of the platform (a service, nats-server or SecantusDB) that exits while the platform runs
is started again on the same port with the same data, after an exponential back-off (1 s, 2 s,
4 s ... capped at 30 s; the streak resets once a process has stayed up for a minute, as
CrashLoopBackOff does). The rest keeps running meanwhile. Only a crash loop — ``max_crashes``
exits of one process within ``window_s`` — makes the supervisor give up, with that process's log
tail, so that `dengar run` stops instead of restarting a broken service forever.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dengar_cli.platform import tail


class Supervised(Protocol):
    """What the supervisor watches (``dengar_cli.platform.Platform``): named processes it can
    poll and start again."""

    def process_names(self) -> list[str]: ...

    def exit_code(self, name: str) -> int | None: ...

    def log_path(self, name: str) -> Path: ...

    def respawn(self, name: str) -> object: ...

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestartPolicy:
    base_s: float = 1.0
    cap_s: float = 30.0
    # Up this long counts as healthy: the next crash starts the back-off from ``base_s`` again.
    reset_after_s: float = 60.0
    max_crashes: int = 5
    window_s: float = 300.0


@dataclass
class CrashLoop:
    """One process's crash history under a policy: how long to wait before the next start, or give up."""

    policy: RestartPolicy = field(default_factory=RestartPolicy)
    streak: int = 0
    up_since: float | None = None
    crashes: deque[float] = field(default_factory=deque)

    def started(self, now: float) -> None:
        self.up_since = now

    def crashed(self, now: float) -> float | None:
        """The delay before restarting, or None when this crash completes a crash loop."""
        if self.up_since is not None and now - self.up_since >= self.policy.reset_after_s:
            self.streak = 0
        self.up_since = None
        self.streak += 1
        self.crashes.append(now)
        while self.crashes and now - self.crashes[0] > self.policy.window_s:
            self.crashes.popleft()
        if len(self.crashes) >= self.policy.max_crashes:
            return None
        return float(min(self.policy.cap_s, self.policy.base_s * 2 ** (self.streak - 1)))


class CrashLoopError(RuntimeError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass
class _Watch:
    loop: CrashLoop
    due: float | None = None  # when a crashed process is to be started again
    restarts: int = 0


class Supervisor:
    """Watches every process of ``platform`` and restarts those that exit (see the module doc).

    ``poll`` does one round and is what the tests drive with a fake clock; ``start`` runs it on a
    thread until ``stop``. Stop the supervisor before stopping the platform, or it restarts what the
    shutdown ends.
    """

    def __init__(self, platform: Supervised, policy: RestartPolicy | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 on_give_up: Callable[[CrashLoopError], None] | None = None) -> None:
        self.platform = platform
        self.policy = policy or RestartPolicy()
        self._clock = clock
        self._on_give_up = on_give_up
        self._watches: dict[str, _Watch] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.failure: CrashLoopError | None = None

    def restarts(self, name: str) -> int:
        w = self._watches.get(name)
        return w.restarts if w else 0

    def _watch(self, name: str, now: float) -> _Watch:
        w = self._watches.get(name)
        if w is None:
            w = self._watches[name] = _Watch(CrashLoop(self.policy))
            w.loop.started(now)
        return w

    def poll(self) -> None:
        """One round: note the processes that exited, start those whose back-off has passed.
        Raises CrashLoopError when one is in a crash loop."""
        with self._lock:
            now = self._clock()
            for name in self.platform.process_names():
                w = self._watch(name, now)
                if w.due is not None:
                    if now >= w.due:
                        self._respawn(name, w, now)
                    continue
                code = self.platform.exit_code(name)
                if code is None:
                    continue
                delay = w.loop.crashed(now)
                if delay is None:
                    log = self.platform.log_path(name)
                    raise CrashLoopError(name, (
                        f"{name} exited {len(w.loop.crashes)} times within {self.policy.window_s:.0f}s "
                        f"(last exit code {code}); giving up. Last lines of {log}:\n{tail(log)}"))
                logger.warning("%s exited with code %s; restarting it in %.0fs (%d crash(es) in the last "
                               "%.0fs; %d stop the platform)", name, code, delay, len(w.loop.crashes),
                               self.policy.window_s, self.policy.max_crashes)
                w.due = now + delay

    def _respawn(self, name: str, w: _Watch, now: float) -> None:
        w.due = None
        w.restarts += 1
        try:
            self.platform.respawn(name)
        except Exception as exc:
            # Counts as another crash: the next round sees it exited (or never started).
            logger.warning("could not restart %s: %s", name, exc)
        else:
            logger.warning("restarted %s (restart %d)", name, w.restarts)
        w.loop.started(self._clock())

    def start(self, interval: float = 0.5) -> Supervisor:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval,), name="dengar-supervisor",
                                        daemon=True)
        self._thread.start()
        return self

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.poll()
            except CrashLoopError as exc:
                self.failure = exc
                if self._on_give_up is not None:
                    self._on_give_up(exc)
                else:
                    logger.error("%s", exc)
                return
            except Exception:
                logger.exception("supervisor round failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=120)
        # A restart in progress finishes under the lock before the platform's own shutdown begins.
        with self._lock:
            pass

