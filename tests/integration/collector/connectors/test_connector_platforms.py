"""Platform-specific behaviour against the local stand-ins: Reddit's token cache and refresh, RSS
conditional GET, YouTube quota and disabled comments, Bluesky session expiry, Mastodon search, and the
request parameters each API documents."""

from __future__ import annotations

import logging
import socket

import pytest
from connector_fakes import (
    BlueskyHarness,
    FakeClock,
    HackerNewsHarness,
    MastodonHarness,
    RedditHarness,
    RssHarness,
    XHarness,
    YouTubeHarness,
)
from connector_server import FixtureServer, Reply, Seen, fixture_json

from dengar_collector.adapters.connectors import ConnectorConfigError, create_connector
from dengar_collector.adapters.connectors.base import (
    AuthError,
    InvalidCursorError,
    QuotaExceededError,
    RateLimitedError,
    ResponseFormatError,
    TransientError,
)
from dengar_common.http_safety import SafeHttpClient

# ------------------------------------------------------------------------------------------ Reddit


async def test_reddit_token_is_cached_until_expiry_then_renewed(server: FixtureServer, clock: FakeClock,
                                                                http: SafeHttpClient) -> None:
    h = RedditHarness(server, clock, http)
    connector = h.connector()
    cursor = (await connector.fetch(None, limit=2)).next_cursor
    cursor = (await connector.fetch(cursor, limit=2)).next_cursor
    assert h.tokens_issued == 1
    token_request = server.seen("/api/v1/access_token")[0]
    assert token_request.headers["user-agent"] == "server:dengar-tests:v1 (by /u/dengar)"
    # expires_in is 86400 s; past it (less the safety margin) a new token is fetched before calling.
    clock.now += 86_400
    await connector.fetch(cursor, limit=2)
    assert h.tokens_issued == 2


async def test_reddit_refreshes_a_revoked_token_once_on_401(server: FixtureServer, clock: FakeClock,
                                                            http: SafeHttpClient) -> None:
    h = RedditHarness(server, clock, http)
    connector = h.connector()
    first = await connector.fetch(None, limit=2)
    h.revoke_tokens()
    second = await connector.fetch(first.next_cursor, limit=2)
    assert second.posts
    assert h.tokens_issued == 2
    statuses = [r.path for r in server.requests]
    assert statuses.count("/api/v1/access_token") == 2
    assert clock.sleeps == []  # a refresh is not a back-off


async def test_reddit_gives_up_when_a_fresh_token_is_refused_too(server: FixtureServer, clock: FakeClock,
                                                                 http: SafeHttpClient) -> None:
    h = RedditHarness(server, clock, http)
    server.route("GET", h.main_path, lambda req: Reply.json(fixture_json("reddit/unauthorized.json"), 401))
    with pytest.raises(AuthError):
        await h.connector().fetch(None, limit=2)
    assert h.tokens_issued == 2
    assert len(server.seen(h.main_path)) == 2


async def test_reddit_comments_listing_maps_replies(server: FixtureServer, clock: FakeClock,
                                                    http: SafeHttpClient) -> None:
    h = RedditHarness(server, clock, http)
    result = await h.connector(kind="comments").fetch(None, limit=25)
    by_id = {p.external_id: p for p in result.posts}
    assert set(by_id) == {"t1_lxy9k2a", "t1_lxy9a01"}
    assert by_id["t1_lxy9k2a"].in_reply_to == "t3_1gvf3kd"
    assert by_id["t1_lxy9a01"].in_reply_to == "t1_lxy8zzz"
    # A buried comment (-5) counts zero likes rather than failing validation.
    assert by_id["t1_lxy9a01"].engagement.likes == 0


# --------------------------------------------------------------------------------------------- RSS


async def test_rss_conditional_get_200_then_304(server: FixtureServer, clock: FakeClock,
                                               http: SafeHttpClient) -> None:
    h = RssHarness(server, clock, http)
    connector = h.connector()
    first = await connector.fetch(None, limit=50)
    assert len(first.posts) == 3 and not first.has_more
    assert first.next_cursor["etag"] and first.next_cursor["last_modified"]
    second = await connector.fetch(first.next_cursor, limit=50)
    assert second.posts == [] and second.next_cursor == first.next_cursor
    requests = server.seen(h.main_path)
    assert requests[1].headers["if-none-match"] == first.next_cursor["etag"]
    assert requests[1].headers["if-modified-since"] == first.next_cursor["last_modified"]
    # A changed feed is downloaded again and only its new item comes back.
    new = h.publish(1)
    third = await connector.fetch(second.next_cursor, limit=50)
    assert [p.external_id for p in third.posts] == new


async def test_rss_batch_cut_by_limit_drops_validators_so_the_rest_is_not_lost(
        server: FixtureServer, clock: FakeClock, http: SafeHttpClient) -> None:
    h = RssHarness(server, clock, http)
    first = await h.connector().fetch(None, limit=2)
    assert first.has_more and first.next_cursor["etag"] is None
    # Oldest first: the opinion piece from the day before comes out before today's news.
    assert first.posts[0].created_at < first.posts[1].created_at
    second = await h.connector().fetch(first.next_cursor, limit=2)
    assert [p.external_id for p in second.posts] == ["kabar-tekno-88213"]
    assert "if-none-match" not in server.seen(h.main_path)[1].headers


async def test_rss_refuses_entity_expansion(server: FixtureServer, clock: FakeClock,
                                            http: SafeHttpClient) -> None:
    h = RssHarness(server, clock, http)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b"<rss><channel><title>&b;</title></channel></rss>")
    server.route("GET", h.main_path, Reply(200, bomb, {"Content-Type": "application/rss+xml"}))
    with pytest.raises(ResponseFormatError, match="not usable XML"):
        await h.connector().fetch(None, limit=10)


async def test_rss_html_error_page_is_a_format_error(server: FixtureServer, clock: FakeClock,
                                                     http: SafeHttpClient) -> None:
    h = RssHarness(server, clock, http)
    server.route("GET", h.main_path, Reply(200, b"<html><body>Maintenance <br> back soon", {}))
    with pytest.raises(ResponseFormatError) as caught:
        await h.connector().fetch(None, limit=10)
    assert caught.value.retryable


# ----------------------------------------------------------------------------------------- YouTube


async def test_youtube_quota_exceeded_is_not_retried_and_says_when_to_come_back(
        server: FixtureServer, clock: FakeClock, http: SafeHttpClient) -> None:
    h = YouTubeHarness(server, clock, http)
    server.queue("GET", h.main_path, Reply.json(fixture_json("youtube/quota_exceeded.json"), 403))
    with pytest.raises(QuotaExceededError) as caught:
        await h.connector().fetch(None, limit=5)
    assert caught.value.retryable
    # 2026-11-20 12:00 UTC is 04:00 in Los Angeles: 20 hours to midnight Pacific.
    assert caught.value.retry_after == pytest.approx(20 * 3600, abs=3600)
    assert clock.sleeps == [] and len(server.seen(h.main_path)) == 1


async def test_youtube_disabled_comments_are_an_item_error_for_that_video_only(
        server: FixtureServer, clock: FakeClock, http: SafeHttpClient) -> None:
    h = YouTubeHarness(server, clock, http)
    h.disabled_comments.add("LiVe0jek123")
    result = await h.connector().fetch(None, limit=5)
    assert [(e.external_id, "comments unavailable" in e.reason) for e in result.errors] == \
        [("LiVe0jek123", True)]
    assert {"dQ4n2Kx7pLs", "Hq3mV9tZr2E", "LiVe0jek123", "UgzQ7t1cM0n3pX2r9sB4AaABAg"} <= \
        {p.external_id for p in result.posts}


async def test_youtube_key_travels_in_a_header_never_in_the_url(server: FixtureServer, clock: FakeClock,
                                                                http: SafeHttpClient) -> None:
    h = YouTubeHarness(server, clock, http)
    await h.connector().fetch(None, limit=5)
    for request in server.requests:
        assert request.headers["x-goog-api-key"] == h.secret
        assert h.secret not in str(request.query)
    search = server.seen(h.main_path)[0].query
    assert search["type"] == "video" and search["order"] == "date" and search["publishedAfter"].endswith("Z")


async def test_youtube_rate_limit_reason_is_retried(server: FixtureServer, clock: FakeClock,
                                                    http: SafeHttpClient) -> None:
    h = YouTubeHarness(server, clock, http)
    body = {"error": {"code": 403, "message": "Rate limit", "errors": [
        {"message": "Rate limit", "domain": "youtube.quota", "reason": "rateLimitExceeded"}]}}
    server.queue("GET", h.main_path, Reply.json(body, 403))
    assert (await h.connector().fetch(None, limit=5)).posts
    assert len(clock.sleeps) == 1


# ----------------------------------------------------------------------------------------- Bluesky


async def test_bluesky_expired_session_is_renewed_once(server: FixtureServer, clock: FakeClock,
                                                       http: SafeHttpClient) -> None:
    h = BlueskyHarness(server, clock, http)
    connector = h.connector()
    first = await connector.fetch(None, limit=2)
    server.queue("GET", h.main_path, Reply.json(fixture_json("bluesky/expired_token.json"), 400))
    second = await connector.fetch(first.next_cursor, limit=2)
    assert second.posts
    assert h.sessions_created == 2
    assert clock.sleeps == []


async def test_bluesky_without_credentials_uses_the_public_appview(server: FixtureServer, clock: FakeClock,
                                                                   http: SafeHttpClient) -> None:
    h = BlueskyHarness(server, clock, http)
    h.access_tokens.add("")  # the stand-in's public endpoint: no token needed
    connector = create_connector("bluesky", h.config(), None, http=http, clock=clock)
    result = await connector.fetch(None, limit=10)
    assert len(result.posts) == 4
    assert "authorization" not in server.seen(h.main_path)[0].headers
    assert h.sessions_created == 0


# ---------------------------------------------------------------------------------------- Mastodon


async def test_mastodon_status_search(server: FixtureServer, clock: FakeClock, http: SafeHttpClient) -> None:
    h = MastodonHarness(server, clock, http)
    page = fixture_json("mastodon/search_statuses.json")

    def search(req: Seen) -> Reply:
        assert req.query["type"] == "statuses" and req.query["q"] == "grab rider"
        statuses = page["statuses"]
        if "min_id" in req.query:
            statuses = [s for s in statuses if int(s["id"]) > int(req.query["min_id"])]
        return Reply.json({**page, "statuses": statuses})

    server.route("GET", "/api/v2/search", search)
    connector = create_connector("mastodon", {"base_url": server.base_url, "query": "grab rider"},
                                 h.credentials(), http=http, clock=clock)
    first = await connector.fetch(None, limit=20)
    assert [p.external_id for p in first.posts] == ["https://mastodon.social/users/lin/statuses/113520450112233445"]
    again = await connector.fetch(first.next_cursor, limit=20)
    assert again.posts == []
    assert server.seen("/api/v2/search")[1].query["min_id"] == "113520450112233445"


async def test_mastodon_link_header_drives_paging(server: FixtureServer, clock: FakeClock,
                                                  http: SafeHttpClient) -> None:
    h = MastodonHarness(server, clock, http)
    connector = h.connector()
    first = await connector.fetch(None, limit=2)
    await connector.fetch(first.next_cursor, limit=2)
    second_request = server.seen(h.main_path)[1]
    assert second_request.query["max_id"] == "113520377019448820"


# ---------------------------------------------------------------------------------------------- X


async def test_x_requests_the_documented_fields_and_expansions(server: FixtureServer, clock: FakeClock,
                                                               http: SafeHttpClient) -> None:
    h = XHarness(server, clock, http)
    await h.connector().fetch(None, limit=5)
    query = server.seen(h.main_path)[0].query
    assert query["max_results"] == "10"  # X's minimum
    assert query["expansions"] == "author_id"
    assert set(query["user.fields"].split(",")) >= {"public_metrics", "username", "name", "verified",
                                                    "location"}
    assert set(query["tweet.fields"].split(",")) >= {"created_at", "lang", "public_metrics",
                                                     "referenced_tweets", "conversation_id"}
    assert query["start_time"] == "2026-11-19T12:00:00Z"


async def test_x_error_body_echoing_the_token_is_scrubbed(server: FixtureServer, clock: FakeClock,
                                                          http: SafeHttpClient,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    h = XHarness(server, clock, http)
    server.route("GET", h.main_path, lambda req: Reply.json(
        {"title": "Forbidden", "detail": f"token {req.headers['authorization']} is not allowed"}, 403))
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as caught:
        await h.connector().fetch(None, limit=10)
    assert "***" in str(caught.value)
    assert h.secret is not None and h.secret not in str(caught.value) and h.secret not in caplog.text


async def test_x_persistent_503_gives_up_with_a_retryable_error(server: FixtureServer, clock: FakeClock,
                                                               http: SafeHttpClient) -> None:
    h = XHarness(server, clock, http)
    server.route("GET", h.main_path, Reply.json({"title": "Service Unavailable"}, 503))
    with pytest.raises(RateLimitedError) as caught:
        await h.connector().fetch(None, limit=10)
    assert caught.value.retryable and caught.value.status == 503
    assert len(server.seen(h.main_path)) == 4  # 1 + max_retries
    assert len(clock.sleeps) == 3


async def test_x_exhausted_quota_waits_for_the_reset_before_the_next_call(
        server: FixtureServer, clock: FakeClock, http: SafeHttpClient) -> None:
    h = XHarness(server, clock, http)
    connector = h.connector()
    reset = int(clock.time()) + 42
    original = server._routes[("GET", h.main_path)]

    def exhausted(req: Seen) -> Reply:
        reply = original(req)
        reply.headers.update({"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)})
        return reply

    server.route("GET", h.main_path, exhausted)
    first = await connector.fetch(None, limit=10)
    assert clock.sleeps == []
    await connector.fetch(first.next_cursor, limit=10)
    assert clock.sleeps == [pytest.approx(42)]


async def test_x_long_retry_after_is_handed_to_the_scheduler(server: FixtureServer, clock: FakeClock,
                                                             http: SafeHttpClient) -> None:
    h = XHarness(server, clock, http)
    server.queue("GET", h.main_path, Reply.json({"title": "Too Many Requests"}, 429,
                                                headers={"Retry-After": "900"}))
    with pytest.raises(RateLimitedError) as caught:
        await h.connector().fetch(None, limit=10)
    assert caught.value.retry_after == 900 and clock.sleeps == []


# ------------------------------------------------------------------------------------ Hacker News


async def test_hackernews_pages_keep_a_fixed_upper_bound(server: FixtureServer, clock: FakeClock,
                                                         http: SafeHttpClient) -> None:
    h = HackerNewsHarness(server, clock, http)
    connector = h.connector()
    first = await connector.fetch(None, limit=2)
    h.publish(2)  # arrives mid-sweep: must not shift the second page
    second = await connector.fetch(first.next_cursor, limit=2)
    assert [p.external_id for p in second.posts] == ["42187001"]
    query = server.seen(h.main_path)[1].query
    assert query["page"] == "1" and "created_at_i<=1795168051" in query["numericFilters"]
    assert query["tags"] == "(comment,story)"


async def test_network_failure_is_retried_then_reported_as_transient(clock: FakeClock,
                                                                     http: SafeHttpClient) -> None:
    # A port that was just free and that nothing listens on: connection refused every time.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connector = create_connector("hackernews", {"base_url": f"http://127.0.0.1:{port}"}, None, http=http,
                                 clock=clock)
    with pytest.raises(TransientError) as caught:
        await connector.fetch(None, limit=5)
    assert caught.value.retryable and len(clock.sleeps) == 4


# -------------------------------------------------------------------------------- configuration


def test_config_errors_never_echo_credentials(http: SafeHttpClient) -> None:
    secret = "sk-live-do-not-print-me"
    with pytest.raises(ConnectorConfigError) as caught:
        create_connector("x", {"query": "gojek"}, {"bearer_token": secret, "unexpected": secret}, http=http)
    assert secret not in str(caught.value) and "unexpected" in str(caught.value)
    with pytest.raises(ConnectorConfigError, match="need credentials"):
        create_connector("x", {"query": "gojek"}, None, http=http)
    with pytest.raises(ConnectorConfigError, match="base_url"):
        create_connector("mastodon", {"hashtag": "gojek", "base_url": "https://user:pw@example.com"}, None,
                         http=http)
    with pytest.raises(ConnectorConfigError, match="exactly one"):
        create_connector("mastodon", {"hashtag": "gojek", "query": "gojek"}, None, http=http)
    with pytest.raises(ConnectorConfigError, match="no connector"):
        create_connector("myspace", {}, None, http=http)


async def test_a_cursor_from_another_source_is_refused(server: FixtureServer, clock: FakeClock,
                                                       http: SafeHttpClient) -> None:
    x = XHarness(server, clock, http)
    cursor = (await x.connector().fetch(None, limit=10)).next_cursor
    mastodon = MastodonHarness(server, clock, http)
    with pytest.raises(InvalidCursorError):
        await mastodon.connector().fetch(cursor, limit=2)


async def test_429_without_retry_after_waits_for_the_quota_reset(server: FixtureServer, clock: FakeClock,
                                                                 http: SafeHttpClient) -> None:
    h = XHarness(server, clock, http)
    reset = int(clock.time()) + 30
    server.queue("GET", h.main_path, Reply.json(
        fixture_json("x/too_many_requests.json"), 429,
        headers={"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0",
                 "x-rate-limit-reset": str(reset)}))
    assert (await h.connector().fetch(None, limit=10)).posts
    assert clock.sleeps == [pytest.approx(30)]


async def test_x_back_after_more_than_a_week_uses_the_window_not_a_stale_since_id(
        server: FixtureServer, clock: FakeClock, http: SafeHttpClient) -> None:
    h = XHarness(server, clock, http)
    connector = h.connector()
    first = await connector.fetch(None, limit=10)
    assert not first.has_more
    clock.now += 9 * 86_400
    again = await connector.fetch(first.next_cursor, limit=10)
    query = server.seen(h.main_path)[-1].query
    assert "since_id" not in query and query["start_time"] == "2026-11-22T12:01:00Z"
    assert again.posts == [] and not again.has_more
