"""The collector run in-process on the kit's ``ServiceApp``, as ``python -m dengar_collector`` runs it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dengar_collector import bootstrap
from dengar_collector.settings import CollectorSettings
from dengar_common.app import ServiceApp


class RunningCollector:
    """``await start()`` ... ``await stop()`` around ``bootstrap.start`` (adapters injectable)."""

    def __init__(self, settings: CollectorSettings, **adapters: Any) -> None:
        self.settings = settings
        self._adapters = adapters
        self._app: ServiceApp | None = None
        self._built: bootstrap.Collector | None = None

    @property
    def built(self) -> bootstrap.Collector:
        assert self._built is not None, "not started"
        return self._built

    @property
    def port(self) -> int:
        return self.built.port

    @property
    def target(self) -> str:
        return self.built.target

    async def start(self) -> None:
        app = ServiceApp("dengar-collector", grace_s=self.settings.shutdown_grace_s)
        await app.__aenter__()
        try:
            self._built = await bootstrap.start(app, self.settings, **self._adapters)
            await app.ready()
        except BaseException:
            await app.aclose()
            raise
        self._app = app

    async def stop(self) -> None:
        if self._app is not None:
            app, self._app = self._app, None
            await app.aclose()


def collector_settings(common: Mapping[str, Any], **collector: Any) -> CollectorSettings:
    """Settings with ``DENGAR_COLLECTOR__*`` values given by path, as in the environment variable:
    ``collector_settings(common, grpc_port=0, scheduler__max_per_tenant=4)``."""
    nested: dict[str, Any] = {}
    for path, value in collector.items():
        *parents, leaf = path.split("__")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    # Tests that do not give a key run in the explicit development mode (plaintext secrets).
    nested.setdefault("allow_unencrypted_secrets", True)
    return CollectorSettings(**common, collector=nested)
