"""POST /v1/imports (multipart) and the import status resource, against real MongoDB and a gRPC
ImportService double."""

from __future__ import annotations

import hashlib
import json

from dengar.v1 import collector_pb2
from dengar_gateway.domain.keys import Scope
from dengar_gateway.entrypoints.routers.imports import CHUNK_BYTES


async def test_upload_streams_the_file_in_chunks_with_its_spec(gateway, fakes) -> None:
    key = await gateway.new_key("acme", Scope.INGEST)
    # Several chunks' worth, so the upload is streamed rather than sent in one message.
    data = b"id,body,date\n" + b"".join(b"%d,halo dunia,2026-11-20 12:00\n" % i for i in range(30_000))
    assert len(data) > 2 * CHUNK_BYTES
    resp = await gateway.client.post(
        "/v1/imports", headers=key.headers, files={"file": ("export.csv", data, "text/csv")},
        data={"map": ["text=body", "created_at=date,external_id=id"], "timezone": "Asia/Jakarta",
              "timestamp_format": "%Y-%m-%d %H:%M", "default_platform": "twitter", "delimiter": ","})
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert resp.headers["location"] == f"/v1/imports/{job['id']}"
    assert (job["state"], job["progress"], job["bytes_total"]) == ("queued", 0.0, len(data))
    assert job["sha256"] == hashlib.sha256(data).hexdigest() and job["filename"] == "export.csv"

    [(spec, received, sizes)] = fakes.imports_servicer.uploads
    assert received == data
    assert len(sizes) >= 3 and max(sizes) <= CHUNK_BYTES
    assert (spec.tenant_id, spec.filename, spec.timezone, spec.default_platform) == (
        "acme", "export.csv", "Asia/Jakarta", "twitter")
    assert dict(spec.mapping) == {"text": "body", "created_at": "date", "external_id": "id"}
    assert spec.timestamp_format == "%Y-%m-%d %H:%M"


async def test_a_json_mapping_object_is_accepted(gateway, fakes) -> None:
    key = await gateway.new_key("acme", Scope.INGEST)
    resp = await gateway.client.post(
        "/v1/imports", headers=key.headers, files={"file": ("posts.json", b"[]", "application/json")},
        data={"mapping": json.dumps({"text": "full_text", "author.handle": "user.screen_name"})})
    assert resp.status_code == 202, resp.text
    [(spec, _, _)] = fakes.imports_servicer.uploads
    assert dict(spec.mapping) == {"text": "full_text", "author.handle": "user.screen_name"}


async def test_status_resource_shows_progress_counts_and_line_errors(gateway, fakes) -> None:
    key = await gateway.new_key("acme", Scope.INGEST)
    resp = await gateway.client.post("/v1/imports", headers=key.headers,
                                     files={"file": ("a.ndjson", b"{}\n" * 100, "application/x-ndjson")})
    job_id = resp.json()["id"]
    job = fakes.imports_servicer.jobs["acme"][0]
    job.state = collector_pb2.IMPORT_STATE_RUNNING
    job.bytes_processed, job.rows_read, job.accepted, job.rejected, job.errors_total = 75, 25, 24, 1, 1
    job.errors.add(line=7, field="created_at", message="missing")
    job.started_at.FromSeconds(1_763_614_800)

    got = await gateway.client.get(f"/v1/imports/{job_id}", headers=key.headers)
    assert got.status_code == 200, got.text
    out = got.json()
    assert (out["state"], out["progress"], out["rows_read"], out["accepted"], out["rejected"]) == (
        "running", 25.0, 25, 24, 1)
    assert out["errors"] == [{"line": 7, "field": "created_at", "message": "missing"}]
    assert out["started_at"] == "2025-11-20T05:00:00Z" and out["finished_at"] is None

    job.state = collector_pb2.IMPORT_STATE_SUCCEEDED
    assert (await gateway.client.get(f"/v1/imports/{job_id}", headers=key.headers)).json()["progress"] == 100


async def test_listing_is_paginated_and_per_tenant(gateway, fakes, problem) -> None:
    acme = await gateway.new_key("acme", Scope.INGEST)
    globex = await gateway.new_key("globex", Scope.INGEST)
    ids = []
    for i in range(3):
        resp = await gateway.client.post("/v1/imports", headers=acme.headers,
                                         files={"file": (f"{i}.csv", b"text\nhi\n", "text/csv")})
        ids.append(resp.json()["id"])
    page = (await gateway.client.get("/v1/imports", params={"limit": 2}, headers=acme.headers)).json()
    assert [j["id"] for j in page["data"]] == ids[:0:-1] and page["next_cursor"]
    rest = (await gateway.client.get("/v1/imports", params={"limit": 2, "cursor": page["next_cursor"]},
                                     headers=acme.headers)).json()
    assert [j["id"] for j in rest["data"]] == ids[:1] and rest["next_cursor"] is None
    assert (await gateway.client.get("/v1/imports", headers=globex.headers)).json()["data"] == []
    problem(await gateway.client.get(f"/v1/imports/{ids[0]}", headers=globex.headers), 404)
    [req] = fakes.collector.of("GetImport")
    assert req.tenant_id == "globex"


async def test_bad_uploads_are_problems_and_reach_no_backend(gateway, fakes, problem) -> None:
    key = await gateway.new_key("acme", Scope.INGEST)
    c = gateway.client
    csv_file = {"file": ("a.csv", b"text\nhi\n", "text/csv")}
    problem(await c.post("/v1/imports", headers=key.headers, json={"file": "x"}), 415)
    for data, field in [({"timezone": "Mars/Olympus"}, "timezone"), ({"map": "txt=body"}, "map"),
                        ({"format": "xml"}, "format"), ({"timestamp_format": "kemarin"}, "timestamp_format"),
                        ({"default_platform": "friendster"}, "default_platform"),
                        ({"delimiter": ";;"}, "delimiter"), ({"mapping": "[1]"}, "mapping"),
                        ({"colour": "blue"}, "colour")]:
        doc = problem(await c.post("/v1/imports", headers=key.headers, files=csv_file, data=data), 422)
        assert [e["field"] for e in doc["errors"]] == [field], (data, doc)
    doc = problem(await c.post("/v1/imports", headers=key.headers,
                               files={"data": ("a.csv", b"x", "text/csv")}), 422)
    assert any(e["field"] == "file" for e in doc["errors"])
    problem(await c.post("/v1/imports", headers=key.headers,
                         files={"file": ("posts.txt", b"x", "text/plain")}), 422)
    assert fakes.imports_servicer.uploads == []


async def test_scopes_and_size_limits(gateway_for, fakes, problem) -> None:
    gw = await gateway_for(limits={"import_max_bytes": 64 * 1024})
    reader = await gw.new_key("acme", Scope.READ)
    problem(await gw.client.post("/v1/imports", headers=reader.headers,
                                 files={"file": ("a.csv", b"text\nhi\n", "text/csv")}), 403)
    problem(await gw.client.get("/v1/imports", headers=reader.headers), 403)
    problem(await gw.client.post("/v1/imports", files={"file": ("a.csv", b"x", "text/csv")}), 401)
    key = await gw.new_key("acme", Scope.INGEST)
    # Over the gateway's own limit: refused before anything is read.
    problem(await gw.client.post("/v1/imports", headers=key.headers,
                                 files={"file": ("a.csv", b"x" * 2_000_000, "text/csv")}), 413)
    # Over the collector's limit (the gateway's allows it): the collector's answer becomes a 413 too.
    fakes.imports_servicer.max_bytes = 10_000
    doc = problem(await gw.client.post("/v1/imports", headers=key.headers,
                                       files={"file": ("a.csv", b"x" * 20_000, "text/csv")}), 413)
    assert "too large" in doc["detail"]
    # A JSON body above the default 5 MB limit is still refused elsewhere: the limit is per path.
    assert fakes.imports_servicer.uploads == []


async def test_uploads_in_flight_are_limited_per_tenant_before_the_body_is_read(gateway_for, fakes,
                                                                                problem) -> None:
    import asyncio

    gw = await gateway_for(limits={"import_max_concurrent_per_tenant": 1})
    key = await gw.new_key("acme", Scope.INGEST)
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.ndjson\"\r\n"
            "Content-Type: application/x-ndjson\r\n\r\n").encode()
    tail = f"{{}}\n\r\n--{boundary}--\r\n".encode()
    go, reading = asyncio.Event(), asyncio.Event()

    async def slow_body():
        reading.set()
        yield head
        await go.wait()
        yield tail

    headers = {**key.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    first = asyncio.ensure_future(gw.client.post("/v1/imports", headers=headers, content=slow_body()))
    await asyncio.wait_for(reading.wait(), 10)

    read_second = []

    async def second_body():
        read_second.append(True)
        yield head + tail

    resp = await gw.client.post("/v1/imports", headers=headers, content=second_body())
    doc = problem(resp, 429)
    assert doc["reason"] == "import-concurrency" and resp.headers["retry-after"]
    assert not read_second
    other = await gw.new_key("globex", Scope.INGEST)
    assert (await gw.client.post("/v1/imports", headers=other.headers,
                                 files={"file": ("b.ndjson", b"{}\n")})).status_code == 202
    go.set()
    assert (await first).status_code == 202
    assert (await gw.client.post("/v1/imports", headers=key.headers,
                                 files={"file": ("c.ndjson", b"{}\n")})).status_code == 202
