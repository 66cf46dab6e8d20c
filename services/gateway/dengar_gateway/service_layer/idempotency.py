"""``Idempotency-Key`` on ``POST /v1/posts``: the first request with a key runs, its response is
stored and replayed to the retries; a retry with another body, or one that arrives while the first
is still running, is refused."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dengar_common.errors import FailedPrecondition, InvalidArgument
from dengar_gateway.domain.idempotency import Reservation, body_hash, is_valid_key
from dengar_gateway.service_layer.ports import IdempotencyRepository

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Response:
    status: int
    payload: str
    replayed: bool = False


class Idempotency:
    def __init__(self, repo: IdempotencyRepository, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._repo = repo
        self._clock = clock

    async def run(self, tenant_id: str, key: str, body: Any,
                  action: Callable[[], Awaitable[Response]]) -> Response:
        """``action()`` once per (tenant, key, body); its response again for a retry."""
        if not is_valid_key(key):
            raise InvalidArgument("Idempotency-Key must be 1-255 printable ASCII characters",
                                  field="Idempotency-Key")
        outcome = await self._repo.reserve(tenant_id, key, body_hash(body), self._clock())
        if outcome.reservation is Reservation.REPLAY:
            return Response(outcome.status, outcome.response, replayed=True)
        if outcome.reservation is Reservation.BODY_MISMATCH:
            raise FailedPrecondition("this Idempotency-Key was already used with a different request body",
                                     reason="idempotency-key-reused")
        if outcome.reservation is Reservation.IN_FLIGHT:
            raise FailedPrecondition("a request with this Idempotency-Key is still in progress; retry later",
                                     reason="idempotency-request-in-flight", retry_after_s=1)
        try:
            response = await action()
        except BaseException:
            # Nothing was stored for this key, so the client may retry it as it is. (Had the release
            # failed too, the reservation would expire after the lock time.)
            try:
                await self._repo.release(tenant_id, key, outcome.owner)
            except Exception:
                logger.warning("could not release idempotency key of %s", tenant_id, exc_info=True)
            raise
        await self._repo.complete(tenant_id, key, outcome.owner, response.status, response.payload)
        return response
