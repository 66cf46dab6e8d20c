"""What every platform connector is and returns.

A connector turns one configured source (a query on one platform) into :class:`CollectedPost` batches.
It is stateless between calls: everything needed to resume — high-water marks, pagination tokens of a
backfill in progress, HTTP validators — travels in the JSON cursor it returns, which the caller stores
and hands back on the next call (after a restart too). Handing the same cursor back twice returns the
same posts again, so the caller stores the cursor only after the posts are safely published.

Credentials are ``SecretStr`` values: masked in ``repr``/``str``, and removed from every error message
(see ``api.ApiClient``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from dengar.v1 import common_pb2
from dengar_collector.domain.post import Engagement as Engagement
from dengar_collector.service_layer.ports import ConnectorError as ConnectorError
from dengar_collector.service_layer.ports import Cursor as Cursor
from dengar_collector.service_layer.ports import InvalidCursorError as InvalidCursorError
from dengar_common.enums import platform_from_name
from dengar_common.post_contract import PostAuthor as Author

logger = logging.getLogger(__name__)

__all__ = [
    "ApiConfig", "AuthError", "Author", "Clock", "CollectedPost", "Connector", "ConnectorConfig",
    "ConnectorError", "Credentials", "Cursor", "DestinationRefusedError", "Engagement", "FetchResult",
    "InvalidCursorError", "ItemError", "MappingError", "QuotaExceededError", "RateLimitedError",
    "RequestRejectedError", "ResponseFormatError", "SecretStr", "SystemClock", "TransientError",
]

# ConnectorError, InvalidCursorError and Cursor are the scheduler's port (service_layer.ports); the
# connectors raise and return them.


# ---------------------------------------------------------------------------------------------- errors

class AuthError(ConnectorError):
    """Credentials missing, wrong, expired beyond refresh or not entitled (401/403): fix the source."""


class RateLimitedError(ConnectorError):
    """Still rate limited after the allowed retries, or asked to wait longer than we wait in-process."""

    retryable = True


class QuotaExceededError(RateLimitedError):
    """A daily/monthly quota is spent (e.g. YouTube's 10,000 units): retry after ``retry_after``."""


class TransientError(ConnectorError):
    """Server errors (5xx) or network failures that outlasted the retries."""

    retryable = True


class RequestRejectedError(ConnectorError):
    """The platform refused the request itself (other 4xx: bad query, unknown subreddit, ...)."""


class ResponseFormatError(ConnectorError):
    """The response as a whole is not in the documented format (an HTML error page, truncated JSON).

    Retryable because that is usually a proxy or maintenance page; single bad items are not errors of
    the fetch but ``FetchResult.errors``.
    """

    retryable = True


class DestinationRefusedError(ConnectorError):
    """The egress policy refused the URL or a redirect, or the response was too large."""


class MappingError(ValueError):
    """One item of a page cannot be mapped; it becomes an ``ItemError``, the page goes on."""


# ---------------------------------------------------------------------------------------------- models

@dataclass(frozen=True, slots=True)
class CollectedPost:
    """A post as a connector maps it, mirroring ``dengar.v1.Post`` (without the fields the collector owns:
    tenant, id, collected_at, source and query ids)."""

    platform: str
    external_id: str
    text: str
    created_at: datetime
    title: str = ""
    author: Author = field(default_factory=Author)
    engagement: Engagement = field(default_factory=Engagement)
    url: str = ""
    lang_hint: str = ""
    in_reply_to: str = ""
    quote_of: str = ""
    repost_of: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Raised as MappingError so that a bad item becomes an item error, not a failed batch.
        if not self.external_id:
            raise MappingError("external id is missing")
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise MappingError("created_at must be timezone-aware")
        if not self.text.strip() and not self.title.strip():
            raise MappingError("item has neither text nor title")
        counts = (self.author.followers, self.engagement.likes, self.engagement.reposts,
                  self.engagement.replies, self.engagement.quotes, self.engagement.views)
        if any(c < 0 for c in counts):
            raise MappingError("negative follower or engagement count")

    def to_proto(self, *, source_id: str = "", query_ids: Sequence[str] = ()) -> common_pb2.Post:
        """The ``dengar.v1.Post`` to pass to ``domain.ingest.plan_ingest`` (which fills tenant and id)."""
        post = common_pb2.Post(
            platform=platform_from_name(self.platform),
            external_id=self.external_id,
            text=self.text,
            title=self.title,
            url=self.url,
            lang_hint=self.lang_hint,
            in_reply_to=self.in_reply_to,
            quote_of=self.quote_of,
            repost_of=self.repost_of,
            source_id=source_id,
            query_ids=list(query_ids),
            metadata=dict(self.metadata),
            author=common_pb2.Author(
                id=self.author.id, handle=self.author.handle, display_name=self.author.display_name,
                followers=self.author.followers, verified=self.author.verified,
                location=self.author.location),
            engagement=common_pb2.Engagement(
                likes=self.engagement.likes, reposts=self.engagement.reposts,
                replies=self.engagement.replies, quotes=self.engagement.quotes,
                views=self.engagement.views),
        )
        post.created_at.FromDatetime(self.created_at)
        return post


@dataclass(frozen=True, slots=True)
class ItemError:
    """An item of a page that was skipped; ``index`` is its position in the platform's response."""

    index: int
    reason: str
    external_id: str = ""


@dataclass
class FetchResult:
    posts: list[CollectedPost]
    # Store it once the posts are published, and pass it to the next fetch.
    next_cursor: Cursor
    errors: list[ItemError] = field(default_factory=list)
    # More is available right now (a backfill in progress, a page cut by ``limit``): call again soon
    # rather than at the next polling interval.
    has_more: bool = False


# ------------------------------------------------------------------------------------------ collaborators

class Clock(Protocol):
    """Wall-clock time and sleeping, injected so tests back off in microseconds."""

    def time(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


# -------------------------------------------------------------------------------------- configuration

def check_base_url(value: str) -> str:
    """A configured API/feed base URL: http(s), a host, no credentials; trailing slash removed."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not contain credentials; use the source's credentials instead")
    return value.strip().rstrip("/")


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine (traffic to it never crosses a network)."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_origin(value: str) -> str:
    """``scheme://host:port`` of a URL, the port made explicit (``https://a`` == ``https://a:443``)."""
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    except ValueError:
        port = 0
    return f"{scheme}://{host}:{port}"


def check_credential_url(field: str, value: str) -> None:
    """Credentials travel over https only; plain http is allowed to this machine alone (local
    fixtures and sidecars), where nothing can read them on the way."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() != "https" and not is_loopback_host(parts.hostname or ""):
        raise ValueError(f"{field}: credentials are sent to this URL, so it must use https")


class ConnectorConfig(BaseModel):
    """What a source asks for. Subclasses add the query; the management API can expose the schema."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # On the very first fetch (no cursor), how far back to collect.
    backfill_hours: float = Field(default=24.0, ge=0, le=24 * 30)


class ApiConfig(ConnectorConfig):
    """A connector that talks to an API under one base URL (configurable so tests can use a local one)."""

    base_url: str

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return check_base_url(value)


class Credentials(BaseModel):
    """Per-source secrets. Validation errors never echo the input (it may be a token)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    def secret_values(self) -> list[str]:
        return [v.get_secret_value() for v in self.__dict__.values()
                if isinstance(v, SecretStr) and v.get_secret_value()]


class Connector(ABC):
    """One source on one platform. Instances are cheap; the HTTP client is shared and owned elsewhere."""

    platform: ClassVar[str]
    config_model: ClassVar[type[ConnectorConfig]]
    credentials_model: ClassVar[type[Credentials] | None] = None
    # Whether the platform cannot be used without credentials (X, Reddit, YouTube).
    credentials_required: ClassVar[bool] = False
    # The config fields naming the URLs that credentials are sent to: they must be https, and the
    # stored credentials are bound to their origins (a change of origin needs the credentials again).
    credential_url_fields: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    async def fetch(self, cursor: Cursor | None, *, limit: int) -> FetchResult:
        """Fetch what is new since ``cursor`` (``None``: first run, back to ``backfill_hours``).

        ``limit`` is the number of items asked per API call, clamped to what the platform accepts;
        dependent items (YouTube comments) come on top. Raises ``ConnectorError`` subclasses.
        """


def default_rng() -> random.Random:
    # Jitter only needs to de-synchronise workers, not to be unpredictable.
    return random.Random()


def mapped(platform: str, items: Sequence[Any], mapper: Callable[[Any], CollectedPost], *,
           id_of: Callable[[Any], Any] | None = None) -> tuple[list[CollectedPost | None], list[ItemError]]:
    """Map each raw item, turning a failure into an ``ItemError`` so the rest of the page is kept.

    Returns one entry per item (``None`` where skipped) so callers can line posts up with the raw
    page. ``id_of`` extracts an id for the error report, best effort.
    """
    out: list[CollectedPost | None] = []
    errors: list[ItemError] = []
    for index, item in enumerate(items):
        try:
            post = mapper(item)
        except (MappingError, KeyError, TypeError, ValueError, AttributeError) as exc:
            ext = ""
            if id_of is not None:
                try:
                    ext = str(id_of(item) or "")
                except Exception:  # the id is only a hint for the report
                    ext = ""
            reason = _reason(exc)
            logger.info("%s: skipping malformed item %d (%s): %s", platform, index, ext or "no id", reason)
            errors.append(ItemError(index=index, reason=reason, external_id=ext))
            out.append(None)
            continue
        out.append(post)
    return out, errors


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}" if exc.args else "missing field"
    text = str(exc) or type(exc).__name__
    return text[:300]
