"""End to end: alert rules through REST only. Posts that match a crisis-word rule make exactly
one firing alert, with those mentions as evidence; the other tenant sees neither rule nor alert.
With a webhook channel, the alert reaches a local receiver as exactly one signed delivery, also
when the same posts come again, while a live stream shows the mentions."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from e2e_sse import SseClient

from dengar_cli.platform import Platform

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC).replace(microsecond=0)


def _post(external_id: str, text: str) -> dict[str, Any]:
    return {"platform": "x", "external_id": external_id, "text": text, "lang": "id",
            "created_at": (NOW - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
            "author": {"id": f"a-{external_id}", "handle": f"user_{external_id}"}}


def test_crisis_words_fire_one_alert_per_incident(
        platform: Platform, new_tenant: Callable[[str, str], str],
        api: Callable[[str], httpx.Client]) -> None:
    with api(new_tenant("Alert Air", "alerta")) as a, api(new_tenant("Alert Bus", "alertb")) as b:
        r = a.post("/v1/alerts/rules", json={"name": "Crisis", "condition": "mention_match",
                                             "expression": "boikot OR penipuan", "severity": "critical"})
        assert r.status_code == 201, r.text
        rule = r.json()
        r = a.post("/v1/alerts/rules", json={"name": "Bad", "condition": "mention_match",
                                             "expression": "boikot AND ("})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "expression", r.text
        r = a.post("/v1/posts", json={"posts": [_post("c1", "Ayo boikot toko ini"),
                                                _post("c2", "Ini penipuan!"),
                                                _post("ok1", "Pengiriman cepat, mantap")]})
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 180
        alerts: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            alerts = a.get("/v1/alerts").json()["data"]
            if alerts and len(alerts[0]["evidence"]["mention_ids"]) >= 2:
                break
            time.sleep(1.0)
        [alert] = alerts
        assert (alert["rule_id"], alert["state"], alert["severity"]) == (rule["id"], "firing", "critical")
        mentions = a.get("/v1/mentions", params={"limit": 10}).json()["data"]
        crisis = {m["id"] for m in mentions if m["external_id"] in ("c1", "c2")}
        assert set(alert["evidence"]["mention_ids"]) == crisis
        assert a.get(f"/v1/alerts/{alert['id']}").json()["deliveries"] == []

        assert b.get("/v1/alerts").json()["data"] == []
        assert b.get("/v1/alerts/rules").json()["data"] == []
        assert b.get(f"/v1/alerts/{alert['id']}").status_code == 404
        assert b.delete(f"/v1/alerts/rules/{rule['id']}").status_code == 404


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint on loopback: every request's headers and body, in arrival order."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/dengar"

    def received(self) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _mention_events(stream: SseClient, n: int, timeout: float = 120) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        ev = stream.next(timeout=max(1.0, deadline - time.monotonic()))
        if ev["event"] == "mention":
            out.append(json.loads(ev["data"]))
    return out


def test_crisis_words_make_one_signed_delivery_and_reach_the_live_stream(
        platform: Platform, new_tenant: Callable[[str, str], str],
        api: Callable[[str], httpx.Client], receiver: Receiver) -> None:
    key = new_tenant("Alert Hook", "alerthook")
    with api(key) as a:
        r = a.post("/v1/alerts/channels", json={"name": "Ops hook", "kind": "webhook", "url": receiver.url})
        assert r.status_code == 201, r.text
        channel = r.json()
        secret = channel["secret"]
        r = a.post("/v1/alerts/rules", json={"name": "Crisis", "condition": "mention_match",
                                             "expression": "boikot OR penipuan", "severity": "critical",
                                             "channel_ids": [channel["id"]]})
        assert r.status_code == 201, r.text
        rule = r.json()
        everything = SseClient(platform, key)
        # The stream takes the filters of /v1/mentions, the inbox's included.
        fraud_open = SseClient(platform, key, params={"q": "penipuan", "state": "open"})
        try:
            assert everything.next()["event"] == fraud_open.next()["event"] == "open"
            posts = [_post("h1", "Ayo boikot toko ini"), _post("h2", "Ini penipuan!"),
                     _post("h3", "Pengiriman cepat, mantap")]
            assert a.post("/v1/posts", json={"posts": posts}).status_code == 202
            seen = _mention_events(everything, 3)
            assert sorted(m["external_id"] for m in seen) == ["h1", "h2", "h3"]
            assert [m["external_id"] for m in _mention_events(fraud_open, 1)] == ["h2"]

            deadline = time.monotonic() + 60
            while not receiver.received() and time.monotonic() < deadline:
                time.sleep(0.2)
            [(headers, body)] = receiver.received()
            timestamp = headers["x-dengar-timestamp"]
            mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers["x-dengar-signature"], f"sha256={mac}")
            assert abs(time.time() - int(timestamp)) < 300
            sent = json.loads(body)
            [alert] = a.get("/v1/alerts").json()["data"]
            assert (sent["type"], sent["tenant_id"], sent["severity"]) == ("alert.firing", "alerthook",
                                                                          "critical")
            assert (sent["data"]["id"], sent["data"]["rule_id"]) == (alert["id"], rule["id"])

            # The same posts again (a client retrying, a redelivery): no new incident, no second
            # delivery. A fresh marker post after them shows the pipeline went past them.
            assert a.post("/v1/posts", json={"posts": posts}).status_code == 202
            assert a.post("/v1/posts", json={"posts": [_post("h4", "Kurir ramah sekali")]}).status_code == 202
            later = _mention_events(everything, 1)
            assert [m["external_id"] for m in later] == ["h4"]
            time.sleep(3)  # several delivery polls
            assert len(receiver.received()) == 1
            [alert] = a.get("/v1/alerts").json()["data"]
            [delivery] = a.get(f"/v1/alerts/{alert['id']}").json()["deliveries"]
            assert (delivery["channel_id"], delivery["state"], len(delivery["attempts"])) == (
                channel["id"], "delivered", 1)
            assert delivery["attempts"][0]["status"] == 204
            assert [d["id"] for d in a.get("/v1/alerts/deliveries").json()["data"]] == [delivery["id"]]
        finally:
            everything.close()
            fraud_open.close()
