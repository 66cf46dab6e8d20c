"""Rate-limit header parsing, back-off, error classification and secret hygiene (pure)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dengar_collector.adapters.connectors.api import (
    ApiClient,
    Outcome,
    RateLimitPolicy,
    StaticHeaderAuth,
    default_outcome,
    parse_rate_limit,
    parse_retry_after,
)
from dengar_collector.adapters.connectors.base import SecretStr
from dengar_collector.adapters.connectors.reddit import RedditCredentials
from dengar_collector.adapters.connectors.x import XCredentials
from dengar_common.http_safety import SafeHttpClient

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("value,expected", [
    ("120", 120.0),
    (" 7 ", 7.0),
    ("1.5", 1.5),
    ("-3", 0.0),
    (format_datetime(datetime(2026, 11, 20, 12, 1, 30, tzinfo=UTC), usegmt=True), 90.0),
    ("Fri, 20 Nov 2026 11:00:00 GMT", 0.0),  # a date in the past: go now
    ("soon", None),
    ("", None),
    (None, None),
])
def test_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize("headers,remaining,reset_in", [
    # GitHub/X style: epoch seconds.
    ({"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW) + 600)}, 0, 600),
    ({"X-RateLimit-Remaining": "12", "X-RateLimit-Reset": str(int(NOW) + 60)}, 12, 60),
    # Reddit: float remaining, reset in seconds.
    ({"x-ratelimit-remaining": "0.0", "x-ratelimit-used": "600", "x-ratelimit-reset": "412"}, 0, 412),
    # IETF draft, separate fields (delta seconds) and the structured field.
    ({"RateLimit-Remaining": "0", "RateLimit-Reset": "30"}, 0, 30),
    ({"RateLimit": '"default";r=0;t=45', "RateLimit-Policy": '"default";q=100;w=60'}, 0, 45),
    ({"RateLimit": "limit=100, remaining=3, reset=20"}, 3, 20),
    # Mastodon: ISO 8601 timestamp.
    ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-11-20T12:05:00.000Z"}, 0, 300),
])
def test_rate_limit_header_variants(headers: dict[str, str], remaining: float, reset_in: float) -> None:
    info = parse_rate_limit(headers, NOW)
    assert info.remaining == remaining
    assert info.reset_at == pytest.approx(NOW + reset_in)
    assert info.exhausted == (remaining < 1)


def test_no_rate_limit_headers() -> None:
    info = parse_rate_limit({"content-type": "application/json"}, NOW)
    assert (info.remaining, info.reset_at, info.retry_after, info.exhausted) == (None, None, None, False)


@given(st.integers(0, 40), st.integers(0, 2 ** 32))
def test_full_jitter_stays_within_the_exponential_ceiling(attempt: int, seed: int) -> None:
    policy = RateLimitPolicy(base_delay_s=0.5, max_delay_s=30.0)
    delay = policy.backoff(attempt, random.Random(seed))
    assert 0.0 <= delay <= min(30.0, 0.5 * 2 ** attempt)


def test_jitter_spreads_retries() -> None:
    policy = RateLimitPolicy(base_delay_s=1.0, max_delay_s=60.0)
    rng = random.Random(1)
    delays = {round(policy.backoff(3, rng), 3) for _ in range(50)}
    assert len(delays) > 40


@pytest.mark.parametrize("status,outcome", [
    (401, Outcome.REAUTH), (403, Outcome.AUTH), (429, Outcome.RATE_LIMITED), (503, Outcome.RATE_LIMITED),
    (500, Outcome.TRANSIENT), (502, Outcome.TRANSIENT), (504, Outcome.TRANSIENT), (408, Outcome.TRANSIENT),
    (400, Outcome.REJECTED), (404, Outcome.REJECTED), (422, Outcome.REJECTED),
])
def test_default_outcomes(status: int, outcome: Outcome) -> None:
    assert default_outcome(status) is outcome


def test_credentials_are_masked_everywhere(caplog: pytest.LogCaptureFixture) -> None:
    secret = "super-secret-token-123"
    creds = XCredentials(bearer_token=SecretStr(secret))
    reddit = RedditCredentials(client_id="app", client_secret=secret)  # type: ignore[arg-type]  # bad on purpose
    auth = StaticHeaderAuth("Authorization", creds.bearer_token, prefix="Bearer ")
    for text in (repr(creds), str(creds), repr(reddit), f"{reddit}", repr(auth), f"{creds.bearer_token}",
                 str(creds.model_dump())):
        assert secret not in text
    assert creds.secret_values() == [secret]


async def test_api_client_scrubs_registered_secrets() -> None:
    async with SafeHttpClient() as http:
        api = ApiClient(http, platform="x", secrets=["tok-ABCDEF"])
        api.add_secrets(["dynamic-token-9", ""])
        assert api.scrub("bad tok-ABCDEF and dynamic-token-9") == "bad *** and ***"
