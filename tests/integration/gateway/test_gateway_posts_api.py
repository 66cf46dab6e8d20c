"""POST /v1/posts against real MongoDB and a gRPC collector double."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc

from dengar.v1 import common_pb2
from dengar_common.ids import mention_id
from dengar_gateway.domain.keys import Scope


def post(external_id: str, **overrides: Any) -> dict[str, Any]:
    base = {"platform": "x", "external_id": external_id, "text": f"post {external_id}",
            "created_at": "2024-05-01T12:00:00+07:00"}
    base.update(overrides)
    return base


async def test_valid_posts_go_to_the_collector_and_invalid_ones_are_reported(gateway, fakes) -> None:
    key = await gateway.new_key("acme", Scope.INGEST)
    body = {"posts": [post("1", author={"handle": "ann"}, engagement={"likes": 2}),
                      post("2", created_at="2024-05-01T12:00:00"),          # no timezone
                      post("3", platform="myspace", text="x" * 40_001),     # two problems
                      post("4", text="collector-reject"),                   # the collector says no
                      post("5", platform="reddit")]}
    resp = await gateway.client.post("/v1/posts", json=body, headers=key.headers)
    assert resp.status_code == 202, resp.text
    out = resp.json()
    assert (out["accepted"], out["rejected"]) == (2, 3)
    assert out["ids"] == [mention_id("acme", "x", "1"), mention_id("acme", "reddit", "5")]
    assert [(e["index"], e["field"]) for e in out["errors"]] == [
        (1, "created_at"), (2, "platform"), (2, "text"), (3, "text")]
    assert all(e["message"] for e in out["errors"])

    [sent] = fakes.collector.of("IngestPosts")
    assert sent.tenant_id == "acme"
    assert [p.external_id for p in sent.posts] == ["1", "4", "5"]
    first = sent.posts[0]
    assert first.tenant_id == "acme" and first.platform == common_pb2.PLATFORM_X
    assert first.created_at.seconds == 1714539600  # 2024-05-01T05:00:00Z
    assert first.author.handle == "ann" and first.engagement.likes == 2


async def test_all_invalid_posts_do_not_call_the_collector(gateway, fakes) -> None:
    key = await gateway.new_key("acme", Scope.INGEST)
    resp = await gateway.client.post("/v1/posts", json={"posts": [{"text": "no"}]}, headers=key.headers)
    assert resp.status_code == 202
    assert resp.json()["accepted"] == 0 and resp.json()["rejected"] == 1
    assert fakes.collector.calls == []


async def test_request_level_problems(gateway_for, fakes, problem) -> None:
    gw = await gateway_for(limits={"max_body_bytes": 64 * 1024, "max_posts": 10})
    headers = (await gw.new_key("acme", Scope.INGEST)).headers
    c = gw.client
    problem(await c.post("/v1/posts", content=b"posts", headers={**headers, "Content-Type": "text/csv"}), 415)
    problem(await c.post("/v1/posts", content=b'{"posts": [}',
                         headers={**headers, "Content-Type": "application/json"}), 400)
    big = json.dumps({"posts": [post("1", text="a" * 70_000)]})
    problem(await c.post("/v1/posts", content=big, headers={**headers, "Content-Type": "application/json"}),
            413)
    problem(await c.post("/v1/posts", json={"posts": [post(str(i)) for i in range(11)]}, headers=headers),
            413)
    doc = problem(await c.post("/v1/posts", json={"items": []}, headers=headers), 422)
    assert {e["field"] for e in doc["errors"]} == {"items"}
    doc = problem(await c.post("/v1/posts", json=[post("1")], headers=headers), 422)
    assert doc["errors"][0]["location"] == "body"
    read_only = (await gw.new_key("acme", Scope.READ)).headers
    problem(await c.post("/v1/posts", json={"posts": [post("1")]}, headers=read_only), 403)
    problem(await c.post("/v1/posts", json={"posts": [post("1")]}), 401)
    assert fakes.collector.calls == []


async def test_idempotency_key_replays_and_conflicts(gateway, fakes, problem) -> None:
    headers = {**(await gateway.new_key("acme", Scope.INGEST)).headers, "Idempotency-Key": "batch-1"}
    body = {"posts": [post("1"), post("2", created_at="bad")]}
    first = await gateway.client.post("/v1/posts", json=body, headers=headers)
    assert first.status_code == 202 and "idempotent-replayed" not in first.headers
    # The same body, serialised differently, is the same request.
    same = json.dumps(body, indent=2, sort_keys=True)
    again = await gateway.client.post("/v1/posts", content=same,
                                      headers={**headers, "Content-Type": "application/json"})
    assert again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert len(fakes.collector.calls) == 1

    doc = problem(await gateway.client.post("/v1/posts", json={"posts": [post("9")]}, headers=headers), 409)
    assert doc["type"] == "urn:dengar:problem:idempotency-key-reused"
    # Keys are per tenant: another tenant may use the same key for its own request.
    other = {**(await gateway.new_key("globex", Scope.INGEST)).headers, "Idempotency-Key": "batch-1"}
    assert (await gateway.client.post("/v1/posts", json={"posts": [post("9")]}, headers=other)).status_code \
        == 202
    problem(await gateway.client.post("/v1/posts", json=body,
                                      headers={**headers, "Idempotency-Key": "has spaces"}), 400)


async def test_concurrent_duplicate_is_409_and_failure_releases_the_key(gateway, fakes, problem) -> None:
    headers = {**(await gateway.new_key("acme", Scope.INGEST)).headers, "Idempotency-Key": "k-2"}
    body = {"posts": [post("1")]}
    fakes.collector.delay_s = 0.5
    slow = asyncio.create_task(gateway.client.post("/v1/posts", json=body, headers=headers))
    await asyncio.wait_for(fakes.collector.called.wait(), 5)
    doc = problem(await gateway.client.post("/v1/posts", json=body, headers=headers), 409)
    assert doc["type"] == "urn:dengar:problem:idempotency-request-in-flight"
    assert (await slow).status_code == 202

    fakes.collector.delay_s = 0
    fakes.collector.fail = grpc.StatusCode.UNAVAILABLE
    headers["Idempotency-Key"] = "k-3"
    resp = await gateway.client.post("/v1/posts", json=body, headers=headers)
    assert problem(resp, 503)["type"] == "urn:dengar:problem:backend-unavailable"
    fakes.collector.fail = None
    retry = await gateway.client.post("/v1/posts", json=body, headers=headers)
    assert retry.status_code == 202 and "idempotent-replayed" not in retry.headers
