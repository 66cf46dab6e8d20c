"""Per-tenant import quotas (imports at once, bytes a day, spool bytes), so that one tenant's uploads
cannot fill the collector's disk: refused with RESOURCE_EXHAUSTED, a reason and a Retry-After, and
nothing of a refused upload is kept. Against a real collector, NATS and SecantusDB."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from test_collector_imports import requests, spool_files, start_collector, settings_for  # noqa: F401

from dengar.v1 import collector_pb2

LINE = b'{"text": "halo", "platform": "x", "created_at": "2026-11-20T05:00:00Z"}\n'


def ndjson(size: int) -> bytes:
    return (LINE * (size // len(LINE) + 1))[:size - 1] + b"\n"


def spec(tenant: str = "acme") -> collector_pb2.ImportSpec:
    return collector_pb2.ImportSpec(tenant_id=tenant, filename="p.ndjson")


async def refused(call: Any) -> tuple[str, float]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, info.value.details()
    meta = dict(info.value.trailing_metadata() or ())
    return str(meta.get("dengar-error-reason")), float(meta.get("dengar-retry-after") or 0)


class HeldUpload:
    """An upload that sends ``first`` and then waits, as a slow client does."""

    def __init__(self, tenant: str, first: bytes) -> None:
        self.tenant, self.first, self.go = tenant, first, asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[collector_pb2.StartImportRequest]:
        yield collector_pb2.StartImportRequest(spec=spec(self.tenant))
        yield collector_pb2.StartImportRequest(chunk=self.first)
        await self.go.wait()


async def test_imports_at_once_are_limited_per_tenant(start_collector) -> None:
    c = await start_collector(imports__max_concurrent_per_tenant=1)
    held = HeldUpload("acme", ndjson(500))
    first = asyncio.ensure_future(c.stub.StartImport(held, timeout=20))
    await asyncio.sleep(0.3)
    # An upload still streaming in counts.
    reason, retry = await refused(c.stub.StartImport(requests(spec(), ndjson(100)), timeout=20))
    assert reason == "import-concurrency" and retry >= 1
    # Another tenant has its own quota.
    other = await c.stub.StartImport(requests(spec("globex"), ndjson(100)), timeout=20)
    held.go.set()
    job = await first
    await c.wait(job.id)
    await c.wait(other.id, "globex")
    # Once it has finished, the tenant may import again.
    again = await c.stub.StartImport(requests(spec(), ndjson(100)), timeout=20)
    assert (await c.wait(again.id)).state == collector_pb2.IMPORT_STATE_SUCCEEDED


async def test_bytes_a_day_are_limited_per_tenant(start_collector, tmp_path: Path) -> None:
    c = await start_collector(imports__max_bytes_per_day_per_tenant=10_000)
    job = await c.stub.StartImport(requests(spec(), ndjson(6_000), chunk=1000), timeout=20)
    await c.wait(job.id)
    # Refused once the upload passes what is left today; its partial file is removed.
    reason, retry = await refused(c.stub.StartImport(requests(spec(), ndjson(6_000), chunk=1000), timeout=20))
    assert reason == "import-daily-bytes" and 23 * 3600 < retry <= 24 * 3600
    assert spool_files(tmp_path) == []
    # A file larger than the whole quota can never pass: the 413 kind, not "retry later".
    reason, _ = await refused(c.stub.StartImport(requests(spec("initech"), ndjson(12_000), chunk=1000),
                                                 timeout=20))
    assert reason == "file-too-large"
    # What is left still goes in; then nothing does, refused before any byte is read.
    small = await c.stub.StartImport(requests(spec(), ndjson(3_000)), timeout=20)
    await c.wait(small.id)
    reason, _ = await refused(c.stub.StartImport(requests(spec(), ndjson(1_500)), timeout=20))
    assert reason == "import-daily-bytes"
    assert (await c.stub.StartImport(requests(spec("globex"), ndjson(6_000)), timeout=20)).id


async def test_spool_bytes_are_limited_per_tenant(start_collector, tmp_path: Path) -> None:
    c = await start_collector(imports__max_spool_bytes_per_tenant=5_000)
    held = HeldUpload("acme", ndjson(4_000))
    first = asyncio.ensure_future(c.stub.StartImport(held, timeout=20))
    await asyncio.sleep(0.3)
    reason, retry = await refused(c.stub.StartImport(requests(spec(), ndjson(2_000), chunk=500), timeout=20))
    assert reason == "import-spool-bytes" and retry >= 1
    assert (await c.stub.StartImport(requests(spec("globex"), ndjson(2_000)), timeout=20)).id
    held.go.set()
    await c.wait((await first).id)
    # The file was imported and deleted: its bytes are free again.
    assert (await c.wait((await c.stub.StartImport(requests(spec(), ndjson(4_500)), timeout=20)).id)
            ).state == collector_pb2.IMPORT_STATE_SUCCEEDED


async def test_the_whole_spool_is_limited(start_collector) -> None:
    c = await start_collector(imports__max_spool_bytes_total=5_000)
    held = HeldUpload("acme", ndjson(4_000))
    first = asyncio.ensure_future(c.stub.StartImport(held, timeout=20))
    await asyncio.sleep(0.3)
    reason, _ = await refused(c.stub.StartImport(requests(spec("globex"), ndjson(2_000), chunk=500),
                                                 timeout=20))
    assert reason == "import-spool-bytes"
    held.go.set()
    await c.wait((await first).id)
