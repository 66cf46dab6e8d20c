"""Calls to platform APIs: retries, rate limits, re-authentication and error mapping, shared by all
connectors.

Policy (``RateLimitPolicy``):

- 429 and 503 wait as the server says: ``Retry-After`` (seconds or an HTTP date), else the reset time of
  an exhausted quota header (``X-RateLimit-*``, ``x-rate-limit-*``, ``RateLimit-*`` or the structured
  ``RateLimit`` header), else exponential back-off with full jitter;
- other 5xx, 408 and network errors back off with full jitter;
- a response saying the quota is exhausted (remaining 0) makes the *next* request wait for the reset;
- waits longer than ``max_wait_s`` are not slept through: ``RateLimitedError.retry_after`` hands them to
  the scheduler, so one rate-limited source does not hold a worker for an hour;
- 401 first asks the authenticator to refresh (OAuth tokens), once; 401/403 are then ``AuthError``, never
  retried; other 4xx are ``RequestRejectedError``.

Every error message names the platform, status and URL path only, with any credential value replaced.
"""

from __future__ import annotations

import enum
import logging
import random
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from dengar_collector.adapters.connectors.base import (
    AuthError,
    Clock,
    Connector,
    ConnectorError,
    Credentials,
    DestinationRefusedError,
    QuotaExceededError,
    RateLimitedError,
    RequestRejectedError,
    ResponseFormatError,
    SystemClock,
    TransientError,
    default_rng,
)
from dengar_common.http_safety import EgressError, HttpResponse, SafeHttpClient, redact_url

logger = logging.getLogger(__name__)

# A reset value this large is an epoch timestamp (X, GitHub); smaller ones count seconds (Reddit, IETF).
_EPOCH_THRESHOLD = 1_000_000_000
_SNIPPET_CHARS = 200


@dataclass(frozen=True)
class RateLimitPolicy:
    """How hard to retry. The defaults suit a scheduler that polls each source every few minutes."""

    max_retries: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    # Longest single wait done in-process; longer ones become RateLimitedError(retry_after=...).
    max_wait_s: float = 300.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter (uniform in [0, min(cap, base * 2^attempt)]): retries of many workers spread out."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** min(attempt, 30)))
        return rng.uniform(0, ceiling)


class Outcome(enum.Enum):
    """What an unsuccessful response means for the caller."""

    AUTH = "auth"                # credentials rejected: not retryable
    REAUTH = "reauth"            # credentials expired: refresh once, then AUTH
    RATE_LIMITED = "rate_limited"  # wait (server's hint first) and retry
    TRANSIENT = "transient"      # back off and retry
    QUOTA = "quota"              # a long quota is spent: give up until retry_after
    REJECTED = "rejected"        # the request itself is wrong: not retryable


# Lets a connector read platform-specific error bodies (YouTube's 403 quotaExceeded, Bluesky's 400
# ExpiredToken); ``None`` falls back to the status code.
Classifier = Callable[[HttpResponse], "Outcome | None"]


def default_outcome(status: int) -> Outcome:
    if status == 401:
        return Outcome.REAUTH
    if status == 403:
        return Outcome.AUTH
    if status in (429, 503):
        return Outcome.RATE_LIMITED
    if status == 408 or status >= 500:
        return Outcome.TRANSIENT
    return Outcome.REJECTED


# ------------------------------------------------------------------------------------ header parsing

def parse_http_time(value: str) -> float | None:
    """Epoch seconds of an HTTP date or an ISO 8601 timestamp (Mastodon's X-RateLimit-Reset)."""
    value = value.strip()
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or an HTTP date); never negative."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = parse_http_time(value)
    return None if when is None else max(0.0, when - now)


def _parse_reset(value: str, now: float) -> float | None:
    """Epoch seconds when a quota resets, from delta seconds, an epoch timestamp or a date."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        return parse_http_time(value)
    return number if number >= _EPOCH_THRESHOLD else now + max(0.0, number)


_STRUCTURED = re.compile(r"(?:^|[;,\s])(r|remaining|t|reset)\s*=\s*([0-9.]+)", re.IGNORECASE)


@dataclass(frozen=True)
class RateLimitInfo:
    remaining: float | None = None
    reset_at: float | None = None  # epoch seconds
    retry_after: float | None = None  # seconds from now

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining < 1 and self.reset_at is not None


def parse_rate_limit(headers: Mapping[str, str] | httpx.Headers, now: float) -> RateLimitInfo:
    """Read ``Retry-After`` and the quota headers in their common spellings (case-insensitive)."""
    lower = {k.lower(): v for k, v in headers.items()}
    remaining: float | None = None
    reset_at: float | None = None
    for prefix in ("x-ratelimit-", "x-rate-limit-", "ratelimit-"):
        if remaining is None and prefix + "remaining" in lower:
            try:
                remaining = float(lower[prefix + "remaining"].split(",")[0])
            except ValueError:
                remaining = None
        if reset_at is None and prefix + "reset" in lower:
            reset_at = _parse_reset(lower[prefix + "reset"].split(",")[0], now)
    if "ratelimit" in lower and (remaining is None or reset_at is None):
        # draft-ietf-httpapi-ratelimit-headers: RateLimit: "default";r=0;t=30 (or remaining=0, reset=30)
        for key, number in _STRUCTURED.findall(lower["ratelimit"]):
            if key.lower() in ("r", "remaining") and remaining is None:
                remaining = float(number)
            elif key.lower() in ("t", "reset") and reset_at is None:
                reset_at = now + float(number)
    return RateLimitInfo(remaining, reset_at, parse_retry_after(lower.get("retry-after"), now))


# ------------------------------------------------------------------------------------------ the client

class Authenticator(Protocol):
    """Adds credentials to requests and refreshes them when the platform says they expired."""

    # Header names that carry the credentials (dropped on a redirect to another origin).
    header_names: tuple[str, ...]

    async def headers(self, api: ApiClient) -> dict[str, str]: ...

    async def invalidate(self) -> bool:
        """Forget cached credentials; ``True`` when a retry with fresh ones may succeed."""
        ...

    def secret_values(self) -> list[str]: ...


class StaticHeaderAuth:
    """A fixed secret in one header (``Authorization: Bearer ...``, ``X-Goog-Api-Key: ...``)."""

    def __init__(self, header: str, secret: Any, *, prefix: str = "") -> None:
        self.header_names = (header,)
        self._header = header
        self._secret = secret  # a SecretStr: masked if this object is ever printed
        self._prefix = prefix

    async def headers(self, api: ApiClient) -> dict[str, str]:
        return {self._header: self._prefix + self._secret.get_secret_value()}

    async def invalidate(self) -> bool:
        return False

    def secret_values(self) -> list[str]:
        return [self._secret.get_secret_value()]

    def __repr__(self) -> str:
        return f"StaticHeaderAuth({self._header!r}, '**********')"


def _snippet(response: HttpResponse) -> str:
    """The start of an error body, for messages: JSON error fields first, whitespace collapsed."""
    text = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        parts = []
        for key in ("error", "message", "error_description", "detail", "title", "errors"):
            if key in body:
                parts.append(f"{key}={body[key]}")
        text = "; ".join(parts)
    if not text:
        text = response.content[:_SNIPPET_CHARS * 2].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return text[:_SNIPPET_CHARS]


class ApiClient:
    """One connector's door to its platform (or one set of credentials' quota, if shared)."""

    def __init__(self, http: SafeHttpClient, *, platform: str, policy: RateLimitPolicy | None = None,
                 clock: Clock | None = None, rng: random.Random | None = None,
                 secrets: Iterable[str] = ()) -> None:
        self._http = http
        self.platform = platform
        self.policy = policy or RateLimitPolicy()
        self.clock = clock or SystemClock()
        self._rng = rng or default_rng()
        self._secrets = [s for s in secrets if s]
        # Epoch seconds before which the platform told us not to call (remaining quota 0).
        self._blocked_until = 0.0

    def add_secrets(self, values: Iterable[str]) -> None:
        """Register values (tokens obtained at run time) that must never appear in messages."""
        self._secrets.extend(v for v in values if v and v not in self._secrets)

    def scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def _error(self, cls: type[ConnectorError], message: str, *, status: int | None = None,
               retry_after: float | None = None) -> ConnectorError:
        return cls(self.scrub(message), platform=self.platform, status=status, retry_after=retry_after)

    async def _respect_quota(self) -> None:
        wait = self._blocked_until - self.clock.time()
        if wait <= 0:
            return
        if wait > self.policy.max_wait_s:
            raise self._error(RateLimitedError, f"quota exhausted; resets in {wait:.0f}s", retry_after=wait)
        logger.info("%s: quota exhausted, waiting %.1fs for the reset", self.platform, wait)
        await self.clock.sleep(wait)
        self._blocked_until = 0.0

    async def send(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                   headers: Mapping[str, str] | None = None, data: Mapping[str, str] | None = None,
                   json: Any = None, auth: Authenticator | None = None, accept: Collection[int] = (200,),
                   classify: Classifier | None = None) -> HttpResponse:
        """Send until a status in ``accept`` comes back; raise a ``ConnectorError`` subclass otherwise."""
        if auth is not None:
            self.add_secrets(auth.secret_values())
        where = redact_url(httpx.URL(url))
        attempt = 0
        reauthenticated = False
        while True:
            await self._respect_quota()
            hdrs = dict(headers or {})
            if auth is not None:
                hdrs.update(await auth.headers(self))
                self.add_secrets(auth.secret_values())
            delay: float | None = None
            try:
                response = await self._http.request(
                    method, url, params=params, headers=hdrs, data=data, json=json,
                    sensitive_headers=auth.header_names if auth else ())
            except EgressError as exc:
                raise self._error(DestinationRefusedError, str(exc)) from None
            except httpx.RequestError as exc:
                # Network failures, time-outs, undecodable compression: worth another try. The
                # message of these holds no URL, and is scrubbed anyway.
                outcome, status, detail = Outcome.TRANSIENT, None, f"{type(exc).__name__}: {exc}"
            else:
                now = self.clock.time()
                info = parse_rate_limit(response.headers, now)
                if info.exhausted and info.reset_at is not None:
                    self._blocked_until = max(self._blocked_until, info.reset_at)
                if response.status_code in accept:
                    return response
                status = response.status_code
                outcome = (classify(response) if classify else None) or default_outcome(status)
                detail = f"HTTP {status} from {where}: {_snippet(response)}"
                if outcome is Outcome.REAUTH:
                    if auth is not None and not reauthenticated and await auth.invalidate():
                        reauthenticated = True
                        logger.info("%s: credentials expired (HTTP %d), refreshing once", self.platform,
                                    status)
                        continue
                    outcome = Outcome.AUTH
                if outcome is Outcome.AUTH:
                    raise self._error(AuthError, detail, status=status)
                if outcome is Outcome.REJECTED:
                    raise self._error(RequestRejectedError, detail, status=status)
                if outcome is Outcome.QUOTA:
                    raise self._error(QuotaExceededError, detail, status=status,
                                      retry_after=info.retry_after)
                delay = info.retry_after
                if delay is None and outcome is Outcome.RATE_LIMITED and info.exhausted:
                    assert info.reset_at is not None
                    delay = max(0.0, info.reset_at - now)
                if delay is not None:
                    # The reset is now accounted for by this wait.
                    self._blocked_until = 0.0
            error_cls = RateLimitedError if outcome is Outcome.RATE_LIMITED else TransientError
            if attempt >= self.policy.max_retries:
                raise self._error(error_cls, f"{detail} (gave up after {attempt + 1} attempts)",
                                  status=status, retry_after=delay)
            if delay is None:
                delay = self.policy.backoff(attempt, self._rng)
            if delay > self.policy.max_wait_s:
                raise self._error(RateLimitedError, f"{detail} (asked to wait {delay:.0f}s)", status=status,
                                  retry_after=delay)
            attempt += 1
            logger.warning("%s: %s %s failed (%s); retry %d/%d in %.2fs", self.platform, method, where,
                           self.scrub(detail), attempt, self.policy.max_retries, delay)
            await self.clock.sleep(delay)

    async def get_json(self, url: str, **kwargs: Any) -> Any:
        """GET and decode JSON; a body that is not JSON is a ``ResponseFormatError``."""
        response = await self.send("GET", url, **kwargs)
        return self.decode_json(response)

    def decode_json(self, response: HttpResponse) -> Any:
        try:
            return response.json()
        except ValueError:
            raise self._error(ResponseFormatError,
                              f"response from {redact_url(response.url)} is not JSON "
                              f"(content-type {response.headers.get('content-type', '?')!r})",
                              status=response.status_code) from None


class HttpConnector(Connector):
    """Common construction of the API connectors: config, credentials, and an ``ApiClient``."""

    def __init__(self, config: Any, credentials: Credentials | None = None, *, http: SafeHttpClient,
                 rate_limit: RateLimitPolicy | None = None, clock: Clock | None = None,
                 rng: random.Random | None = None) -> None:
        if not isinstance(config, self.config_model):
            raise TypeError(f"{type(self).__name__} needs a {self.config_model.__name__}")
        if credentials is not None and (self.credentials_model is None
                                        or not isinstance(credentials, self.credentials_model)):
            raise TypeError(f"{type(self).__name__} got credentials of the wrong type")
        if credentials is None and self.credentials_required:
            raise TypeError(f"{type(self).__name__} needs credentials")
        self.config = config
        self.credentials = credentials
        self.api = ApiClient(http, platform=self.platform, policy=rate_limit, clock=clock, rng=rng,
                             secrets=credentials.secret_values() if credentials else ())

    @property
    def clock(self) -> Clock:
        return self.api.clock

    def backfill_s(self) -> float:
        return float(self.config.backfill_hours) * 3600.0

    def __repr__(self) -> str:
        # Never the credentials, nor a query string (a private feed URL may carry a token).
        url = getattr(self.config, "base_url", None) or getattr(self.config, "feed_url", "")
        return f"{type(self).__name__}({redact_url(httpx.URL(url)) if url else ''})"
