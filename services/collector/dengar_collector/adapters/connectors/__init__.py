"""Platform connectors: pull posts from public APIs and feeds into ``CollectedPost`` batches.

The scheduler (or a management API) builds connectors from stored source definitions with
:func:`create_connector`, shares one :class:`~dengar_common.http_safety.SafeHttpClient`
between all of them, calls ``fetch(cursor, limit=...)``, publishes ``post.to_proto(...)`` through the
ingest domain, and stores ``next_cursor`` only after publishing succeeded.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from dengar_collector.adapters.connectors.api import ApiClient, HttpConnector, RateLimitPolicy
from dengar_collector.adapters.connectors.base import (
    Clock,
    CollectedPost,
    Connector,
    ConnectorError,
    Cursor,
    FetchResult,
    ItemError,
    check_credential_url,
    url_origin,
)
from dengar_collector.adapters.connectors.bluesky import BlueskyConnector
from dengar_collector.adapters.connectors.hackernews import HackerNewsConnector
from dengar_collector.adapters.connectors.mastodon import MastodonConnector
from dengar_collector.adapters.connectors.reddit import RedditConnector
from dengar_collector.adapters.connectors.rss import RssConnector
from dengar_collector.adapters.connectors.x import XConnector
from dengar_collector.adapters.connectors.youtube import YouTubeConnector
from dengar_common.http_safety import SafeHttpClient

__all__ = [
    "CONNECTOR_TYPES", "ApiClient", "CollectedPost", "Connector", "ConnectorConfigError", "ConnectorError",
    "Cursor", "FetchResult", "ItemError", "RateLimitPolicy", "create_connector",
    "credential_origins",
]

# Platform name (as in dengar_common.enums) -> connector class.
CONNECTOR_TYPES: dict[str, type[HttpConnector]] = {
    cls.platform: cls for cls in (MastodonConnector, BlueskyConnector, RedditConnector, YouTubeConnector,
                                  XConnector, RssConnector, HackerNewsConnector)
}


class ConnectorConfigError(ValueError):
    """A source definition cannot build a connector. The message never contains credential values;
    ``field`` names the request field at fault when it is one (``config.base_url``)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _describe(exc: ValidationError, what: str) -> str:
    problems = []
    for err in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "(source)"
        problems.append(f"{field}: {err['msg']}")
    return f"invalid {what}: " + "; ".join(problems)


def create_connector(platform: str, config: Mapping[str, Any],
                     credentials: Mapping[str, Any] | None = None, *, http: SafeHttpClient,
                     rate_limit: RateLimitPolicy | None = None, clock: Clock | None = None,
                     rng: random.Random | None = None) -> Connector:
    """Validate a stored source definition and build its connector.

    ``config`` is plain JSON (e.g. ``{"hashtag": "gojek", "base_url": "https://mastodon.social"}``);
    ``credentials`` holds the secret fields as strings. Raises :class:`ConnectorConfigError`.
    """
    cls = CONNECTOR_TYPES.get(platform)
    if cls is None:
        raise ConnectorConfigError(f"no connector for platform {platform!r}; "
                                   f"expected one of {sorted(CONNECTOR_TYPES)}")
    try:
        cfg = cls.config_model.model_validate(dict(config))
    except ValidationError as exc:
        raise ConnectorConfigError(_describe(exc, f"{platform} source configuration")) from None
    creds = None
    if cls.credentials_model is not None and credentials:
        try:
            creds = cls.credentials_model.model_validate(dict(credentials))
        except ValidationError as exc:
            raise ConnectorConfigError(_describe(exc, f"{platform} credentials")) from None
    elif credentials:
        raise ConnectorConfigError(f"{platform} sources take no credentials")
    if creds is None and cls.credentials_required:
        raise ConnectorConfigError(f"{platform} sources need credentials")
    if creds is not None:
        for name in cls.credential_url_fields:
            try:
                check_credential_url(name, str(getattr(cfg, name)))
            except ValueError as exc:
                raise ConnectorConfigError(f"invalid {platform} source configuration: {exc}",
                                           field=f"config.{name}") from None
    return cls(cfg, creds, http=http, rate_limit=rate_limit, clock=clock, rng=rng)


def credential_origins(platform: str, config: Mapping[str, Any]) -> frozenset[str]:
    """The origins (``scheme://host:port``) a source's credentials are sent to, defaults included;
    empty for a platform without credentials or a config that does not validate."""
    cls = CONNECTOR_TYPES.get(platform)
    if cls is None or not cls.credential_url_fields:
        return frozenset()
    try:
        cfg = cls.config_model.model_validate(dict(config))
    except ValidationError:
        return frozenset()
    return frozenset(url_origin(str(getattr(cfg, name))) for name in cls.credential_url_fields)
