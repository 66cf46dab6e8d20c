"""The scheduled alert evaluation: every ``interval_s``, one round of ``AlertEngine.evaluate``."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from dengar_insights.service_layer.alerts import AlertEngine

logger = logging.getLogger(__name__)


class AlertScheduler:
    """A worker for ``ServiceApp.run_worker``; a failed round is logged and the next one runs."""

    def __init__(self, engine: AlertEngine, interval_s: float) -> None:
        self._engine = engine
        self._interval = interval_s
        self._stopping = asyncio.Event()
        self.rounds = 0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._engine.evaluate()
            except Exception:
                logger.exception("alert evaluation round failed")
            self.rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
