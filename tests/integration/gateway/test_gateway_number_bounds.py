"""Numbers in request bodies beyond the proto field that carries them are the client's error: a
422 naming the field, never a 500 from encoding the backend request (found by the API fuzzer)."""

from __future__ import annotations

import pytest

HUGE = 2**70


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/v1/sources", {"name": "s", "kind": "rss", "interval_seconds": 2**40}, "interval_seconds"),
    ("PATCH", "/v1/sources/src_1", {"interval_seconds": 2**40}, "interval_seconds"),
    ("POST", "/v1/alerts/rules", {"name": "r", "condition": "mention_match", "expression": "x",
                                  "cooldown_s": 2**40}, "cooldown_s"),
    ("PATCH", "/v1/alerts/rules/ar_1", {"window_minutes": 2**40}, "window_minutes"),
    ("PATCH", "/v1/alerts/rules/ar_1", {"min_volume": -(2**40)}, "min_volume"),
    ("PATCH", "/v1/mentions/m1/workflow", {"state": "resolved", "version": HUGE}, "version"),
    ("POST", "/v1/mentions/m1/notes", {"text": "hi", "version": HUGE}, "version"),
])
async def test_out_of_range_numbers_are_422(gateway, problem, method: str, path: str, body: dict,
                                            field: str) -> None:
    key = await gateway.new_key("acme")
    resp = await gateway.client.request(method, path, json=body, headers=key.headers)
    doc = problem(resp, 422)
    assert [e["field"] for e in doc["errors"]] == [field]
