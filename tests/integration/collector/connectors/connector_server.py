"""A small local HTTP server for connector tests: routes answered by Python callables, one-shot replies
queued in front of them (a 429, a 500), slow and streamed bodies, and a record of every request.

It runs ``http.server`` in a thread on 127.0.0.1 with an ephemeral port, so it is independent of the test's
event loop and needs nothing beyond the standard library.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "connectors"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before the status line (read time-outs).
    delay_s: float = 0.0
    # Send the body with chunked transfer encoding and no Content-Length, `chunk` bytes at a time,
    # pausing `drip_s` between chunks.
    chunked: bool = False
    chunk: int = 16 * 1024
    drip_s: float = 0.0

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(data).encode("utf-8"),
                   {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Seen], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: FixtureServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that abort on purpose (oversize bodies, time-outs) break the pipe; that is expected.
        pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        seen = Seen(self.command, split.path, query, {k.lower(): v for k, v in self.headers.items()}, body)
        reply = self.server.owner.dispatch(seen)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        no_body = self.command == "HEAD" or reply.status in (204, 304)
        if reply.chunked and not no_body:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(reply.body), reply.chunk):
                piece = reply.body[start:start + reply.chunk]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.flush()
                if reply.drip_s:
                    time.sleep(reply.drip_s)
            self.wfile.write(b"0\r\n\r\n")
            return
        if not no_body:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if not no_body:
            self.wfile.write(reply.body)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FixtureServer:
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Handler] = {}
        self._queued: dict[tuple[str, str], deque[Reply]] = {}
        self._lock = threading.Lock()
        self.requests: list[Seen] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.scheme = "http"

    # ------------------------------------------------------------------ configuration
    def route(self, method: str, path: str, handler: Handler | Reply) -> None:
        """Answer ``method path`` with ``handler(request)`` (or always the same reply)."""
        fn: Handler = (lambda _req, r=handler: r) if isinstance(handler, Reply) else handler
        with self._lock:
            self._routes[(method.upper(), path)] = fn

    def queue(self, method: str, path: str, *replies: Reply) -> None:
        """Serve these replies, one per request, before the route's handler answers again."""
        with self._lock:
            self._queued.setdefault((method.upper(), path), deque()).extend(replies)

    def dispatch(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            queued = self._queued.get((seen.method, seen.path))
            if queued:
                return queued.popleft()
            handler = self._routes.get((seen.method, seen.path))
        if handler is None:
            return Reply.json({"error": "not found", "path": seen.path}, 404)
        return handler(seen)

    def seen(self, path: str | None = None, method: str | None = None) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if (path is None or r.path == path)
                    and (method is None or r.method == method.upper())]

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def host(self) -> str:
        assert self._httpd is not None, "server not started"
        return str(self._httpd.server_address[0])

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> FixtureServer:
        self._httpd = _Server((host, 0), _RequestHandler)
        self._httpd.owner = self
        self.scheme = "http"
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fixture-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
