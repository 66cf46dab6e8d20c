"""The monitoring inbox and export routes against the real insights servicer and store (no double): versions
and 409s, notes, bulk, counts, filters, audit, bad input and tenant isolation."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dengar.v1 import common_pb2, insights_pb2_grpc
from dengar_common.grpcutil import make_server, set_serving
from dengar_common.ids import mention_id
from dengar_gateway.domain.keys import Scope
from dengar_gateway.entrypoints import cli_export
from dengar_insights.adapters.audit import MongoAuditLog
from dengar_insights.adapters.mentions import MentionRepository
from dengar_insights.adapters.rollups import RollupRepository
from dengar_insights.entrypoints.grpc_api import InsightsServicer
from dengar_insights.entrypoints.protos import prepare_enriched
from dengar_insights.service_layer.inbox import Inbox
from dengar_insights.service_layer.ingest import MentionIngestor
from dengar_insights.service_layer.queries import InsightsQueries

T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)
SERVICE = "dengar.v1.InsightsService"


def post(tenant: str, external_id: str, text: str, at: datetime) -> common_pb2.EnrichedPost:
    p = common_pb2.Post(id=mention_id(tenant, "x", external_id), tenant_id=tenant,
                        platform=common_pb2.PLATFORM_X, external_id=external_id, text=text,
                        author=common_pb2.Author(id="a1", handle="budi"))
    p.created_at.FromDatetime(at)
    p.collected_at.FromDatetime(at)
    enr = common_pb2.Enrichment(language="id", model_version="test", sentiment=common_pb2.SentimentResult(
        label=common_pb2.SENTIMENT_NEGATIVE, negative=0.8, neutral=0.1, positive=0.1))
    return common_pb2.EnrichedPost(post=p, enrichment=enr)


async def seed(db: Any, tenant: str, n: int) -> list[str]:
    ingestor = MentionIngestor(MentionRepository(db), RollupRepository(db))
    ids = []
    for i in range(n):
        m = prepare_enriched(post(tenant, f"{tenant}-{i}", f"Paket telat {i} ✓, \"quoted\"",
                                  T0 + timedelta(minutes=i)))
        await ingestor.ingest(m)
        ids.append(m.id)
    return ids


@pytest.fixture
async def insights_db(mongo_client, unique) -> Any:
    return mongo_client[f"{unique}_insights"]


@pytest.fixture
async def real_insights(insights_db) -> AsyncIterator[int]:
    """The real InsightsService (searches and the inbox) on the real store."""
    mentions, rollups, audit = (MentionRepository(insights_db), RollupRepository(insights_db),
                                MongoAuditLog(insights_db))
    await mentions.ensure_indexes()
    await rollups.ensure_indexes()
    await audit.ensure_indexes()
    servicer = InsightsServicer(InsightsQueries(mentions, rollups), None, None, None,  # type: ignore[arg-type]  # only the mention reads and the inbox are called
                                inbox=Inbox(mentions, audit))
    server, health = make_server(
        [lambda s: insights_pb2_grpc.add_InsightsServiceServicer_to_server(servicer, s)], [SERVICE])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await set_serving(health, [SERVICE], True)
    try:
        yield port
    finally:
        await server.stop(0)


@pytest.fixture
async def inbox(gateway_for, real_insights, insights_db) -> Any:
    gw = await gateway_for(insights_target=f"127.0.0.1:{real_insights}")
    gw.ids = await seed(insights_db, "acme", 4)
    gw.other_ids = await seed(insights_db, "globex", 1)
    return gw


async def test_conditional_changes_conflict_with_409(inbox, problem) -> None:
    h = (await inbox.new_key("acme")).headers
    mid = inbox.ids[0]
    resp = await inbox.client.patch(f"/v1/mentions/{mid}/workflow", headers={**h, "If-Match": '"0"'},
                                    json={"state": "in_progress", "assignee": "dina", "tags": ["Refund"]})
    assert resp.status_code == 200, resp.text
    assert resp.headers["etag"] == '"1"'
    assert resp.json()["state"] == "in_progress" and resp.json()["tags"] == ["refund"]
    assert resp.json()["updated_by"] == "test"
    stale = await inbox.client.patch(f"/v1/mentions/{mid}/workflow", headers={**h, "If-Match": '"0"'},
                                     json={"state": "resolved"})
    doc = problem(stale, 409)
    assert doc["type"] == "urn:dengar:problem:version-conflict" and doc["field"] == "version"
    assert problem(await inbox.client.patch(f"/v1/mentions/{mid}/workflow", headers=h,
                                            json={"state": "ignored", "version": 0}), 409)
    resp = await inbox.client.patch(f"/v1/mentions/{mid}/workflow", headers=h,
                                    json={"state": "resolved", "version": 1})
    assert resp.status_code == 200 and resp.json()["version"] == 2
    note = await inbox.client.post(f"/v1/mentions/{mid}/notes", headers={**h, "If-Match": 'W/"2"'},
                                   json={"text": "Refunded ✓"})
    assert note.status_code == 201, note.text
    assert [(n["author"], n["text"]) for n in note.json()["notes"]] == [("test", "Refunded ✓")]
    # Shown on the mention and by the inbox filters.
    one = (await inbox.client.get(f"/v1/mentions/{mid}", headers=h)).json()
    assert one["workflow"]["state"] == "resolved" and one["workflow"]["version"] == 3
    found = (await inbox.client.get("/v1/mentions?state=resolved&tag=refund", headers=h)).json()["data"]
    assert [m["id"] for m in found] == [mid]
    assert len((await inbox.client.get("/v1/mentions?state=open", headers=h)).json()["data"]) == 3
    trail = (await inbox.client.get(f"/v1/mentions/{mid}/audit", headers=h)).json()["data"]
    assert [(e["actor"], e["field"], e["new"], e["version"]) for e in trail] == [
        ("test", "state", "in_progress", 1), ("test", "assignee", "dina", 1),
        ("test", "tags", ["refund"], 1), ("test", "state", "resolved", 2),
        ("test", "note", "Refunded ✓", 3)]


async def test_bulk_and_counts(inbox) -> None:
    h = (await inbox.new_key("acme")).headers
    resp = await inbox.client.post("/v1/mentions/workflow:bulk", headers=h, json={
        "ids": [*inbox.ids[:3], "nope"], "change": {"state": "ignored", "add_tags": ["spam"]}})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"updated": inbox.ids[:3], "missing": ["nope"]}
    counts = (await inbox.client.get("/v1/inbox/counts", headers=h)).json()
    assert counts == {"open": 1, "in_progress": 0, "resolved": 0, "ignored": 3, "total": 4}
    found = (await inbox.client.get("/v1/mentions?tag=spam&sort=time", headers=h)).json()["data"]
    assert [m["id"] for m in found] == inbox.ids[:3]
    # By filter: the query string of GET /v1/mentions instead of ids.
    resp = await inbox.client.post("/v1/mentions/workflow:bulk?state=ignored&tag=spam", headers=h,
                                   json={"change": {"state": "resolved", "assignee": "rudi"}})
    assert resp.status_code == 200, resp.text
    assert sorted(resp.json()["updated"]) == sorted(inbox.ids[:3])
    counts = (await inbox.client.get("/v1/inbox/counts", headers=h)).json()
    assert (counts["resolved"], counts["ignored"], counts["open"]) == (3, 0, 1)
    resp = await inbox.client.post("/v1/mentions/workflow:bulk?tag=nothing", headers=h,
                                   json={"change": {"state": "resolved"}})
    assert resp.json() == {"updated": [], "missing": []}


async def test_bad_input_names_the_field(inbox, problem) -> None:
    h = (await inbox.new_key("acme")).headers
    url = f"/v1/mentions/{inbox.ids[0]}/workflow"
    for body, field in [({"state": "done"}, "state"), ({"tags": [""]}, "tags.0"),
                        ({"note": "x" * 4001}, "note"), ({"version": -1}, "version"),
                        ({"colour": "red"}, "colour")]:
        doc = problem(await inbox.client.patch(url, headers=h, json=body), 422)
        assert [e["field"] for e in doc["errors"]] == [field], body
    doc = problem(await inbox.client.patch(url, headers={**h, "If-Match": "abc"},
                                           json={"state": "open"}), 422)
    assert doc["errors"][0]["field"] == "If-Match"
    # Nothing to change: the backend's INVALID_ARGUMENT, as a 422 naming its field.
    doc = problem(await inbox.client.patch(url, headers=h, json={}), 422)
    assert doc["errors"][0]["field"] == "state"
    doc = problem(await inbox.client.get("/v1/mentions?state=done", headers=h), 422)
    assert [e["field"] for e in doc["errors"]] == ["state"]
    problem(await inbox.client.post("/v1/mentions/workflow:bulk", headers=h,
                                    json={"ids": [], "change": {"state": "open"}}), 422)
    reader = (await inbox.new_key("acme", Scope.READ)).headers
    problem(await inbox.client.patch(url, headers=reader, json={"state": "resolved"}), 403)


async def test_tenant_isolation(inbox, problem) -> None:
    a = (await inbox.new_key("acme")).headers
    b = (await inbox.new_key("globex")).headers
    mid = inbox.ids[0]
    assert (await inbox.client.patch(f"/v1/mentions/{mid}/workflow", headers=a,
                                     json={"state": "resolved", "note": "secret"})).status_code == 200
    problem(await inbox.client.patch(f"/v1/mentions/{mid}/workflow", headers=b,
                                     json={"state": "open"}), 404)
    problem(await inbox.client.post(f"/v1/mentions/{mid}/notes", headers=b, json={"text": "hi"}), 404)
    problem(await inbox.client.get(f"/v1/mentions/{mid}/audit", headers=b), 404)
    problem(await inbox.client.get(f"/v1/mentions/{mid}", headers=b), 404)
    bulk = await inbox.client.post("/v1/mentions/workflow:bulk", headers=b,
                                   json={"ids": [mid], "change": {"state": "ignored"}})
    assert bulk.json() == {"updated": [], "missing": [mid]}
    assert (await inbox.client.get("/v1/inbox/counts", headers=b)).json()["resolved"] == 0
    assert (await inbox.client.get("/v1/mentions?state=resolved", headers=b)).json()["data"] == []
    # A's workflow is untouched by B's attempts.
    wf = (await inbox.client.get(f"/v1/mentions/{mid}", headers=a)).json()["workflow"]
    assert (wf["state"], wf["version"]) == ("resolved", 1)
    assert len((await inbox.client.get(f"/v1/mentions/{mid}/audit", headers=a)).json()["data"]) == 2


async def test_export_streams_every_row_in_order(gateway_for, real_insights, insights_db, problem) -> None:
    gw = await gateway_for(insights_target=f"127.0.0.1:{real_insights}")
    ingestor = MentionIngestor(MentionRepository(insights_db), RollupRepository(insights_db))
    # More than two pages of 200.
    items = [(prepare_enriched(post("acme", f"e{i}", f"row {i}, \"ok\" ✓", T0 + timedelta(seconds=i))), "")
             for i in range(450)]
    assert not [r for r in await ingestor.ingest_batch(items) if isinstance(r, BaseException)]
    ids = [m.id for m, _ in items]
    await seed(insights_db, "globex", 3)
    a = (await gw.new_key("acme")).headers
    b = (await gw.new_key("globex", Scope.READ)).headers
    resp = await gw.client.get("/v1/mentions/export?format=csv&sort=time", headers=a)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"), newline="")))
    assert [r["id"] for r in rows] == ids
    assert rows[7]["text"] == 'row 7, "ok" ✓'

    await gw.client.post("/v1/mentions/workflow:bulk", headers=a,
                         json={"ids": ids[:5], "change": {"state": "resolved"}})
    resp = await gw.client.get("/v1/mentions/export?format=ndjson&state=resolved", headers=a)
    lines = [json.loads(line) for line in resp.text.splitlines()]
    assert [d["id"] for d in lines] == ids[:5][::-1]
    assert {d["workflow"]["state"] for d in lines} == {"resolved"}

    # Another tenant exports only its own mentions.
    resp = await gw.client.get("/v1/mentions/export?format=ndjson", headers=b)
    assert len(resp.text.splitlines()) == 3 and "acme" not in resp.text
    for query, field in [("format=xlsx", "format"), ("sort=engagement", "sort"), ("state=nope", "state")]:
        doc = problem(await gw.client.get(f"/v1/mentions/export?{query}", headers=a), 422)
        assert [e["field"] for e in doc["errors"]] == [field]
    problem(await gw.client.get("/v1/mentions/export"), 401)


async def test_dengar_export_cli_writes_the_file(gateway_for, real_insights, insights_db, tmp_path,
                                                 capsys, monkeypatch) -> None:
    monkeypatch.delenv("DENGAR_API_KEY", raising=False)
    port_file = tmp_path / "port"
    gw = await gateway_for(insights_target=f"127.0.0.1:{real_insights}", port_file=str(port_file))
    ids = await seed(insights_db, "acme", 3)
    key = await gw.new_key("acme", Scope.READ)
    url = f"http://127.0.0.1:{port_file.read_text().strip()}"
    out = tmp_path / "m.ndjson"
    code = await asyncio.to_thread(cli_export.main, ["-o", str(out), "--api-url", url, "--api-key",
                                                     key.secret, "--sort", "time", "--state", "open"])
    assert code == 0, capsys.readouterr().err
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ids
    assert "exported 3 mentions" in capsys.readouterr().err
    csv_out = tmp_path / "m.csv"
    assert await asyncio.to_thread(cli_export.main, ["-o", str(csv_out), "--api-url", url, "--api-key",
                                                     key.secret, "--tag", "none"]) == 0
    header_only = list(csv.reader(io.StringIO(csv_out.read_text("utf-8-sig"))))
    assert len(header_only) == 1 and header_only[0][0] == "id"
    # Bad filters and bad keys fail with the API's problem, leaving no file behind.
    bad = tmp_path / "bad.csv"
    assert await asyncio.to_thread(cli_export.main, ["-o", str(bad), "--api-url", url, "--api-key",
                                                     key.secret, "--state", "done"]) == 1
    assert "HTTP 422" in capsys.readouterr().err and not bad.exists()
    assert await asyncio.to_thread(cli_export.main, ["-o", str(bad), "--api-url", url, "--api-key",
                                                     "dgr_nope"]) == 1
    assert await asyncio.to_thread(cli_export.main, ["-o", str(bad), "--api-url", url]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv", "m.ndjson", "port"]
