"""What an unauthenticated caller can cost: webhook floods (checked before the body is read, per
client address, in limiter pools of their own) and key guessing (failed authentications throttled
per client address)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from dengar_common.errors import ResourceExhausted
from dengar_gateway.domain.keys import Scope

SIGNED = {"X-Dengar-Timestamp": "1800000000", "X-Dengar-Signature": "sha256=" + "0" * 64,
          "Content-Type": "application/json"}


class Body:
    """A streamed request body that records whether the server read any of it."""

    def __init__(self) -> None:
        self.read = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.read = True
        yield b'{"posts": []}'


def random_id() -> str:
    return "src_" + secrets.token_hex(8)


def client_at(gw: Any, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.api, client=(address, 40000)),
                             base_url="http://gateway")


async def test_a_malformed_source_id_is_refused_before_anything_else(gateway_for, fake_sources,
                                                                    problem) -> None:
    fake, port = fake_sources
    gw = await gateway_for(collector_target=f"127.0.0.1:{port}")
    for bad in ("src_0000", "SRC_0123456789abcdef", "src_0123456789abcdeg", "x" * 64, "src_0123456789ABCDEF"):
        body = Body()
        doc = problem(await gw.client.post(f"/v1/webhooks/{bad}", content=body, headers=SIGNED), 401)
        assert doc["type"].endswith("invalid-signature")
        assert not body.read, bad
    assert not fake.rec.of("PushWebhook")


async def test_random_ids_do_not_bypass_the_per_address_limit(gateway_for, fake_sources, problem) -> None:
    fake, port = fake_sources
    gw = await gateway_for(collector_target=f"127.0.0.1:{port}",
                           webhook_limit={"per_address_per_s": 0.01, "per_address_burst": 3})
    codes = []
    for _ in range(3):
        codes.append((await gw.client.post(f"/v1/webhooks/{random_id()}", content=b"{}",
                                           headers=SIGNED)).status_code)
    assert codes == [401, 401, 401]
    calls = len(fake.rec.of("PushWebhook"))
    body = Body()
    resp = await gw.client.post(f"/v1/webhooks/{random_id()}", content=body, headers=SIGNED)
    doc = problem(resp, 429)
    assert doc["type"].endswith("rate-limited") and int(resp.headers["retry-after"]) >= 1
    # Refused before the body was read and before the collector was asked.
    assert not body.read and len(fake.rec.of("PushWebhook")) == calls
    # Another address has its own bucket.
    async with client_at(gw, "203.0.113.7") as other:
        assert (await other.post(f"/v1/webhooks/{random_id()}", content=b"{}", headers=SIGNED)
                ).status_code == 401


async def test_webhook_floods_never_evict_api_key_buckets(gateway_for) -> None:
    gw = await gateway_for(rate_limit={"per_s": 0.001, "burst": 1})
    key = await gw.new_key("acme", Scope.READ)
    assert (await gw.client.get("/v1/mentions", headers=key.headers)).status_code == 200
    assert (await gw.client.get("/v1/mentions", headers=key.headers)).status_code == 429
    # More distinct webhook ids and addresses than the API keys' pool holds (100,000): were they in
    # the same pool, the drained key's bucket would be evicted and refilled.
    for i in range(100_500):
        try:
            gw.deps.webhooks.admit(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", f"src_{i:016x}")
        except ResourceExhausted:
            pass
    assert (await gw.client.get("/v1/mentions", headers=key.headers)).status_code == 429


async def test_failed_authentications_are_throttled_per_address(gateway_for, problem) -> None:
    gw = await gateway_for(auth_failures={"per_s": 0.01, "burst": 3})
    good = await gw.new_key("acme", Scope.READ)
    # Successful requests cost nothing.
    for _ in range(5):
        assert (await gw.client.get("/v1/mentions", headers=good.headers)).status_code == 200
    guesses = [{"Authorization": f"Bearer dgr_{secrets.token_hex(8)}_{secrets.token_urlsafe(24)}"},
               {"Authorization": "Bearer nonsense"}, {}]
    for headers in guesses:
        problem(await gw.client.get("/v1/mentions", headers=headers), 401)
    resp = await gw.client.get("/v1/mentions", headers=guesses[0])
    doc = problem(resp, 429)
    assert doc["type"].endswith("auth-failures") and int(resp.headers["retry-after"]) >= 1
    # While throttled even a right key is not checked, so guessing learns nothing.
    problem(await gw.client.get("/v1/mentions", headers=good.headers), 429)
    # Other addresses are not affected.
    async with client_at(gw, "198.51.100.20") as other:
        assert (await other.get("/v1/mentions", headers=good.headers)).status_code == 200
        problem(await other.get("/v1/mentions", headers=guesses[1]), 401)


async def test_the_limits_are_settings(settings_for: Callable[..., Any]) -> None:
    config = settings_for().gateway
    assert config.auth_failures.per_s > 0 and config.webhook_limit.per_address_per_s > 0
