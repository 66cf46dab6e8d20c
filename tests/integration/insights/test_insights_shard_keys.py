"""The shard-key check itself (shardkeys.py): it sees the service's commands, and it catches the
commands a sharded cluster could not route by tenant. Every other insights integration test runs
the service under it (conftest.py), so together they cover what the service sends to the store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from insights_helpers import T0, enriched
from shardkeys import LISTENER, ShardKeyListener

from dengar.v1 import common_pb2, insights_pb2
from dengar_common.localinfra import LocalInfra
from dengar_common.mongo import make_client
from dengar_insights.adapters.sharding import SHARD_KEYS


async def test_the_service_commands_on_every_sharded_collection_are_checked(env: Any) -> None:
    before = LISTENER.seen.copy()
    for i in range(3):
        await env.send(enriched("acme", f"s{i}", created_at=T0 + timedelta(minutes=i),
                                sentiment=common_pb2.SENTIMENT_NEGATIVE))
    await env.send(enriched("acme", "s0", created_at=T0, sentiment=common_pb2.SENTIMENT_POSITIVE))
    await env.settle()
    resp = await env.stub.SearchMentions(insights_pb2.SearchMentionsRequest(tenant_id="acme"))
    assert len(resp.mentions) == 3
    seen = LISTENER.seen - before
    # Ingest inserts and revises mentions and upserts rollups; search reads mentions.
    for expected in [("mentions", "insert"), ("mentions", "update"), ("mentions", "find"),
                     ("rollups", "update")]:
        assert seen[expected], (expected, dict(seen))


async def test_commands_that_cannot_be_routed_by_tenant_are_reported(infra: LocalInfra, unique: str) -> None:
    listener = ShardKeyListener()
    client = make_client(infra.mongo_uri, app_name="shard-check", event_listeners=[listener])
    try:
        db = client[f"{unique}_insights"]
        mentions, rollups = db["mentions"], db["rollups"]
        # Routed: each names the tenant (an upsert the whole key).
        await mentions.insert_one({"_id": "m1", "tenant_id": "acme", "created_at": T0})
        await mentions.find_one({"_id": "m1", "tenant_id": "acme"})
        await mentions.update_one({"_id": "m1", "tenant_id": "acme"},
                                  {"$set": {"tenant_id": "acme", "text": "x"}})
        await rollups.update_one({"_id": "acme|hour|x", "tenant_id": "acme"}, {"$inc": {"volume": 1}},
                                 upsert=True)
        await mentions.count_documents({"tenant_id": {"$in": ["acme"]}})
        assert listener.violations == []
        assert sum(listener.seen.values()) == 5

        # Not routed: no tenant, a tenant only inside $or, an upsert without the whole key, a key
        # change, an aggregation that does not start with the tenant, an insert without the key.
        await mentions.find_one({"_id": "m1"})
        await mentions.find_one({"$or": [{"tenant_id": "acme"}, {"text": "x"}]})
        await mentions.update_one({"tenant_id": "acme", "text": "y"}, {"$set": {"n": 1}}, upsert=True)
        await mentions.update_one({"_id": "m1", "tenant_id": "acme"}, {"$set": {"tenant_id": "other"}})
        await mentions.aggregate([{"$group": {"_id": "$tenant_id"}}])
        await mentions.insert_one({"_id": "m2", "created_at": T0})
        await mentions.delete_many({"created_at": {"$lt": T0}})
        assert [v.split(":")[0] for v in listener.violations] == ["mentions"] * 7, listener.violations
        assert any("upsert without equality on ['_id']" in v for v in listener.violations)
        assert any("may change the shard key ['tenant_id']" in v for v in listener.violations)
        # A collection that is not sharded is not checked.
        await db["alert_rules"].find_one({})
        assert len(listener.violations) == 7
    finally:
        await client.close()


def test_every_shard_key_starts_with_the_tenant() -> None:
    assert SHARD_KEYS
    assert all(next(iter(key)) == "tenant_id" for key in SHARD_KEYS.values())
