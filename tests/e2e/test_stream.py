"""End to end: a live SSE client of one tenant sees its newly posted mentions, never another's."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from e2e_sse import SseClient

from dengar_cli.platform import Platform

pytestmark = pytest.mark.e2e


def _post(c: httpx.Client, external_id: str, text: str) -> None:
    r = c.post("/v1/posts", json={"posts": [{
        "platform": "x", "external_id": external_id, "text": text,
        "created_at": datetime.now(UTC).isoformat()}]})
    assert r.status_code in (200, 202), r.text


def test_sse_client_sees_its_tenants_new_mentions_only(
        platform: Platform, new_tenant: Callable[[str, str], str],
        api: Callable[[str], httpx.Client]) -> None:
    key_a, key_b = new_tenant("Stream A", "streama"), new_tenant("Stream B", "streamb")
    run = uuid.uuid4().hex[:8]
    stream = SseClient(platform, key_a)
    try:
        opened = stream.next()
        assert opened["event"] == "open"
        with api(key_a) as a, api(key_b) as b:
            # B's first: in a single ordered stream a leak would show up before A's.
            _post(b, f"b-{run}", "Pengiriman telat lagi dari tenant B")
            _post(a, f"a1-{run}", "Delivery was late again, very annoying")
            _post(a, f"a2-{run}", "Love the new app, checkout is fast")
            seen: list[dict[str, Any]] = []
            ids: list[int] = []
            deadline = time.monotonic() + 90
            while len(seen) < 2 and time.monotonic() < deadline:
                ev = stream.next()
                assert ev["event"] == "mention", ev
                ids.append(int(ev["id"]))
                seen.append(json.loads(ev["data"]))
            assert sorted(m["external_id"] for m in seen) == sorted([f"a1-{run}", f"a2-{run}"])
            assert all(m["sentiment"]["label"] for m in seen)  # enriched before it is stored
            assert ids == sorted(ids) and ids[0] > int(opened["id"])
            # Resuming after the first position yields the second, and only A's.
            again = SseClient(platform, key_a, headers={"Last-Event-ID": str(ids[0])})
            try:
                again.next()
                ev = again.next()
                assert (ev["id"], json.loads(ev["data"])["external_id"]) == (
                    str(ids[1]), seen[1]["external_id"])
            finally:
                again.close()
            # B's own stream, resumed from before its post, sees B's mention and nothing of A's.
            b_stream = SseClient(platform, key_b, headers={"Last-Event-ID": opened["id"]})
            try:
                b_stream.next()
                ev = b_stream.next()
                assert json.loads(ev["data"])["external_id"] == f"b-{run}"
            finally:
                b_stream.close()
    finally:
        stream.close()
