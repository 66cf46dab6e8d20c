"""Where a local platform started by `make run` (`dengar run`) can be found.

`dengar run` writes ``<home>/platform.json`` once everything is up and removes it on a clean exit;
operator commands (`dengar tenants`, `dengar keys`, `dengar import`) read it when no explicit setting
(DENGAR_MONGO_URI, --api-url ...) is given. ``home`` is ``--home``, else ``$DENGAR_HOME``, else
``./.dengar``. A file whose process is gone (killed, crashed) counts as "not running".
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

HOME_ENV = "DENGAR_HOME"
DEFAULT_HOME = ".dengar"
STATE_FILE = "platform.json"


class PlatformNotRunning(RuntimeError):
    """No local platform to talk to and nothing configured; the message says what to do."""


@dataclass(frozen=True)
class LocalPlatform:
    """What a client needs to reach a running local platform."""

    pid: int
    mongo_uri: str
    nats_url: str
    api_url: str
    gateway_db: str
    started_at: str
    # gRPC addresses of the services that own tenant data (`dengar tenants delete|retention`);
    # empty in a file written by an older `dengar run`.
    collector_target: str = ""
    insights_target: str = ""


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """``home`` if given, else $DENGAR_HOME, else ./.dengar (relative to the working directory)."""
    if home:
        return Path(home)
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME)


def state_path(home: str | os.PathLike[str] | None = None) -> Path:
    return resolve_home(home) / STATE_FILE


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, just not ours to signal
        return True
    return True


def write_state(home: str | os.PathLike[str], state: LocalPlatform) -> Path:
    """Atomically (write, then rename), so a reader never sees half a file."""
    path = Path(home) / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def clear_state(home: str | os.PathLike[str], pid: int | None = None) -> None:
    """Remove the state file if it is ours (``pid``), so a second platform's file survives."""
    path = Path(home) / STATE_FILE
    if pid is not None:
        current = _load(path)
        if current is not None and current.pid != pid:
            return
    path.unlink(missing_ok=True)


def _load(path: Path) -> LocalPlatform | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return LocalPlatform(pid=int(raw["pid"]), mongo_uri=str(raw["mongo_uri"]),
                             nats_url=str(raw["nats_url"]), api_url=str(raw["api_url"]),
                             gateway_db=str(raw.get("gateway_db") or "dengar_gateway"),
                             started_at=str(raw.get("started_at") or ""),
                             collector_target=str(raw.get("collector_target") or ""),
                             insights_target=str(raw.get("insights_target") or ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_state(home: str | os.PathLike[str] | None = None) -> LocalPlatform | None:
    """The running local platform, or None (no file, unreadable file, or its process is gone)."""
    state = _load(state_path(home))
    if state is None or not pid_alive(state.pid):
        return None
    return state


def require_running(home: str | os.PathLike[str] | None = None, *, setting: str) -> LocalPlatform:
    """The running local platform, or PlatformNotRunning saying how to start one or what to set.

    ``setting`` names the variable that would make the platform unnecessary (DENGAR_MONGO_URI ...).
    """
    path = state_path(home)
    state = _load(path)
    if state is not None and pid_alive(state.pid):
        return state
    if state is not None:
        why = f"the platform recorded in {path} (pid {state.pid}) is no longer running"
    else:
        why = f"no local Dengar platform is running (no {path})"
    raise PlatformNotRunning(
        f"{why}. Start it with `make run` (or `dengar run`) in another terminal, "
        f"or set {setting} to reach a platform you run elsewhere "
        f"(or {HOME_ENV} / --home to the state directory of a local one).")
