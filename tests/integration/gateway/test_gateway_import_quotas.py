"""POST /v1/imports against a real collector with per-tenant import quotas: a quota used up for now
is a 429 problem with Retry-After and the quota's reason; a file larger than a whole quota a 413."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from dengar_collector import bootstrap as collector_bootstrap
from dengar_collector.settings import CollectorSettings
from dengar_common.app import ServiceApp
from dengar_common.localinfra import LocalInfra
from dengar_gateway.domain.keys import Scope

LINE = b'{"text": "halo", "platform": "x", "created_at": "2026-11-20T05:00:00Z"}\n'


@pytest.fixture
async def collector(infra: LocalInfra, unique: str, tmp_path: Path
                    ) -> AsyncIterator[collector_bootstrap.Collector]:
    settings = CollectorSettings(
        nats_url=infra.nats_url, mongo_uri=infra.mongo_uri, subject_root=unique, shutdown_grace_s=2.0,
        collector={"grpc_port": 0, "db": f"{unique}_collector", "allow_unencrypted_secrets": True,
                   "scheduler": {"enabled": False},
                   "imports": {"dir": str(tmp_path / "spool"), "max_bytes_per_day_per_tenant": 10_000}})
    async with ServiceApp("dengar-collector", grace_s=settings.shutdown_grace_s) as app:
        running = await collector_bootstrap.start(app, settings)
        await app.ready()
        yield running


@pytest.fixture
async def gw(gateway_for: Callable[..., Any], collector: collector_bootstrap.Collector) -> Any:
    return await gateway_for(collector_target=collector.target)


async def test_a_used_up_quota_is_429_with_retry_after(gw, problem) -> None:
    key = (await gw.new_key("acme", Scope.INGEST)).headers
    data = LINE * 80  # ~6 KB
    first = await gw.client.post("/v1/imports", headers=key, files={"file": ("a.ndjson", data)})
    assert first.status_code == 202, first.text
    resp = await gw.client.post("/v1/imports", headers=key, files={"file": ("b.ndjson", data)})
    doc = problem(resp, 429)
    assert doc["reason"] == "import-daily-bytes" and doc["type"].endswith("import-quota")
    assert int(resp.headers["retry-after"]) > 3600
    other = (await gw.new_key("globex", Scope.INGEST)).headers
    doc = problem(await gw.client.post("/v1/imports", headers=other,
                                       files={"file": ("c.ndjson", LINE * 200)}), 413)
    assert "quota" in doc["detail"]
