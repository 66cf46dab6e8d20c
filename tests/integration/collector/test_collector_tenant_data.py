"""Offboarding in the collector: DeleteTenantData against the real store, bus and spool directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from collector_harness import RunningCollector, collector_settings

from dengar.v1 import collector_pb2, collector_pb2_grpc, common_pb2
from dengar_common.bus import Subjects
from dengar_common.grpcutil import insecure_channel
from dengar_common.localinfra import LocalInfra
from dengar_common.tenant_data import TOMBSTONES


def post(external_id: str) -> common_pb2.Post:
    p = common_pb2.Post(platform=common_pb2.PLATFORM_X, external_id=external_id,
                        text="Kirimin telat 2 jam, pesanan gak nyampe")
    p.created_at.FromDatetime(datetime.now(UTC) - timedelta(minutes=5))
    return p


class Env:
    def __init__(self, app: RunningCollector, channel: Any, db: Any, spool: Path) -> None:
        self.app, self.db, self.spool = app, db, spool
        self.ingest = collector_pb2_grpc.CollectorServiceStub(channel)
        self.queries = collector_pb2_grpc.QueryServiceStub(channel)
        self.tenants = collector_pb2_grpc.CollectorTenantServiceStub(channel)


@pytest.fixture
async def env(infra: LocalInfra, unique: str, mongo_client: Any, tmp_path: Path) -> AsyncIterator[Env]:
    settings = collector_settings(dict(nats_url=infra.nats_url, mongo_uri=infra.mongo_uri,
                                       subject_root=unique, shutdown_grace_s=2.0),
                                  grpc_port=0, db=f"c_{unique}", scheduler__enabled=False,
                                  imports__dir=str(tmp_path / "spool"))
    app = RunningCollector(settings)
    await app.start()
    channel = insecure_channel(app.target)
    try:
        yield Env(app, channel, mongo_client[f"c_{unique}"], tmp_path / "spool")
    finally:
        await channel.close()
        await app.stop()


async def _tenant_docs(db: Any, tenant: str) -> dict[str, int]:
    out = {}
    for name in await db.list_collection_names():
        n = await db[name].count_documents({"tenant_id": tenant})
        if n:
            out[name] = n
    return out


async def _published(nats_client: Any, unique: str, tenant: str) -> int:
    js = nats_client.jetstream()
    info = await js.stream_info(Subjects(unique).stream("collected"), subjects_filter=f"{unique}.>")
    return sum(n for subject, n in (info.state.subjects or {}).items() if subject.endswith(f".{tenant}"))


async def _seed(env: Env, tenant: str) -> None:
    await env.queries.CreateQuery(collector_pb2.CreateQueryRequest(
        tenant_id=tenant, name="Brand", role=collector_pb2.QUERY_ROLE_BRAND, expression="kirimin"))
    await env.ingest.IngestPosts(collector_pb2.IngestPostsRequest(tenant_id=tenant, posts=[post("1")]))
    (env.spool / tenant).mkdir(parents=True, exist_ok=True)
    (env.spool / tenant / "job1.upload").write_bytes(b"id,text\n1,x\n")
    # A collection nobody wrote a clean-up for: found by listing the collections.
    await env.db["added_later"].insert_one({"tenant_id": tenant})


async def test_delete_tenant_data_removes_documents_and_spool_and_drops_later_posts(
        env: Env, nats_client: Any, unique: str) -> None:
    await _seed(env, "acme")
    await _seed(env, "other")
    before_other = await _tenant_docs(env.db, "other")
    assert {"queries", "added_later"} <= set(before_other)

    resp = await env.tenants.DeleteTenantData(common_pb2.DeleteTenantDataRequest(tenant_id="acme"))
    removed = dict(resp.removed)
    assert removed["queries"] == 1 and removed["added_later"] == 1 and removed["spool_files"] == 1
    # The bus keeps posts after they are consumed: the tenant's are purged from its streams.
    assert removed["bus:collected"] == 1
    assert await _tenant_docs(env.db, "acme") == {TOMBSTONES: 1}
    assert not (env.spool / "acme").exists()
    assert await _tenant_docs(env.db, "other") == before_other
    assert (env.spool / "other" / "job1.upload").exists()

    # A post for the deleted tenant (a source run or import in flight) is dropped, not published.
    assert await _published(nats_client, unique, "acme") == 0
    await env.ingest.IngestPosts(collector_pb2.IngestPostsRequest(tenant_id="acme", posts=[post("late")]))
    await env.ingest.IngestPosts(collector_pb2.IngestPostsRequest(tenant_id="other", posts=[post("late")]))
    assert await _published(nats_client, unique, "acme") == 0
    assert await _published(nats_client, unique, "other") == 2

    again = await env.tenants.DeleteTenantData(common_pb2.DeleteTenantDataRequest(tenant_id="acme"))
    assert dict(again.removed) == {}
