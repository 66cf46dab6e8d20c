"""A Server-Sent Events client of GET /v1/stream/mentions for the end-to-end tests."""

from __future__ import annotations

import queue
import threading
from typing import Any

import httpx

from dengar_cli.platform import Platform


class SseClient:
    """Reads a stream in a thread: events (with their id and type) land on a queue."""

    def __init__(self, platform: Platform, key: str, headers: dict[str, str] | None = None,
                 params: dict[str, Any] | None = None) -> None:
        self.events: queue.Queue[dict[str, str] | None] = queue.Queue()
        self._client = httpx.Client(base_url=platform.api_url, timeout=httpx.Timeout(10, read=60))
        self._headers = {"Authorization": f"Bearer {key}", **(headers or {})}
        self._params = params
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._client.stream("GET", "/v1/stream/mentions", headers=self._headers,
                                     params=self._params) as resp:
                assert resp.status_code == 200, resp.read()
                fields: dict[str, str] = {}
                for line in resp.iter_lines():
                    if line == "" and fields:
                        self.events.put(fields)
                        fields = {}
                    elif line and not line.startswith(":"):
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
        except Exception:  # closed by the test
            pass
        finally:
            self.events.put(None)

    def next(self, timeout: float = 60) -> dict[str, str]:
        ev = self.events.get(timeout=timeout)
        assert ev is not None, "the stream ended"
        return ev

    def close(self) -> None:
        self._client.close()
