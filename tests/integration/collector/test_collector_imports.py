"""The ImportService in-process (port 0) against real nats-server and SecantusDB: uploads streamed
over gRPC, jobs run in the background, resumed after a restart."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from collector_harness import RunningCollector, collector_settings

from dengar.v1 import collector_pb2, collector_pb2_grpc, common_pb2
from dengar_collector.adapters.import_spool import ImportSpool
from dengar_collector.adapters.import_store import MongoImportStore
from dengar_collector.domain.import_job import ImportJob, ImportSpec, ImportState
from dengar_collector.settings import CollectorSettings
from dengar_common.bus import Subjects
from dengar_common.grpcutil import insecure_channel
from dengar_common.imports import Position, iter_records
from dengar_common.localinfra import LocalInfra

RECENT = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")


def csv_export(n: int) -> tuple[bytes, dict[int, str]]:
    """``n`` data rows in a CSV with bad rows among them; the bad rows' lines and failing fields."""
    lines = ["id,body,date,user,likes"]
    bad: dict[int, str] = {}
    row = 0
    line_no = 1  # of the header
    while row < n:
        line_no += lines[-1].count("\n") + 1
        if row % 50 == 7:
            lines.append(f'{row},,{RECENT},u{row},1')                      # no text
            bad[line_no] = "text"
        elif row % 50 == 19:
            lines.append(f'{row},tanggal rusak,kemarin,u{row},1')            # unreadable date
            bad[line_no] = "created_at"
        elif row % 50 == 31:
            lines.append(f'{row},terlalu tua,1999-01-01 00:00:00,u{row},1')  # the collector refuses it
            bad[line_no] = "created_at"
        elif row % 50 == 43:
            lines.append(f'{row},"paket ""telat""\nlagi, dua baris",{RECENT},u{row},"1,234"')  # two lines
        else:
            lines.append(f'{row},Kirimin telat lagi #{row},{RECENT},u{row},{row}')
        row += 1
    return ("\n".join(lines) + "\n").encode("utf-8"), bad


def requests(spec: collector_pb2.ImportSpec, data: bytes, chunk: int = 4096
             ) -> Iterator[collector_pb2.StartImportRequest]:
    yield collector_pb2.StartImportRequest(spec=spec)
    for i in range(0, len(data), chunk):
        yield collector_pb2.StartImportRequest(chunk=data[i:i + chunk])


CSV_SPEC = dict(filename="export.csv", mapping={"external_id": "id", "text": "body", "created_at": "date",
                                                 "author.handle": "user"},
                timezone="Asia/Jakarta", default_platform="x")


@pytest.fixture
def settings_for(infra: LocalInfra, unique: str, tmp_path: Path) -> Callable[..., CollectorSettings]:
    def build(**overrides: Any) -> CollectorSettings:
        values: dict[str, Any] = dict(
            db=f"c_{unique}", grpc_port=0, scheduler__enabled=False,
            imports__dir=str(tmp_path / "spool"), imports__batch_size=40)
        values.update(overrides)
        return collector_settings(dict(nats_url=infra.nats_url, mongo_uri=infra.mongo_uri,
                                       subject_root=unique, shutdown_grace_s=2.0), **values)

    return build


class Running:
    def __init__(self, app: RunningCollector, channel: grpc.aio.Channel) -> None:
        self.app = app
        self.channel = channel
        self.stub = collector_pb2_grpc.ImportServiceStub(channel)

    async def start_import(self, data: bytes, **spec: Any) -> collector_pb2.ImportJob:
        spec.setdefault("tenant_id", "acme")
        return await self.stub.StartImport(requests(collector_pb2.ImportSpec(**spec), data), timeout=20)

    async def wait(self, job_id: str, tenant_id: str = "acme") -> collector_pb2.ImportJob:
        for _ in range(400):
            job = await self.stub.GetImport(collector_pb2.GetImportRequest(tenant_id=tenant_id, id=job_id),
                                            timeout=5)
            if job.state in (collector_pb2.IMPORT_STATE_SUCCEEDED, collector_pb2.IMPORT_STATE_FAILED):
                return job
            await asyncio.sleep(0.05)
        raise AssertionError(f"import {job_id} did not finish: {job}")


@pytest.fixture
async def start_collector(settings_for: Callable[..., CollectorSettings]
                          ) -> AsyncIterator[Callable[..., Any]]:
    started: list[Running] = []

    async def start(**overrides: Any) -> Running:
        app = RunningCollector(settings_for(**overrides))
        await app.start()
        running = Running(app, insecure_channel(app.target))
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in reversed(started):
            await running.channel.close()
            await running.app.stop()


async def stored_posts(nats_client: Any, unique: str) -> list[common_pb2.Post]:
    js = nats_client.jetstream()
    stream = Subjects(unique).stream("collected")
    info = await js.stream_info(stream)
    if not info.state.messages:
        return []
    return [common_pb2.Post.FromString((await js.get_msg(stream, seq)).data)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)]


def spool_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "spool").rglob("*") if p.is_file()]


async def test_csv_import_runs_to_success_with_line_numbered_errors(
        start_collector, nats_client, unique, tmp_path: Path) -> None:
    c = await start_collector()
    data, bad = csv_export(300)
    queued = await c.start_import(data, **CSV_SPEC)
    assert queued.state == collector_pb2.IMPORT_STATE_QUEUED
    assert queued.id.startswith("imp_") and queued.tenant_id == "acme" and queued.format == "csv"
    assert (queued.bytes_total, queued.sha256) == (len(data), hashlib.sha256(data).hexdigest())

    job = await c.wait(queued.id)
    assert job.state == collector_pb2.IMPORT_STATE_SUCCEEDED, job.message
    assert (job.rows_read, job.accepted, job.rejected) == (300, 300 - len(bad), len(bad))
    assert job.errors_total == len(bad) == len(job.errors)
    assert [(e.line, e.field) for e in job.errors] == sorted(bad.items())
    assert job.bytes_processed == job.bytes_total
    assert job.started_at.seconds and job.finished_at.seconds >= job.started_at.seconds

    posts = await stored_posts(nats_client, unique)
    assert len(posts) == job.accepted
    assert {p.source_id for p in posts} == {f"import:{queued.id}"}
    by_id = {p.external_id: p for p in posts}
    two_lines = by_id["43"]
    assert two_lines.text == 'paket "telat"\nlagi, dua baris' and two_lines.engagement.likes == 1234
    assert by_id["1"].author.handle == "u1" and by_id["1"].tenant_id == "acme"
    # Rows after the two-line cell still carry their own line numbers (checked through the errors).
    assert spool_files(tmp_path) == []


async def test_reimporting_the_same_file_publishes_nothing_new(start_collector, nats_client, unique) -> None:
    c = await start_collector()
    # No external ids: each row's id is a hash of its content, the same on every import.
    rows = [{"text": f"halo {i}", "created_at": "2026-11-20T05:00:00Z", "platform": "x"} for i in range(60)]
    data = json.dumps({"source": "export", "posts": rows}).encode()
    first = await c.wait((await c.start_import(data, filename="posts.json")).id)
    assert (first.state, first.accepted) == (collector_pb2.IMPORT_STATE_SUCCEEDED, 60)
    count = len(await stored_posts(nats_client, unique))
    assert count == 60
    second = await c.wait((await c.start_import(data, filename="again.json")).id)
    assert (second.state, second.accepted, second.sha256) == (first.state, 60, first.sha256)
    assert second.id != first.id
    assert len(await stored_posts(nats_client, unique)) == count


@pytest.mark.parametrize("spec,needle", [
    (dict(tenant_id=""), "tenant"),
    (dict(format="xml"), "format"),
    (dict(filename="posts.txt"), "format"),
    (dict(timezone="Mars/Olympus"), "time zone"),
    (dict(mapping={"txt": "body"}), "mapping"),
    (dict(timestamp_format="yesterday"), "timestamp format"),
    (dict(default_platform="friendster"), "platform"),
    (dict(delimiter=";;"), "delimiter"),
])
async def test_a_bad_spec_is_invalid_argument_and_stores_nothing(
        start_collector, tmp_path: Path, spec: dict[str, Any], needle: str) -> None:
    c = await start_collector()
    full = {"tenant_id": "acme", "filename": "posts.csv", **spec}
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await c.stub.StartImport(requests(collector_pb2.ImportSpec(**full), b"text\nhi\n"), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in (info.value.details() or "")
    listed = await c.stub.ListImports(collector_pb2.ListImportsRequest(tenant_id="acme"), timeout=5)
    assert list(listed.imports) == [] and spool_files(tmp_path) == []


async def test_protocol_errors_and_oversized_files(start_collector, tmp_path: Path) -> None:
    c = await start_collector(imports__max_bytes=10_000)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await c.stub.StartImport(iter([collector_pb2.StartImportRequest(chunk=b"x")]), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    spec = collector_pb2.ImportSpec(tenant_id="acme", filename="a.ndjson")
    twice = [collector_pb2.StartImportRequest(spec=spec), collector_pb2.StartImportRequest(spec=spec)]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await c.stub.StartImport(iter(twice), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await c.stub.StartImport(requests(spec, b"{}\n" * 4000), timeout=10)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    listed = await c.stub.ListImports(collector_pb2.ListImportsRequest(tenant_id="acme"), timeout=5)
    assert list(listed.imports) == [] and spool_files(tmp_path) == []


async def test_a_broken_json_array_fails_the_job_with_its_line(start_collector, nats_client, unique,
                                                               tmp_path: Path) -> None:
    c = await start_collector()
    good = ",\n".join(json.dumps({"external_id": str(i), "text": "ok", "platform": "x",
                                  "created_at": "2026-11-20T05:00:00Z"}) for i in range(50))
    data = f"[\n{good},\n{{\"text\": oops}}\n]".encode()
    job = await c.wait((await c.start_import(data, filename="broken.json")).id)
    assert job.state == collector_pb2.IMPORT_STATE_FAILED
    assert "line 52" in job.message and "JSON" in job.message
    assert job.finished_at.seconds
    # What was read before the break is in (and stays in: a re-import after a fix adds the rest).
    assert job.accepted == 50 and len(await stored_posts(nats_client, unique)) == 50
    assert spool_files(tmp_path) == []


async def test_imports_are_per_tenant_and_paginated(start_collector) -> None:
    c = await start_collector()
    ids = []
    for i in range(3):
        data = f'{{"text": "t{i}", "platform": "x", "created_at": "2026-11-20T05:00:00Z"}}\n'.encode()
        ids.append((await c.start_import(data, filename=f"{i}.ndjson")).id)
    other = await c.start_import(b"", tenant_id="globex", filename="empty.csv")
    for job_id in ids:
        await c.wait(job_id)
    empty = await c.wait(other.id, "globex")
    assert (empty.state, empty.rows_read) == (collector_pb2.IMPORT_STATE_SUCCEEDED, 0)

    with pytest.raises(grpc.aio.AioRpcError) as info:
        await c.stub.GetImport(collector_pb2.GetImportRequest(tenant_id="globex", id=ids[0]), timeout=5)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    page = await c.stub.ListImports(collector_pb2.ListImportsRequest(tenant_id="acme", page_size=2),
                                    timeout=5)
    assert len(page.imports) == 2 and page.next_page_token
    rest = await c.stub.ListImports(collector_pb2.ListImportsRequest(
        tenant_id="acme", page_size=2, page_token=page.next_page_token), timeout=5)
    assert len(rest.imports) == 1 and not rest.next_page_token
    listed = [*page.imports, *rest.imports]
    assert sorted(j.id for j in listed) == sorted(ids)
    keys = [(j.created_at.ToMilliseconds(), j.id) for j in listed]
    assert keys == sorted(keys, reverse=True)  # newest first
    theirs = await c.stub.ListImports(collector_pb2.ListImportsRequest(tenant_id="globex"), timeout=5)
    assert [j.id for j in theirs.imports] == [other.id]
    # Malformed cursors, including ones that are valid JSON but no position (1e400 is infinity, whose
    # int() overflowed into an internal error, a 502 through the gateway), are the caller's mistake.
    for token in ["%%", *(base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=") for raw in (
            '[1e400,"x"]', f'[1e400,"{ids[0]}"]', f'[-1e400,"{ids[0]}"]', f'[1e20,"{ids[0]}"]',
            f'[NaN,"{ids[0]}"]', f'[true,"{ids[0]}"]', '[1,2]', '[1,"x"]', '{}', '[]', '"x"', '[1,"x",3]',
            '[' * 5000 + ']' * 5000))]:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await c.stub.ListImports(collector_pb2.ListImportsRequest(tenant_id="acme", page_token=token),
                                     timeout=5)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, token
        assert dict(info.value.trailing_metadata() or ()).get("dengar-error-field") == "page_token"


async def test_a_job_interrupted_after_a_checkpoint_resumes_there(
        settings_for, start_collector, mongo_client, nats_client, unique) -> None:
    """The state a crash leaves behind (RUNNING, checkpoint after row 100, a dead owner's lease
    expired): the next collector publishes the rest, and only the rest."""
    settings = settings_for()
    data, bad = csv_export(200)
    records = list(iter_records(io.BytesIO(data), "csv"))
    checkpoint: Position = records[99].end
    store = MongoImportStore(mongo_client[settings.collector.db])
    await store.ensure_indexes()
    spool = ImportSpool(settings.collector.imports.dir, max_bytes=settings.collector.imports.max_bytes)
    spool.prepare()
    writer = spool.create("acme", "imp_00000000000000aa")
    writer.write(data)
    size, sha = writer.commit()
    bad_before = sum(1 for line in bad if line < checkpoint.line)
    job = ImportJob(id="imp_00000000000000aa", tenant_id="acme", spec=ImportSpec(**CSV_SPEC), format="csv",
                    state=ImportState.RUNNING, bytes_total=size, sha256=sha,
                    created_at=datetime.now(UTC).replace(microsecond=0), rows_read=100,
                    accepted=100 - bad_before, rejected=bad_before, errors_total=bad_before,
                    checkpoint=checkpoint, bytes_processed=checkpoint.offset)
    await store.insert("acme", job, owner="dead-replica",
                       lease_until=datetime.now(UTC) - timedelta(seconds=1))

    c = await start_collector()
    done = await c.wait(job.id)
    assert done.state == collector_pb2.IMPORT_STATE_SUCCEEDED, done.message
    assert (done.rows_read, done.accepted, done.rejected) == (200, 200 - len(bad), len(bad))
    published = {p.external_id for p in await stored_posts(nats_client, unique)}
    assert published == {str(i) for i in range(100, 200)} - {str(r) for r in (107, 119, 131, 157, 169, 181)}


async def test_a_collector_stopped_while_the_bus_is_down_loses_nothing(
        start_collector, nats_client, unique, tmp_path: Path) -> None:
    first = await start_collector(publish__timeout_s=0.5)
    await nats_client.jetstream().delete_stream(Subjects(unique).stream("collected"))
    data, bad = csv_export(120)
    queued = await first.start_import(data, **CSV_SPEC)
    for _ in range(200):
        job = await first.stub.GetImport(collector_pb2.GetImportRequest(tenant_id="acme", id=queued.id))
        if job.state == collector_pb2.IMPORT_STATE_RUNNING:
            break
        await asyncio.sleep(0.05)
    assert job.state == collector_pb2.IMPORT_STATE_RUNNING and job.rows_read == 0
    await first.channel.close()
    await first.app.stop()

    # The next start recreates the stream, finds the job given up on shutdown and runs it through.
    second = await start_collector()
    done = await second.wait(queued.id)
    assert done.state == collector_pb2.IMPORT_STATE_SUCCEEDED, done.message
    assert (done.rows_read, done.accepted) == (120, 120 - len(bad))
    assert len(await stored_posts(nats_client, unique)) == done.accepted
    assert spool_files(tmp_path) == []


# -- per-tenant quotas (imports at once, bytes a day, spool bytes), so that one tenant's uploads cannot
# fill the collector's disk: refused with RESOURCE_EXHAUSTED, a reason and a Retry-After, and nothing
# of a refused upload is kept.

LINE = b'{"text": "halo", "platform": "x", "created_at": "2026-11-20T05:00:00Z"}\n'


def ndjson(size: int) -> bytes:
    return (LINE * (size // len(LINE) + 1))[:size - 1] + b"\n"


def quota_spec(tenant: str = "acme") -> collector_pb2.ImportSpec:
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
        yield collector_pb2.StartImportRequest(spec=quota_spec(self.tenant))
        yield collector_pb2.StartImportRequest(chunk=self.first)
        await self.go.wait()


async def test_imports_at_once_are_limited_per_tenant(start_collector) -> None:
    c = await start_collector(imports__max_concurrent_per_tenant=1)
    held = HeldUpload("acme", ndjson(500))
    first = asyncio.ensure_future(c.stub.StartImport(held, timeout=20))
    await asyncio.sleep(0.3)
    # An upload still streaming in counts.
    reason, retry = await refused(c.stub.StartImport(requests(quota_spec(), ndjson(100)), timeout=20))
    assert reason == "import-concurrency" and retry >= 1
    # Another tenant has its own quota.
    other = await c.stub.StartImport(requests(quota_spec("globex"), ndjson(100)), timeout=20)
    held.go.set()
    job = await first
    await c.wait(job.id)
    await c.wait(other.id, "globex")
    # Once it has finished, the tenant may import again.
    again = await c.stub.StartImport(requests(quota_spec(), ndjson(100)), timeout=20)
    assert (await c.wait(again.id)).state == collector_pb2.IMPORT_STATE_SUCCEEDED


async def test_bytes_a_day_are_limited_per_tenant(start_collector, tmp_path: Path) -> None:
    c = await start_collector(imports__max_bytes_per_day_per_tenant=10_000)
    job = await c.stub.StartImport(requests(quota_spec(), ndjson(6_000), chunk=1000), timeout=20)
    await c.wait(job.id)
    # Refused once the upload passes what is left today; its partial file is removed.
    reason, retry = await refused(c.stub.StartImport(requests(quota_spec(), ndjson(6_000), chunk=1000),
                                                     timeout=20))
    assert reason == "import-daily-bytes" and 23 * 3600 < retry <= 24 * 3600
    assert spool_files(tmp_path) == []
    # A file larger than the whole quota can never pass: the 413 kind, not "retry later".
    reason, _ = await refused(c.stub.StartImport(requests(quota_spec("initech"), ndjson(12_000), chunk=1000),
                                                 timeout=20))
    assert reason == "file-too-large"
    # What is left still goes in; then nothing does, refused before any byte is read.
    small = await c.stub.StartImport(requests(quota_spec(), ndjson(3_000)), timeout=20)
    await c.wait(small.id)
    reason, _ = await refused(c.stub.StartImport(requests(quota_spec(), ndjson(1_500)), timeout=20))
    assert reason == "import-daily-bytes"
    assert (await c.stub.StartImport(requests(quota_spec("globex"), ndjson(6_000)), timeout=20)).id


async def test_spool_bytes_are_limited_per_tenant(start_collector, tmp_path: Path) -> None:
    c = await start_collector(imports__max_spool_bytes_per_tenant=5_000)
    held = HeldUpload("acme", ndjson(4_000))
    first = asyncio.ensure_future(c.stub.StartImport(held, timeout=20))
    await asyncio.sleep(0.3)
    reason, retry = await refused(c.stub.StartImport(requests(quota_spec(), ndjson(2_000), chunk=500),
                                                     timeout=20))
    assert reason == "import-spool-bytes" and retry >= 1
    assert (await c.stub.StartImport(requests(quota_spec("globex"), ndjson(2_000)), timeout=20)).id
    held.go.set()
    await c.wait((await first).id)
    # The file was imported and deleted: its bytes are free again.
    assert (await c.wait((await c.stub.StartImport(requests(quota_spec(), ndjson(4_500)), timeout=20)).id)
            ).state == collector_pb2.IMPORT_STATE_SUCCEEDED


async def test_the_whole_spool_is_limited(start_collector) -> None:
    c = await start_collector(imports__max_spool_bytes_total=5_000)
    held = HeldUpload("acme", ndjson(4_000))
    first = asyncio.ensure_future(c.stub.StartImport(held, timeout=20))
    await asyncio.sleep(0.3)
    reason, _ = await refused(c.stub.StartImport(requests(quota_spec("globex"), ndjson(2_000), chunk=500),
                                                 timeout=20))
    assert reason == "import-spool-bytes"
    held.go.set()
    await c.wait((await first).id)
