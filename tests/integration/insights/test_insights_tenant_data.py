"""Offboarding (DeleteTenantData) and data retention of the insights service, on the real store and bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from insights_helpers import Env, enriched, make_settings, running

from dengar.v1 import common_pb2, insights_pb2, insights_pb2_grpc
from dengar_common import grpcutil
from dengar_common.bus import Subjects
from dengar_common.localinfra import LocalInfra
from dengar_common.tenant_data import TOMBSTONES
from dengar_insights.adapters.retention import MongoRetentionStore
from dengar_insights.service_layer.retention import RetentionPolicy, RetentionSweep

NOW = datetime.now(UTC).replace(microsecond=0)
OLD = NOW - timedelta(days=100)


class TenantEnv(Env):
    admin: Any
    db: Any


@asynccontextmanager
async def _env(infra: LocalInfra, unique: str, nats_client: Any, mongo_client: Any,
               **insights: Any) -> AsyncIterator[TenantEnv]:
    settings = make_settings(infra, unique, **insights)
    async with running(settings) as app:
        channel = grpcutil.insecure_channel(f"127.0.0.1:{app.port}")
        try:
            env = TenantEnv(app, nats_client.jetstream(), Subjects(unique),
                            insights_pb2_grpc.InsightsServiceStub(channel))
            env.admin = insights_pb2_grpc.InsightsTenantServiceStub(channel)
            env.db = mongo_client[f"{unique}_insights"]
            yield env
        finally:
            await channel.close()


@pytest.fixture
async def env(infra: LocalInfra, unique: str, nats_client: Any, mongo_client: Any
              ) -> AsyncIterator[TenantEnv]:
    async with _env(infra, unique, nats_client, mongo_client) as e:
        yield e


async def _tenant_docs(db: Any, tenant: str) -> dict[str, int]:
    out = {}
    for name in await db.list_collection_names():
        n = await db[name].count_documents({"tenant_id": tenant})
        if n:
            out[name] = n
    return out


async def _seed(env: TenantEnv, tenant: str, n: int = 3) -> None:
    for i in range(n):
        await env.send(enriched(tenant, f"p{i}", created_at=NOW - timedelta(hours=i)))
    await env.settle()
    mention = await env.db["mentions"].find_one({"tenant_id": tenant})
    await env.db["mention_audit"].insert_one({"tenant_id": tenant, "mention_id": mention["_id"],
                                              "at": NOW, "field": "state"})
    await env.db["alerts"].insert_one({"_id": f"{tenant}-alert", "tenant_id": tenant, "state": "resolved",
                                       "fired_at": NOW, "resolved_at": NOW})
    # A collection nobody wrote a clean-up for: deletion finds it by listing the collections.
    await env.db["added_later"].insert_one({"tenant_id": tenant, "what": "anything"})


async def test_delete_tenant_data_removes_every_collection_and_drops_later_messages(env: TenantEnv) -> None:
    await _seed(env, "acme")
    await _seed(env, "other")
    before_other = await _tenant_docs(env.db, "other")
    assert {"mentions", "rollups", "mention_audit", "alerts", "added_later"} <= set(before_other)

    resp = await env.admin.DeleteTenantData(common_pb2.DeleteTenantDataRequest(tenant_id="acme"))
    removed = dict(resp.removed)
    assert removed["mentions"] == 3 and removed["added_later"] == 1 and removed["rollups"] > 0
    assert removed["mention_audit"] == 1 and removed["alerts"] == 1
    assert await _tenant_docs(env.db, "acme") == {TOMBSTONES: 1}
    assert await _tenant_docs(env.db, "other") == before_other

    # A message still in flight for the deleted tenant is acked and dropped, never stored.
    await env.send(enriched("acme", "late"))
    await env.send(enriched("other", "late"))
    await env.settle()
    assert env.app.results["dropped_deleted_tenant"] == 1
    assert await _tenant_docs(env.db, "acme") == {TOMBSTONES: 1}
    assert await env.db["mentions"].count_documents({"tenant_id": "other"}) == 4

    # Idempotent: a second call finds nothing left.
    again = await env.admin.DeleteTenantData(common_pb2.DeleteTenantDataRequest(tenant_id="acme"))
    assert dict(again.removed) == {}


async def test_delete_tenant_data_refuses_a_bad_tenant_id(env: TenantEnv) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.admin.DeleteTenantData(common_pb2.DeleteTenantDataRequest(tenant_id="Not A Tenant"))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_retention_is_the_default_until_set_and_validated(env: TenantEnv) -> None:
    got = await env.admin.GetRetention(insights_pb2.GetRetentionRequest(tenant_id="acme"))
    assert (got.days, got.is_default) == (0, True)  # the default keeps mentions forever
    got = await env.admin.SetRetention(insights_pb2.SetRetentionRequest(tenant_id="acme", days=30))
    assert (got.days, got.is_default) == (30, False)
    got = await env.admin.GetRetention(insights_pb2.GetRetentionRequest(tenant_id="acme"))
    assert (got.days, got.is_default) == (30, False)
    got = await env.admin.SetRetention(insights_pb2.SetRetentionRequest(tenant_id="acme", forever=True))
    assert (got.days, got.is_default) == (0, False)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.admin.SetRetention(insights_pb2.SetRetentionRequest(tenant_id="acme", days=-1))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    got = await env.admin.SetRetention(insights_pb2.SetRetentionRequest(tenant_id="acme"))
    assert (got.days, got.is_default) == (0, True)


async def test_the_sweep_removes_expired_mentions_and_keeps_rollups(
        infra: LocalInfra, unique: str, nats_client: Any, mongo_client: Any) -> None:
    async with _env(infra, unique, nats_client, mongo_client,
                    retention={"sweep_interval_s": 0.2, "batch": 2}) as env:
        for tenant in ("acme", "other"):
            for i in range(5):
                await env.send(enriched(tenant, f"old{i}", created_at=OLD - timedelta(hours=i)))
            await env.send(enriched(tenant, "new", created_at=NOW))
        await env.settle()
        old_ids = [d["_id"] async for d in env.db["mentions"].find(
            {"tenant_id": "acme", "created_at": {"$lt": NOW - timedelta(days=30)}})]
        assert len(old_ids) == 5
        await env.db["mention_audit"].insert_one({"tenant_id": "acme", "mention_id": old_ids[0], "at": OLD})
        await env.db["alerts"].insert_many([
            {"_id": "a-old", "tenant_id": "acme", "state": "resolved", "fired_at": OLD,
             "resolved_at": OLD},
            {"_id": "a-firing", "tenant_id": "acme", "state": "firing", "fired_at": OLD,
             "resolved_at": None}])
        rollups = [d async for d in env.db["rollups"].find({"tenant_id": "acme"}).sort("_id")]

        await env.admin.SetRetention(insights_pb2.SetRetentionRequest(tenant_id="acme", days=30))

        async def left() -> int:
            return await env.db["mentions"].count_documents({"tenant_id": "acme"})

        for _ in range(300):
            if await left() == 1:
                break
            await asyncio.sleep(0.1)
        assert await left() == 1
        kept = await env.db["mentions"].find_one({"tenant_id": "acme"})
        assert kept["_id"] not in old_ids
        assert await env.db["mention_audit"].count_documents({"tenant_id": "acme"}) == 0
        assert [d["_id"] async for d in env.db["alerts"].find({"tenant_id": "acme"})] == ["a-firing"]
        # Rollups are aggregates: kept as they were, so past periods still count.
        assert [d async for d in env.db["rollups"].find({"tenant_id": "acme"}).sort("_id")] == rollups
        # Another tenant, on the default (forever), keeps everything.
        assert await env.db["mentions"].count_documents({"tenant_id": "other"}) == 6

        # One replica sweeps at a time: the running service holds the lease.
        store = MongoRetentionStore(env.db)
        other_replica = RetentionSweep(store, RetentionPolicy(store, default_days=0), owner="other-replica",
                                       lease_s=60, batch=10)
        assert await other_replica.sweep() is None


async def test_a_post_already_past_its_tenants_retention_is_not_stored(env: TenantEnv) -> None:
    await env.admin.SetRetention(insights_pb2.SetRetentionRequest(tenant_id="acme", days=30))
    for tenant in ("acme", "other"):
        await env.send(enriched(tenant, "old", created_at=OLD))
        await env.send(enriched(tenant, "new", created_at=NOW))
    await env.settle()
    assert env.app.results["expired"] == 1
    assert await env.db["mentions"].count_documents({"tenant_id": "acme"}) == 1
    assert await env.db["mentions"].count_documents({"tenant_id": "other"}) == 2
    # Not counted either: no rollup bucket of that day for the tenant (the other tenant has one).
    old_day = {"$regex": f"\\|day\\|{OLD:%Y-%m-%d}$"}
    assert await env.db["rollups"].count_documents({"tenant_id": "acme", "_id": old_day}) == 0
    assert await env.db["rollups"].count_documents({"tenant_id": "other", "_id": old_day}) == 1
