"""End to end: the monitoring inbox through REST only. Inbox updates are visible to the same tenant
only, conflicting updates answer 409, and the export carries the workflow."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dengar_cli.platform import Platform

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC).replace(microsecond=0)


def _post(external_id: str, text: str, minutes: int) -> dict[str, Any]:
    return {"platform": "x", "external_id": external_id, "text": text, "lang": "en",
            "created_at": (NOW - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
            "author": {"id": f"a-{external_id}", "handle": f"user_{external_id}"}}


def _mentions(c: httpx.Client, n: int, timeout: float = 180) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = c.get("/v1/mentions", params={"limit": 200, "sort": "time"})
        assert r.status_code == 200, r.text
        if len(r.json()["data"]) >= n:
            return list(r.json()["data"])
        time.sleep(1.0)
    raise AssertionError(f"{n} mentions not stored within {timeout}s")


def test_inbox_updates_are_visible_to_the_same_tenant_only(
        platform: Platform, new_tenant: Callable[[str, str], str],
        api: Callable[[str], httpx.Client]) -> None:
    with api(new_tenant("Inbox Air", "inboxa")) as a, api(new_tenant("Inbox Bus", "inboxb")) as b:
        assert a.post("/v1/posts", json={"posts": [_post("ia0", "Where is my refund?", 2),
                                                   _post("ia1", "Great crew today", 1)]}).status_code == 202
        assert b.post("/v1/posts", json={"posts": [_post("ib0", "Lost my bag", 1)]}).status_code == 202
        first, _ = _mentions(a, 2)
        [theirs] = _mentions(b, 1)
        assert first["workflow"]["state"] == "open" and first["workflow"]["version"] == 0
        b_before = (b.get("/v1/mentions", params={"limit": 200}).json(), b.get("/v1/inbox/counts").json())

        url = f"/v1/mentions/{first['id']}/workflow"
        r = a.patch(url, headers={"If-Match": '"0"'}, json={"state": "in_progress", "assignee": "dina",
                                                           "tags": ["refund"], "note": "on it"})
        assert r.status_code == 200 and r.headers["etag"] == '"1"', r.text
        assert a.patch(url, headers={"If-Match": '"0"'}, json={"state": "resolved"}).status_code == 409
        assert a.patch(url, json={"state": "resolved", "version": 1}).status_code == 200

        # The other tenant can neither see nor change it, and its own inbox is untouched.
        assert b.get(f"/v1/mentions/{first['id']}").status_code == 404
        r = b.post("/v1/mentions/workflow:bulk", json={"ids": [first["id"]], "change": {"state": "ignored"}})
        assert (r.status_code, r.json()["updated"], r.json()["missing"]) == (200, [], [first["id"]]), r.text
        assert b.patch(url, json={"state": "ignored"}).status_code == 404
        assert b.get(f"/v1/mentions/{first['id']}/audit").status_code == 404
        assert b.get("/v1/mentions", params={"state": "resolved"}).json()["data"] == []
        assert b.get("/v1/inbox/counts").json() == {"open": 1, "in_progress": 0, "resolved": 0,
                                                    "ignored": 0, "total": 1}
        assert b.get(f"/v1/mentions/{theirs['id']}").json()["workflow"]["state"] == "open"
        assert (b.get("/v1/mentions", params={"limit": 200}).json(), b.get("/v1/inbox/counts").json()
                ) == b_before

        assert a.get("/v1/inbox/counts").json()["resolved"] == 1
        resolved = a.get("/v1/mentions", params={"state": "resolved", "tag": "refund"}).json()["data"]
        assert [m["id"] for m in resolved] == [first["id"]]
        trail = a.get(f"/v1/mentions/{first['id']}/audit").json()["data"]
        assert [e["field"] for e in trail] == ["state", "assignee", "tags", "note", "state"]
        lines = a.get("/v1/mentions/export", params={"format": "ndjson", "sort": "time"}).text.splitlines()
        states = [json.loads(line)["workflow"]["state"] for line in lines]
        assert states == ["resolved", "open"]
