"""Per-tenant quotas of the gateway over the real store, with two gateway instances on one
database standing in for two replicas: the tenant's request rate is shared by all of its keys and
both instances, live streams are counted over both, and API keys are limited per tenant."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime

import grpc
import pytest
from conftest import Gateway, Key

from dengar.v1 import insights_pb2, insights_pb2_grpc
from dengar_common.errors import ResourceExhausted
from dengar_common.grpcerrors import trailing_metadata
from dengar_gateway.domain.quotas import TenantLimits
from dengar_gateway.entrypoints import cli
from dengar_gateway.service_layer.quotas import StreamQuota, TenantQuotas

# One window of an hour allowing 36 requests: long enough that a test never straddles two.
RATE = {"rate_per_s": 0.01, "rate_window_s": 3600}
LIMIT = 36


def _window() -> int:
    return math.floor(time.time() / 3600)


async def _two_gateways(gateway_for, **quotas) -> tuple[Gateway, Gateway]:
    return (await gateway_for(quotas={**RATE, **quotas}), await gateway_for(quotas={**RATE, **quotas}))


async def test_the_tenant_rate_is_shared_by_its_keys_and_the_replicas(gateway_for, problem) -> None:
    for _ in range(2):  # a second try only if the first straddled the hour
        window = _window()
        gw1, gw2 = await _two_gateways(gateway_for)
        tenant = f"acme-{window % 1000}-{time.monotonic_ns() % 10**6}"
        keys = [await gw1.new_key(tenant) for _ in range(3)]
        # Sent at once, round-robin over three keys and both replicas: the claims race in the store.
        calls = [(gw1, gw2)[i % 2].client.get("/v1/keys", headers=keys[i % 3].headers)
                 for i in range(60)]
        statuses = [r.status_code for r in await asyncio.gather(*calls)]
        if _window() != window:
            continue
        ok = statuses.count(200)
        assert set(statuses) == {200, 429}
        # Never more than the limit; at most one unused chunk (ceil(36/20) = 2) per replica less.
        assert LIMIT - 2 * 2 <= ok <= LIMIT, statuses
        resp = await gw2.client.get("/v1/keys", headers=keys[0].headers)
        doc = problem(resp, 429)
        assert doc["type"].endswith("tenant-rate-limited") and doc["limit"] == LIMIT
        assert doc["current"] == LIMIT and int(resp.headers["retry-after"]) >= 1
        # More keys do not mean more requests.
        fresh: Key = await gw2.new_key(tenant)
        for gw in (gw1, gw2):
            assert (await gw.client.get("/v1/keys", headers=fresh.headers)).status_code == 429
        # Another tenant has its own allowance.
        other = await gw1.new_key(f"{tenant}-b")
        assert (await gw2.client.get("/v1/keys", headers=other.headers)).status_code == 200
        return
    pytest.fail("two windows straddled in a row")


async def test_a_tenants_own_rate_overrides_the_default(gateway_for) -> None:
    gw = await gateway_for(quotas={**RATE, "limits_cache_s": 0})
    key = await gw.new_key("acme")
    assert await gw.deps.store.quotas.set_limits("acme", {"rate_per_s": 0}, []) == {"rate_per_s": 0}
    statuses = {(await gw.client.get("/v1/keys", headers=key.headers)).status_code for _ in range(50)}
    assert statuses == {200}  # 0: unlimited for this tenant, over the default of 36


async def test_api_keys_are_limited_per_tenant(gateway_for, problem) -> None:
    gw = await gateway_for(quotas={"max_keys": 2, "limits_cache_s": 0})
    admin = await gw.new_key("acme")
    body = {"scopes": ["read"], "name": "second"}
    assert (await gw.client.post("/v1/keys", json=body, headers=admin.headers)).status_code == 201
    resp = await gw.client.post("/v1/keys", json=body, headers=admin.headers)
    doc = problem(resp, 409)
    assert doc["type"].endswith("key-limit-reached") and (doc["limit"], doc["current"]) == (2, 2)
    assert len(await gw.deps.store.keys.list("acme")) == 2  # nothing was left behind
    # Revoked keys do not count; another tenant has its own allowance.
    keys = await gw.deps.store.keys.list("acme")
    second = next(k for k in keys if k.key_id != admin.id)
    assert (await gw.client.delete(f"/v1/keys/{second.key_id}", headers=admin.headers)).status_code == 204
    assert (await gw.client.post("/v1/keys", json=body, headers=admin.headers)).status_code == 201
    other = await gw.new_key("globex")
    assert (await gw.client.post("/v1/keys", json=body, headers=other.headers)).status_code == 201
    # The tenant's own limit (as `dengar tenants limits acme max_keys=5` sets it) wins.
    await gw.deps.store.quotas.set_limits("acme", {"max_keys": 5}, [])
    assert (await gw.client.post("/v1/keys", json=body, headers=admin.headers)).status_code == 201


async def test_racing_key_creations_never_pass_the_limit(gateway_for) -> None:
    gw1, gw2 = await gateway_for(quotas={"max_keys": 3}), await gateway_for(quotas={"max_keys": 3})
    admin = await gw1.new_key("acme")
    body = {"scopes": ["read"], "name": "k"}
    resps = await asyncio.gather(*[(gw1, gw2)[i % 2].client.post("/v1/keys", json=body, headers=admin.headers)
                                   for i in range(8)])
    assert {r.status_code for r in resps} <= {201, 409}
    active = [k for k in await gw1.deps.store.keys.list("acme") if k.revoked_at is None]
    assert len(active) <= 3 and len(active) == 1 + sum(r.status_code == 201 for r in resps)


async def test_live_streams_are_counted_over_every_replica(gateway_for) -> None:
    gw1, gw2 = await gateway_for(), await gateway_for()
    store = gw1.deps.store.quotas
    limits = TenantLimits(rate_per_s=0, max_keys=1, max_streams=2)
    replicas = [StreamQuota(store, TenantQuotas(store, limits), lease_ttl_s=3) for _ in range(2)]
    a = await replicas[0].acquire("acme", retry_after_s=5)
    b = await replicas[1].acquire("acme", retry_after_s=5)
    for replica in replicas:
        with pytest.raises(ResourceExhausted) as refused:
            await replica.acquire("acme", retry_after_s=5)
        error = refused.value
        assert (error.limit, error.current, error.reason) == (2, 2, "too-many-streams")
    assert await store.count_streams("acme", datetime.now(UTC)) == 2  # the refused left no lease
    other = await replicas[1].acquire("globex", retry_after_s=5)
    a.release()
    again = await replicas[0].acquire("acme", retry_after_s=5)
    # A replica that dies stops renewing: its streams stop counting once their leases expire.
    renewing = asyncio.create_task(replicas[1].renew_forever())
    try:
        await asyncio.sleep(3.5)  # replica 0 "crashed": it renews nothing
        assert await store.count_streams("acme", datetime.now(UTC)) == 1  # b, renewed
        await replicas[1].acquire("acme", retry_after_s=5)
    finally:
        renewing.cancel()
    for slot in (b, other, again):
        slot.release()
    assert gw2.deps.stream_quota is not gw1.deps.stream_quota


def test_the_cli_sets_and_shows_a_tenants_limits(infra, unique, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DENGAR_MONGO_URI", infra.mongo_uri)
    monkeypatch.setenv("DENGAR_GATEWAY__DB", f"gw_cli_{unique}")
    assert cli.main(["tenants", "create", "Acme", "--json"]) == 0
    capsys.readouterr()
    assert cli.main(["tenants", "limits", "acme", "max_keys=1", "rate_per_s=2.5"]) == 0
    out = capsys.readouterr().out
    assert "max_keys: 1\n" in out and "rate_per_s: 2.5\n" in out and "max_streams: 5 (default)" in out
    assert cli.main(["keys", "create", "--tenant", "acme"]) == 1  # the initial key is the one allowed
    assert "at most 1 active API keys" in capsys.readouterr().err
    assert cli.main(["tenants", "limits", "acme", "--reset", "max_keys", "--json"]) == 0
    assert '"max_keys": 50' in capsys.readouterr().out
    assert cli.main(["tenants", "limits", "acme", "max_keys=0"]) == 2
    assert cli.main(["tenants", "limits", "acme", "burst=3"]) == 2
    assert cli.main(["tenants", "limits", "nobody"]) == 1


class _FullInsights(insights_pb2_grpc.InsightsServiceServicer):
    """Insights refusing every stream: the tenant's gRPC streams already use its limit."""

    async def StreamMentions(self, request, context):
        error = ResourceExhausted("this tenant already holds 20 mention streams", reason="too-many-streams",
                                  retry_after_s=5, limit=20, current=20)
        await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, error.message,
                            trailing_metadata=trailing_metadata(error))
        yield insights_pb2.StreamedMention()  # pragma: no cover - abort raises


async def test_insights_stream_limit_is_a_429_too(gateway_for, problem) -> None:
    server = grpc.aio.server()
    insights_pb2_grpc.add_InsightsServiceServicer_to_server(_FullInsights(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        gw = await gateway_for(insights_target=f"127.0.0.1:{port}")
        key = await gw.new_key("acme")
        resp = await gw.client.get("/v1/stream/mentions", headers=key.headers)
        doc = problem(resp, 429)
        assert doc["type"].endswith("too-many-streams") and (doc["limit"], doc["current"]) == (20, 20)
        assert resp.headers["retry-after"] == "5"
        # The gateway's own lease was given back.
        for _ in range(100):
            if await gw.deps.store.quotas.count_streams("acme", datetime.now(UTC)) == 0:
                break
            await asyncio.sleep(0.05)
        assert await gw.deps.store.quotas.count_streams("acme", datetime.now(UTC)) == 0
    finally:
        await server.stop(0)
