"""What every connector promises, checked against each platform's local stand-in: pagination that
resumes from a stored cursor with no gap and no duplicate, rate limits and server errors retried,
malformed items skipped with a reason, and authentication failures reported without the secret."""

from __future__ import annotations

import json
import logging

import pytest
from connector_fakes import FAST, HARNESSES, FakeClock, Harness
from connector_server import FixtureServer, Reply

from dengar_collector.adapters.connectors import FetchResult
from dengar_collector.adapters.connectors.base import AuthError
from dengar_common.http_safety import SafeHttpClient

PLATFORMS = sorted(HARNESSES)


@pytest.fixture(params=PLATFORMS)
def harness(request: pytest.FixtureRequest, server: FixtureServer, clock: FakeClock,
            http: SafeHttpClient) -> Harness:
    return HARNESSES[request.param](server, clock, http)


def ids(result: FetchResult) -> list[str]:
    return [p.external_id for p in result.posts]


def stored(cursor: dict) -> dict:
    """What a store gives back: the cursor after a JSON round trip."""
    return json.loads(json.dumps(cursor))


async def test_two_pages_then_resume_from_the_saved_cursor_without_gap_or_duplicate(harness: Harness) -> None:
    expected = harness.initial_ids() + harness.publish(harness.extra_initial)
    connector = harness.connector()
    first = await connector.fetch(None, limit=harness.limit)
    assert first.posts and first.has_more and not first.errors
    second = await connector.fetch(stored(first.next_cursor), limit=harness.limit)
    assert second.posts and not second.errors
    saved = stored(second.next_cursor)

    # The collector restarts; meanwhile new posts appear.
    expected += harness.publish(3)
    restarted = harness.connector()
    got = ids(first) + ids(second)
    cursor = saved
    for _ in range(20):
        result = await restarted.fetch(cursor, limit=harness.limit)
        assert not result.errors
        got += ids(result)
        cursor = stored(result.next_cursor)
        if not result.posts and not result.has_more:
            break
    else:
        pytest.fail("the connector never ran out of posts")
    duplicates = sorted({i for i in got if got.count(i) > 1})
    assert not duplicates, f"collected twice: {duplicates}"
    assert sorted(got) == sorted(expected)
    # Every post converts to the proto the ingest path takes.
    assert all(p.to_proto(source_id="src").platform for p in first.posts)


async def test_429_with_retry_after_is_waited_out_then_succeeds(harness: Harness, server: FixtureServer,
                                                                clock: FakeClock) -> None:
    server.queue("GET", harness.main_path, Reply.json({"error": "Too Many Requests"}, 429,
                                                      headers={"Retry-After": "7"}))
    result = await harness.connector().fetch(None, limit=harness.limit)
    assert result.posts
    assert clock.sleeps == [7.0]
    assert len(server.seen(harness.main_path)) == 2


async def test_500_is_retried_with_jittered_backoff_then_succeeds(harness: Harness, server: FixtureServer,
                                                                  clock: FakeClock) -> None:
    server.queue("GET", harness.main_path,
                 Reply(500, b"<html><body><h1>500 Internal Server Error</h1></body></html>",
                       {"Content-Type": "text/html"}))
    result = await harness.connector().fetch(None, limit=harness.limit)
    assert result.posts
    assert len(clock.sleeps) == 1 and 0 <= clock.sleeps[0] <= FAST.base_delay_s


async def test_a_malformed_item_is_skipped_with_a_reason_and_the_page_kept(harness: Harness) -> None:
    bad_id = harness.add_malformed()
    result = await harness.connector().fetch(None, limit=harness.limit)
    assert len(result.errors) == 1, result.errors
    error = result.errors[0]
    assert error.reason and error.external_id == bad_id
    assert result.posts, "the rest of the page was lost"
    assert bad_id not in ids(result)


async def test_an_auth_failure_is_not_retried_and_never_shows_the_secret(
        harness: Harness, server: FixtureServer, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    failing_path = harness.reject_auth()
    connector = harness.connector()
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as caught:
        await connector.fetch(None, limit=harness.limit)
    assert not caught.value.retryable
    assert caught.value.status in (400, 401, 403)
    assert len(server.seen(failing_path)) == 1
    assert clock.sleeps == []
    if harness.secret:
        for text in (str(caught.value), repr(caught.value), caplog.text, repr(connector)):
            assert harness.secret not in text
