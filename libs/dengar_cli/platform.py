"""Runs the whole platform locally as processes: nats-server, SecantusDB and the four services.

Used by `make run` (`dengar run`) and by the end-to-end tests, so that both exercise the same
start-up path a deployment uses: `python -m dengar_<service>` configured only by environment.
"""

from __future__ import annotations

import base64
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from dengar_common.localinfra import LocalInfra, ManagedProcess, free_port

logger = logging.getLogger(__name__)

SERVICES = ("collector", "nlp", "insights", "gateway")
# The servers LocalInfra runs, by their process names.
INFRA = ("nats-server", "secantusd")


def service_env(name: str, setting: str) -> str:
    """The environment variable of service ``name``'s own ``setting`` (``grpc_port``, ``port_file``):
    every service nests its own settings under its name (``DENGAR_NLP__GRPC_PORT``)."""
    return f"DENGAR_{name.upper()}__{setting.upper()}"


@dataclass
class ServiceProcess:
    name: str
    proc: subprocess.Popen[bytes]
    port_file: Path
    log_path: Path
    port: int = 0
    # The service this process runs; ``name`` differs from it for a further replica ("nlp-2").
    service: str = ""

    def __post_init__(self) -> None:
        self.service = self.service or self.name

    def wait_port(self, timeout: float = 120.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}:\n"
                                   + tail(self.log_path))
            if self.port_file.exists():
                self.port = int(self.port_file.read_text())
                return self.port
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not start within {timeout}s; see {self.log_path}")

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def wait(self, timeout: float = 30.0) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not exit in %ss; killing", self.name, timeout)
            self.kill()
            return self.proc.returncode


# Services whose own settings are nested under their name (DENGAR_<NAME>__<FIELD>).
def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Platform:
    """Infra plus the four services. ``env`` is extra environment for every service.

    ``replicas`` runs that many processes of collector, nlp and insights (named ``nlp``, ``nlp-2``...),
    sharing their durable consumers, and the gateway balances its calls over them; ``nats_nodes`` > 1
    runs a JetStream cluster with replicated streams instead of one nats-server.
    """

    home: Path
    gateway_port: int | None = None
    subject_root: str = "dengar"
    db_prefix: str = "dengar"
    env: dict[str, str] = field(default_factory=dict)
    replicas: int = 1
    nats_nodes: int = 1
    infra: LocalInfra | None = None
    procs: dict[str, ServiceProcess] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.procs['gateway'].port}"

    def base_env(self) -> dict[str, str]:
        assert self.infra is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("DENGAR_")}
        env.update({
            "DENGAR_MONGO_URI": self.infra.mongo_uri,
            "DENGAR_NATS_URL": self.infra.nats_url,
            "DENGAR_NATS_STREAM_REPLICAS": str(self.infra.stream_replicas),
            "DENGAR_SUBJECT_ROOT": self.subject_root,
            "DENGAR_COLLECTOR__DB": f"{self.db_prefix}_collector",
            "DENGAR_INSIGHTS__DB": f"{self.db_prefix}_insights",
            "DENGAR_GATEWAY__DB": f"{self.db_prefix}_gateway",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.env)
        return env

    def admin(self, *args: str) -> str:
        """Run the gateway's admin CLI (`dengar tenants ...`, `dengar keys ...`) against this platform."""
        env = self.base_env()
        # `dengar tenants delete|retention` ask the services that own the data.
        for dep in ("collector", "insights"):
            if target := self.target(dep):
                env[f"DENGAR_GATEWAY__{dep.upper()}_TARGET"] = target
        res = subprocess.run([sys.executable, "-m", "dengar_cli", *args],
                             env=env, capture_output=True, text=True, timeout=120, check=False)
        if res.returncode != 0:
            raise RuntimeError(f"dengar {' '.join(args)} failed: {res.stderr or res.stdout}")
        return res.stdout

    def secrets_key(self) -> str:
        """The key for secrets at rest (collector credentials, insights webhook secrets), made once in
        the home folder (0600) so that local runs encrypt too and a restart still reads what the last
        run stored."""
        path = self.home / "secrets.key"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            # The format of DENGAR_COLLECTOR__SECRETS_KEYS (a Fernet key).
            f.write(base64.urlsafe_b64encode(os.urandom(32)).decode("ascii") + "\n")
        logger.info("generated the collector's secrets key in %s", path)
        return path.read_text().strip()

    def start_infra(self) -> None:
        self.infra = LocalInfra(self.home, nats_nodes=self.nats_nodes).start()

    def instances(self, service: str) -> list[ServiceProcess]:
        """The running processes of ``service``, its first replica first."""
        return [sp for sp in self.procs.values() if sp.service == service]

    def target(self, service: str) -> str:
        """The gRPC target of ``service``: every replica's address (the gateway's channels balance
        over them, round robin); "" before any has a port."""
        ports = [sp.port for sp in self.instances(service) if sp.port]
        if len(ports) == 1:
            return f"127.0.0.1:{ports[0]}"
        return "ipv4:" + ",".join(f"127.0.0.1:{p}" for p in ports) if ports else ""

    def start_service(self, name: str, extra: dict[str, str] | None = None, *,
                      service: str | None = None) -> ServiceProcess:
        """Start process ``name`` of ``service`` (default: ``name``; another name is a further
        replica, e.g. ``nlp-2``)."""
        service = service or name
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        port_file = self.home / "run" / f"{name}.port"
        port_file.parent.mkdir(parents=True, exist_ok=True)
        port_file.unlink(missing_ok=True)
        env = self.base_env()
        env[service_env(service, "port_file")] = str(port_file)
        if service == "collector" and not env.get("DENGAR_COLLECTOR__SECRETS_KEYS", "").strip():
            # The collector refuses to start without a key: a local platform always has one.
            env["DENGAR_COLLECTOR__SECRETS_KEYS"] = self.secrets_key()
        if service == "gateway":
            env["DENGAR_GATEWAY__HTTP_PORT"] = str(self.gateway_port or free_port())
            for dep in ("collector", "nlp", "insights"):
                env[f"DENGAR_GATEWAY__{dep.upper()}_TARGET"] = self.target(dep)
        else:
            env.setdefault(service_env(service, "grpc_port"), "0")
        if service == "insights":
            # Outbound webhook secrets are sealed like the collector's; a local platform's webhook
            # receivers usually run on this machine, which the egress policy refuses by default.
            env.setdefault("DENGAR_INSIGHTS__SECRETS_KEYS", self.secrets_key())
            env.setdefault("DENGAR_INSIGHTS__EGRESS__ALLOW_PRIVATE", "true")
        if service == "insights" and "nlp" in self.procs:
            # Insights embeds the example posts of categories through NLP.
            env["DENGAR_INSIGHTS__NLP_TARGET"] = self.target("nlp")
        env.update(extra or {})
        log_path = logs / f"{name}.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", f"dengar_{service}"], env=env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        sp = ServiceProcess(name, proc, port_file, log_path, service=service)
        self.procs[name] = sp
        return sp

    def start(self) -> Platform:
        if self.infra is None:
            self.start_infra()
        for service in ("collector", "nlp"):
            self._start_replicas(service)
        # Insights needs NLP's port (see start_service).
        for sp in self.instances("nlp"):
            sp.wait_port()
        self._start_replicas("insights")
        for sp in [*self.instances("collector"), *self.instances("insights")]:
            sp.wait_port()
        self.start_service("gateway").wait_port()
        self.wait_ready()
        return self

    def _start_replicas(self, service: str) -> None:
        for n in range(self.replicas):
            self.start_service(service if n == 0 else f"{service}-{n + 1}", service=service)

    def restart(self, name: str) -> ServiceProcess:
        old = self.procs[name]
        if old.proc.poll() is None:
            old.terminate()
            old.wait()
        sp = self.respawn(name)
        assert isinstance(sp, ServiceProcess)
        sp.wait_port()
        return sp

    def process_names(self) -> list[str]:
        """Every process of this platform: the infra it started, then the services."""
        infra = [n for n in INFRA if self._infra_process(n) is not None]
        return [*infra, *self.procs]

    def _infra_process(self, name: str) -> ManagedProcess | None:
        if self.infra is None:
            return None
        return {"nats-server": self.infra.nats, "secantusd": self.infra.mongo}.get(name)

    def popen(self, name: str) -> subprocess.Popen[bytes]:
        infra = self._infra_process(name)
        return infra.proc if infra is not None else self.procs[name].proc

    def exit_code(self, name: str) -> int | None:
        return self.popen(name).poll()

    def log_path(self, name: str) -> Path:
        infra = self._infra_process(name)
        return infra.log_path if infra is not None else self.procs[name].log_path

    def respawn(self, name: str) -> ServiceProcess | ManagedProcess:
        """Start ``name`` again on the port it had, without waiting for it to be ready: clients keep
        their address, as behind a Kubernetes Service. (The infra servers are waited for.)"""
        if name in INFRA:
            assert self.infra is not None
            return self.infra.respawn(name)
        old = self.procs[name]
        old.kill()
        if old.service == "gateway":
            extra = {"DENGAR_GATEWAY__HTTP_PORT": str(old.port)} if old.port else None
        else:
            extra = {service_env(old.service, "grpc_port"): str(old.port)} if old.port else None
        sp = self.start_service(name, extra, service=old.service)
        # Known before the new process writes it: a respawn before that keeps the same port.
        sp.port = old.port
        return sp

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"{self.api_url}/readyz", timeout=2.0)
                if r.status_code == 200:
                    return
                last = r.text
            except httpx.HTTPError as exc:
                last = str(exc)
            for sp in self.procs.values():
                if sp.proc.poll() is not None:
                    raise RuntimeError(f"{sp.name} exited; log:\n{tail(sp.log_path)}")
            time.sleep(0.3)
        raise TimeoutError(f"gateway not ready within {timeout}s: {last}")

    def stop(self) -> None:
        # Gateway first so no new work arrives, then the pipeline front to back.
        for service in ("gateway", "collector", "nlp", "insights"):
            for sp in self.instances(service):
                sp.terminate()
        for sp in self.procs.values():
            sp.wait()
        if self.infra is not None:
            self.infra.stop()
