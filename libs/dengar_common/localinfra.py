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
import urllib.request
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


@dataclass(frozen=True)
class NatsClusterNode:
    """One node of a local JetStream cluster: its name, its route port and every node's route port."""

    cluster: str
    name: str
    route_port: int
    routes: tuple[int, ...]
    monitor_port: int


def start_nats(data_dir: Path, *, port: int | None = None, log_dir: Path | None = None,
               node: NatsClusterNode | None = None) -> ManagedProcess:
    port = port or free_port()
    store = data_dir / "jetstream"
    store.mkdir(parents=True, exist_ok=True)
    name = f"nats-server-{node.name}" if node else "nats-server"
    log_path = (log_dir or data_dir) / f"{name}.log"
    log = open(log_path, "ab")
    args = [_bin("nats-server"), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)]
    if node is not None:
        routes = ",".join(f"nats-route://127.0.0.1:{p}" for p in node.routes if p != node.route_port)
        args += ["-n", node.name, "--cluster_name", node.cluster,
                 "--cluster", f"nats://127.0.0.1:{node.route_port}", "--routes", routes,
                 "-m", str(node.monitor_port)]
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_port(port, proc=proc, what=name)
    return ManagedProcess(name, proc, port, log_path)


def wait_jetstream_healthy(nodes: list[tuple[ManagedProcess, NatsClusterNode]], *,
                           timeout: float = 60.0) -> None:
    """Wait until every running node reports JetStream healthy (a meta leader elected and the node
    current with it): before that, creating a stream fails."""
    deadline = time.monotonic() + timeout
    for proc, node in nodes:
        url = f"http://127.0.0.1:{node.monitor_port}/healthz"
        while True:
            if proc.proc.poll() is not None:
                raise RuntimeError(f"{proc.name} exited with code {proc.proc.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{proc.name}'s JetStream not healthy within {timeout}s")
            time.sleep(0.2)


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
    """nats-server and SecantusDB under one directory.

    ``nats_nodes`` > 1 runs a JetStream cluster of that many nodes instead of one server (named
    ``n1``, ``n2``...; ``nats`` is the first), and ``nats_url`` lists them all.
    """

    root: Path
    nats: ManagedProcess | None = None
    mongo: ManagedProcess | None = None
    extra: list[ManagedProcess] = field(default_factory=list)
    nats_nodes: int = 1
    cluster: list[ManagedProcess] = field(default_factory=list)
    _cluster_nodes: list[NatsClusterNode] = field(default_factory=list)

    @property
    def nats_url(self) -> str:
        if self.cluster:
            return ",".join(f"nats://127.0.0.1:{p.port}" for p in self.cluster)
        assert self.nats is not None
        return f"nats://127.0.0.1:{self.nats.port}"

    @property
    def stream_replicas(self) -> int:
        """The replication factor the streams should have on these servers (R3 at most)."""
        return min(3, self.nats_nodes)

    @property
    def mongo_uri(self) -> str:
        assert self.mongo is not None
        return f"mongodb://127.0.0.1:{self.mongo.port}/?directConnection=true"

    def start(self, *, nats_port: int | None = None, mongo_port: int | None = None) -> LocalInfra:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.nats_nodes > 1:
            self._start_cluster()
        else:
            self.nats = start_nats(self.root / "nats", port=nats_port, log_dir=self.root)
        self.mongo = start_secantus(self.root / "mongo", port=mongo_port, log_dir=self.root)
        return self

    def _start_cluster(self) -> None:
        route_ports = tuple(free_port() for _ in range(self.nats_nodes))
        self._cluster_nodes = [
            NatsClusterNode(cluster="dengar", name=f"n{i + 1}", route_port=rp, routes=route_ports,
                            monitor_port=free_port())
            for i, rp in enumerate(route_ports)]
        for node in self._cluster_nodes:
            self.cluster.append(start_nats(self.root / f"nats-{node.name}", log_dir=self.root, node=node))
        self.nats = self.cluster[0]
        wait_jetstream_healthy(list(zip(self.cluster, self._cluster_nodes, strict=True)))

    def kill_nats_node(self, index: int) -> ManagedProcess:
        """SIGKILL one node of the cluster: a node lost without warning."""
        node = self.cluster[index]
        node.proc.kill()
        node.proc.wait()
        return node

    def respawn_nats_node(self, index: int) -> ManagedProcess:
        """Start a cluster node again on its ports with its data; it catches up with the others."""
        old = self.cluster[index]
        old.stop()
        spec = self._cluster_nodes[index]
        self.cluster[index] = start_nats(self.root / f"nats-{spec.name}", port=old.port,
                                         log_dir=self.root, node=spec)
        if index == 0:
            self.nats = self.cluster[0]
        wait_jetstream_healthy([(self.cluster[index], spec)])
        return self.cluster[index]

    def respawn(self, name: str) -> ManagedProcess:
        """Start ``name`` (``nats-server`` or ``secantusd``) again on its port with its data, after it
        exited (or stop it first): what a restart of the server looks like to its clients. On a
        cluster, ``nats-server`` is its first node."""
        old = self.nats if name == "nats-server" else self.mongo if name == "secantusd" else None
        if old is None:
            raise KeyError(name)
        if name == "nats-server" and self.cluster:
            return self.respawn_nats_node(0)
        old.stop()
        if name == "nats-server":
            self.nats = start_nats(self.root / "nats", port=old.port, log_dir=self.root)
            return self.nats
        self.mongo = start_secantus(self.root / "mongo", port=old.port, log_dir=self.root)
        return self.mongo

    def stop(self) -> None:
        nats: list[ManagedProcess | None] = [*self.cluster] if self.cluster else [self.nats]
        for p in [*reversed(self.extra), self.mongo, *nats]:
            if p is not None:
                p.stop()
