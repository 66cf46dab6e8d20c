"""Starts local nats-server and SecantusDB processes, for `make run` and the tests.

SecantusDB is GPL and is only ever run as a separate process speaking the MongoDB wire protocol;
nothing here imports it.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None,
                  what: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{what} did not listen on port {port} within {timeout}s")


def _bin(name: str) -> str:
    # Prefer the binary installed next to this interpreter (the project's virtualenv).
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found; install the 'local' extra (make install)")
    return found


@dataclass
class ManagedProcess:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in %ss; killing", self.name, timeout)
            self.proc.kill()
            self.proc.wait()


def start_nats(data_dir: Path, *, port: int | None = None, log_dir: Path | None = None) -> ManagedProcess:
    port = port or free_port()
    store = data_dir / "jetstream"
    store.mkdir(parents=True, exist_ok=True)
    log_path = (log_dir or data_dir) / "nats-server.log"
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [_bin("nats-server"), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    wait_for_port(port, proc=proc, what="nats-server")
    return ManagedProcess("nats-server", proc, port, log_path)


def start_secantus(data_dir: Path, *, port: int | None = None,
                   log_dir: Path | None = None) -> ManagedProcess:
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = (log_dir or data_dir.parent) / "secantusd.log"
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [_bin("secantusd-py"), "--host", "127.0.0.1", "--port", str(port),
         "--storage-path", str(data_dir), "--log-level", "WARNING"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    wait_for_port(port, proc=proc, what="secantusd", timeout=60)
    return ManagedProcess("secantusd", proc, port, log_path)


@dataclass
class LocalInfra:
    """nats-server and SecantusDB under one directory."""

    root: Path
    nats: ManagedProcess | None = None
    mongo: ManagedProcess | None = None
    extra: list[ManagedProcess] = field(default_factory=list)

    @property
    def nats_url(self) -> str:
        assert self.nats is not None
        return f"nats://127.0.0.1:{self.nats.port}"

    @property
    def mongo_uri(self) -> str:
        assert self.mongo is not None
        return f"mongodb://127.0.0.1:{self.mongo.port}/?directConnection=true"

    def start(self, *, nats_port: int | None = None, mongo_port: int | None = None) -> LocalInfra:
        self.root.mkdir(parents=True, exist_ok=True)
        self.nats = start_nats(self.root / "nats", port=nats_port, log_dir=self.root)
        self.mongo = start_secantus(self.root / "mongo", port=mongo_port, log_dir=self.root)
        return self

    def respawn(self, name: str) -> ManagedProcess:
        """Start ``name`` (``nats-server`` or ``secantusd``) again on its port with its data, after it
        exited (or stop it first): what a restart of the server looks like to its clients."""
        old = self.nats if name == "nats-server" else self.mongo if name == "secantusd" else None
        if old is None:
            raise KeyError(name)
        old.stop()
        if name == "nats-server":
            self.nats = start_nats(self.root / "nats", port=old.port, log_dir=self.root)
            return self.nats
        self.mongo = start_secantus(self.root / "mongo", port=old.port, log_dir=self.root)
        return self.mongo

    def stop(self) -> None:
        for p in [*reversed(self.extra), self.mongo, self.nats]:
            if p is not None:
                p.stop()
