"""Builds connectors from stored source definitions, sharing one safe HTTP client."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from dengar_collector.adapters.connectors import (
    CONNECTOR_TYPES,
    Connector,
    RateLimitPolicy,
    create_connector,
    credential_origins,
)
from dengar_collector.adapters.connectors.base import Clock
from dengar_common.http_safety import SafeHttpClient


class ConnectorFactory:
    """``build`` raises ``ConnectorConfigError`` (whose message never holds a credential value)."""

    def __init__(self, http: SafeHttpClient, *, rate_limit: RateLimitPolicy | None = None,
                 clock: Clock | None = None, rng: random.Random | None = None) -> None:
        self._http = http
        self._rate_limit = rate_limit
        self._clock = clock
        self._rng = rng

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(CONNECTOR_TYPES)

    def build(self, kind: str, config: Mapping[str, Any],
              credentials: Mapping[str, str] | None) -> Connector:
        return create_connector(kind, config, credentials or None, http=self._http,
                                rate_limit=self._rate_limit, clock=self._clock, rng=self._rng)

    def validate(self, kind: str, config: Mapping[str, Any], credentials: Mapping[str, str] | None) -> None:
        # Building is cheap and makes no request: the same code path as a run checks the definition.
        self.build(kind, config, credentials)

    def credential_origins(self, kind: str, config: Mapping[str, Any]) -> frozenset[str]:
        return credential_origins(kind, config)
