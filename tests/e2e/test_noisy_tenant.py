"""End to end: one tenant's worst-case proximity queries and posts do not stall the collector for
another tenant (issue 12, finding 1).

Tenant A listens with ``(aa OR aa OR ...) NEAR/0 (bb OR ...)`` and a few dozen distinct proximity
queries over the same words, and sends several requests of 40,000-character posts of repeated words
(each post spends its whole matching budget; before the fix, each took the collector's event loop
for minutes). Meanwhile tenant B sends ordinary posts: each request
must be answered promptly and every post must become queryable, tagged with B's query, within the
usual e2e waits. A's posts are not dropped either: they are stored, without the queries whose answer
ran out of budget, and the collector logs that they ran out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dengar_cli.platform import Platform

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC).replace(microsecond=0)
ATTACK = "(" + " OR ".join(["aa"] * 8) + ") NEAR/0 (" + " OR ".join(["bb"] * 8) + ")"
# Distinct queries share nothing, so every one costs its own merge over the long post.
PROXIMITY = [f'("aa bb" OR aa) ONEAR/{d} (bb OR "bb aa" OR x{d})' for d in range(1, 40)]
A_REQUESTS = 3
A_POSTS_PER_REQUEST = 6
B_POSTS = 12


def _attack_text(i: int) -> str:
    # 40,000 characters (the most a post may have): a run of "aa" then a run of "bb", so that the
    # only adjacent pair is in the middle (the old matcher's worst case: ~40 s per post and query).
    text = " ".join(["aa"] * (6_666 - i) + ["bb"] * (6_666 + i))
    assert 39_990 < len(text) <= 40_000
    return text


def _post(external_id: str, text: str) -> dict[str, str]:
    return {"platform": "x", "external_id": external_id, "text": text,
            "created_at": (NOW - timedelta(minutes=10)).isoformat()}


def _ids(c: httpx.Client, query_id: str | None = None) -> set[str]:
    params: dict[str, str | int] = {"limit": 200, "from": (NOW - timedelta(days=1)).isoformat(),
                                    "to": (NOW + timedelta(days=1)).isoformat()}
    if query_id:
        params["query_id"] = query_id
    r = c.get("/v1/mentions", params=params)
    assert r.status_code == 200, r.text
    return {m["external_id"] for m in r.json()["data"]}


def _wait(what: str, check: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    value: object = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}: last {value!r}")


def test_a_noisy_tenant_does_not_stall_another(
        platform: Platform, new_tenant: Callable[[str, str], str],
        api: Callable[[str], httpx.Client]) -> None:
    key_a = new_tenant("Noisy", "noisy")
    key_b = new_tenant("Quiet", "quiet")
    with api(key_a) as a, api(key_b) as b:
        for i, expression in enumerate([ATTACK, *PROXIMITY]):
            r = a.post("/v1/queries", json={"name": f"near {i}", "role": "topic", "expression": expression})
            assert r.status_code == 201, r.text
        r = b.post("/v1/queries", json={"name": "kopi", "role": "brand", "expression": "kopi"})
        assert r.status_code == 201, r.text
        b_query = r.json()["id"]

        a_statuses: list[int] = []

        def flood() -> None:
            with api(key_a) as c:
                for n in range(A_REQUESTS):
                    posts = [_post(f"a-{n}-{i}", _attack_text(n * A_POSTS_PER_REQUEST + i))
                             for i in range(A_POSTS_PER_REQUEST)]
                    a_statuses.append(c.post("/v1/posts", json={"posts": posts}).status_code)

        noisy = threading.Thread(target=flood)
        noisy.start()
        b_latencies = []
        for i in range(B_POSTS):
            t0 = time.monotonic()
            r = b.post("/v1/posts", json={"posts": [_post(f"b-{i}", f"Kopi susu pagi ini enak sekali {i}")]})
            b_latencies.append(time.monotonic() - t0)
            assert r.status_code == 202, r.text
            time.sleep(0.25)
        # B's posts become queryable, tagged with B's query, within the usual waits (they share the
        # NLP stage with A's long posts, so the wait allows for a loaded machine).
        expected = {f"b-{i}" for i in range(B_POSTS)}
        _wait("tenant B's posts", lambda: _ids(b, b_query) >= expected, timeout=150)
        noisy.join(timeout=240)
        assert not noisy.is_alive()

        # Before the fix one such request held the collector's event loop for minutes (B's next
        # request got a 504); now every request of B is answered while A's posts are being matched.
        assert max(b_latencies) < 5.0, b_latencies
        assert a_statuses == [202] * A_REQUESTS, a_statuses
        # A's posts are stored, not dropped: the matching budget only leaves queries unmatched.
        expected_a = {f"a-{n}-{i}" for n in range(A_REQUESTS) for i in range(A_POSTS_PER_REQUEST)}
        _wait("tenant A's posts", lambda: _ids(a) >= expected_a, timeout=180)
        log = (platform.home / "logs" / "collector.log").read_text(errors="replace")
        assert "ran out of its matching budget" in log
        # Isolation as usual: neither sees the other's posts.
        assert not _ids(a) & expected and not _ids(b) & expected_a
