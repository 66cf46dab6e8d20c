"""MongoDB client construction. Every service owns its database; documents carry tenant_id.

With ``DENGAR_STORE_STATS_DIR`` set, every client also counts its store commands (PyMongo command
monitoring) by collection and command: round trips, documents written (write statements sent: an
update of many documents is one), documents modified (as the store's replies count them: inserted,
updated or upserted, deleted) and the BSON bytes of the write commands sent. Each process rewrites
``<dir>/<app>-<pid>.json`` about once a second and at exit; ``bench/bench_pipeline.py`` reads them
to report store operations per post. Off by default: encoding every write command again costs CPU.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import bson
from pymongo import AsyncMongoClient, monitoring

STATS_DIR_ENV = "DENGAR_STORE_STATS_DIR"
_WRITE_DOCS = {"insert": "documents", "update": "updates", "delete": "deletes"}


class StoreStats(monitoring.CommandListener):
    """Counts the commands of one process's clients; thread-safe, cheap per command."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = defaultdict(
            lambda: {"commands": 0, "docs_written": 0, "docs_modified": 0, "bytes_sent": 0, "failed": 0})
        # Write commands in flight: request id -> their counters' key, for the reply's counts.
        self._writes: dict[int, str] = {}
        self._stop = threading.Event()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        cmd = event.command
        target = cmd.get(name)
        collection = target if isinstance(target, str) else "-"
        docs = 0
        sent = 0
        if name in _WRITE_DOCS or name == "findAndModify":
            docs = len(cmd.get(_WRITE_DOCS[name], ())) if name in _WRITE_DOCS else 1
            sent = len(bson.encode(cmd))
        key = f"{event.database_name}.{collection}|{name}"
        with self._lock:
            c = self._counts[key]
            c["commands"] += 1
            c["docs_written"] += docs
            c["bytes_sent"] += sent
            if sent:
                self._writes[event.request_id] = key

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        with self._lock:
            key = self._writes.pop(event.request_id, None)
            if key is None:
                return
            reply = event.reply
            if event.command_name == "update":
                n = int(reply.get("nModified", 0)) + len(reply.get("upserted") or ())
            elif event.command_name == "findAndModify":
                n = int((reply.get("lastErrorObject") or {}).get("n", 0))
            else:
                n = int(reply.get("n", 0))
            self._counts[key]["docs_modified"] += n

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        with self._lock:
            self._writes.pop(event.request_id, None)
            self._counts[f"{event.database_name}.-|{event.command_name}"]["failed"] += 1

    def dump(self) -> None:
        with self._lock:
            data = {k: dict(v) for k, v in self._counts.items()}
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "at": time.time(), "counts": data}),
                       encoding="utf-8")
        tmp.replace(self._path)

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.dump()
            except OSError:
                pass

    def start(self) -> None:
        threading.Thread(target=self._loop, name="store-stats", daemon=True).start()
        atexit.register(self.dump)


_stats: StoreStats | None = None
_stats_lock = threading.Lock()


def _store_stats(app_name: str) -> StoreStats | None:
    """The process's one listener when ``DENGAR_STORE_STATS_DIR`` is set (created on first use)."""
    global _stats
    folder = os.environ.get(STATS_DIR_ENV, "").strip()
    if not folder:
        return None
    with _stats_lock:
        if _stats is None:
            Path(folder).mkdir(parents=True, exist_ok=True)
            _stats = StoreStats(Path(folder) / f"{app_name}-{os.getpid()}.json")
            _stats.start()
        return _stats


def make_client(uri: str, *, app_name: str, **options: Any) -> AsyncMongoClient[dict[str, Any]]:
    """``options`` are more ``AsyncMongoClient`` keyword arguments (tests add command listeners)."""
    stats = _store_stats(app_name)
    if stats is not None:
        options["event_listeners"] = [*options.get("event_listeners", ()), stats]
    # tz_aware so that datetimes read back are UTC-aware, like the ones we write.
    return AsyncMongoClient(uri, appname=app_name, tz_aware=True, serverSelectionTimeoutMS=10_000,
                            **options)
