"""The shard keys of insights' collections on a sharded MongoDB cluster (docs/sharding.md).

Only the collections that grow with the posts are sharded; the rest (rules, channels, categories,
leases, schedules) are small and stay on the database's primary shard. Every key starts with
``tenant_id`` and every query, update and delete of the service on these collections names the
tenant, so each one is routed to the shards holding that tenant's chunks
(``tests/integration/insights/shardkeys.py`` records the service's commands and checks it).
"""

from __future__ import annotations

from typing import Literal

ShardKey = dict[str, Literal[1, "hashed"]]

SHARD_KEYS: dict[str, ShardKey] = {
    # Every write names the mention (_id, a hash of the post's natural key) with its tenant, so it
    # goes to one shard, and a big tenant's inserts spread over its chunks instead of piling on the
    # newest one; _id in the key keeps the duplicate check that makes ingest exactly-once global.
    # A tenant's time-range reads go to that tenant's chunks only (the tenant_id prefix).
    "mentions": {"tenant_id": 1, "_id": 1},
    # Small per tenant (one document per bucket) and read whole per tenant: hashed spreads tenants.
    "rollups": {"tenant_id": "hashed"},
    # Read per mention; an entry stored twice (outbox moved again) routes to the same chunk.
    "mention_audit": {"tenant_id": 1, "mention_id": 1},
}
