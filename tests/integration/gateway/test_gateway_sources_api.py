"""/v1/sources and /v1/webhooks against the real app and MongoDB, with a fake SourceService over real
gRPC (see gateway_fakes.FakeSources)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from gateway_fakes import FakeSources

from dengar_gateway.domain.keys import Scope


@pytest.fixture
async def gw(gateway_for: Callable[..., Any], fake_sources: tuple[FakeSources, int]) -> Any:
    return await gateway_for(collector_target=f"127.0.0.1:{fake_sources[1]}")


@pytest.fixture
def fake(fake_sources: tuple[FakeSources, int]) -> FakeSources:
    return fake_sources[0]


MASTODON = {"name": "Gojek on Mastodon", "kind": "mastodon",
            "config": {"base_url": "https://mastodon.social", "hashtag": "gojek", "backfill_hours": 48},
            "credentials": {"access_token": "tok-abc-123"}, "interval_seconds": 600}


async def test_create_get_list_and_manage_a_source(gw, fake, problem) -> None:
    key = await gw.new_key("acme")
    resp = await gw.client.post("/v1/sources", json=MASTODON, headers=key.headers)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["kind"] == "mastodon" and created["webhook_secret"] is None
    assert created["credential_fields"] == ["access_token"] and "tok-abc-123" not in resp.text
    assert created["config"]["backfill_hours"] == 48 and created["status"] == "active"
    sent = fake.rec.of("CreateSource")[0]
    assert (sent.tenant_id, sent.interval_seconds, dict(sent.credentials)) == (
        "acme", 600, {"access_token": "tok-abc-123"})
    sid = created["id"]

    got = await gw.client.get(f"/v1/sources/{sid}", headers=key.headers)
    assert got.status_code == 200 and got.json()["id"] == sid
    page = await gw.client.get("/v1/sources", params={"limit": 1, "kind": "mastodon"}, headers=key.headers)
    assert page.status_code == 200 and [s["id"] for s in page.json()["data"]] == [sid]
    assert fake.rec.of("ListSources")[0].kind == "mastodon"

    patched = await gw.client.patch(f"/v1/sources/{sid}", json={"interval_seconds": 900, "name": "renamed"},
                                    headers=key.headers)
    assert patched.status_code == 200 and patched.json()["interval_seconds"] == 900
    update = fake.rec.of("UpdateSource")[0]
    assert update.HasField("interval_seconds") and not update.HasField("config")

    for action, status in (("pause", "paused"), ("resume", "active")):
        r = await gw.client.post(f"/v1/sources/{sid}/{action}", headers=key.headers)
        assert r.status_code == 200 and r.json()["status"] == status
    run = await gw.client.post(f"/v1/sources/{sid}/run", headers=key.headers)
    assert run.status_code == 200 and run.json()["next_run_at"]
    problem(await gw.client.post(f"/v1/sources/{sid}/rotate-secret", headers=key.headers), 422)

    assert (await gw.client.delete(f"/v1/sources/{sid}", headers=key.headers)).status_code == 204
    problem(await gw.client.get(f"/v1/sources/{sid}", headers=key.headers), 404)


async def test_sources_belong_to_the_caller_tenant(gw, fake, problem) -> None:
    acme, globex = await gw.new_key("acme"), await gw.new_key("globex")
    sid = (await gw.client.post("/v1/sources", json=MASTODON, headers=acme.headers)).json()["id"]
    problem(await gw.client.get(f"/v1/sources/{sid}", headers=globex.headers), 404)
    problem(await gw.client.delete(f"/v1/sources/{sid}", headers=globex.headers), 404)
    assert (await gw.client.get("/v1/sources", headers=globex.headers)).json()["data"] == []
    assert {c.tenant_id for c in fake.rec.of("GetSource")} == {"globex"}


async def test_scopes(gw, problem) -> None:
    reader = await gw.new_key("acme", Scope.READ)
    problem(await gw.client.post("/v1/sources", json=MASTODON, headers=reader.headers), 403)
    assert (await gw.client.get("/v1/sources", headers=reader.headers)).status_code == 200
    problem(await gw.client.get("/v1/sources"), 401)


async def test_bad_definitions(gw, fake, problem) -> None:
    key = await gw.new_key("acme")
    doc = problem(await gw.client.post("/v1/sources", json={**MASTODON, "config": {"bad": True}},
                                       headers=key.headers), 422)
    assert "bad" in doc["detail"] and doc["type"].endswith("invalid-source")
    post = gw.client.post
    problem(await post("/v1/sources", json={**MASTODON, "kind": "myspace"}, headers=key.headers), 422)
    # Validated by the gateway before any call.
    calls = len(fake.rec.calls)
    problem(await post("/v1/sources", json={**MASTODON, "interval_seconds": -1}, headers=key.headers), 422)
    problem(await post("/v1/sources", json={**MASTODON, "extra": 1}, headers=key.headers), 422)
    problem(await post("/v1/sources", content=b"{",
                       headers={**key.headers, "Content-Type": "application/json"}), 400)
    assert len(fake.rec.calls) == calls


def signed(secret: str, body: bytes, ts: str | None = None) -> dict[str, str]:
    ts = ts or str(int(time.time()))
    sig = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Dengar-Timestamp": ts, "X-Dengar-Signature": sig, "Content-Type": "application/x-ndjson"}


async def test_webhook_secret_is_shown_once_and_pushes_need_no_api_key(gw, fake, problem) -> None:
    key = await gw.new_key("acme")
    resp = await gw.client.post("/v1/sources", json={"name": "crm", "kind": "webhook"}, headers=key.headers)
    assert resp.status_code == 201
    created = resp.json()
    secret, sid = created["webhook_secret"], created["id"]
    assert secret and created["webhook_url"] == f"/v1/webhooks/{sid}" and created["interval_seconds"] is None
    assert "webhook_secret" not in (await gw.client.get(f"/v1/sources/{sid}", headers=key.headers)).json()

    first = {"platform": "x", "external_id": "1", "text": "hi", "created_at": "2026-12-01T10:00:00Z"}
    body = (json.dumps(first) + "\n" + json.dumps({"platform": "x", "external_id": "2", "text": ""})).encode()
    push = await gw.client.post(f"/v1/webhooks/{sid}", content=body, headers=signed(secret, body))
    assert push.status_code == 202, push.text
    assert push.json() == {"accepted": 1, "rejected": 1, "ids": ["p1"], "errors": [
        {"index": 1, "field": "text", "message": "text (or title) is required"}]}
    # The raw bytes and the headers travel unchanged: the signature covers exactly these bytes.
    sent = fake.rec.of("PushWebhook")[0]
    assert (sent.source_id, sent.body, sent.content_type) == (sid, body, "application/x-ndjson")
    assert sent.signature == signed(secret, body, sent.timestamp)["X-Dengar-Signature"]

    rotated = await gw.client.post(f"/v1/sources/{sid}/rotate-secret", headers=key.headers)
    assert rotated.status_code == 200 and rotated.json()["webhook_secret"] not in ("", None, secret)
    problem(await gw.client.post(f"/v1/webhooks/{sid}", content=body, headers=signed(secret, body)), 401)
    await gw.client.post(f"/v1/sources/{sid}/pause", headers=key.headers)
    new = rotated.json()["webhook_secret"]
    doc = problem(await gw.client.post(f"/v1/webhooks/{sid}", content=body, headers=signed(new, body)), 409)
    assert doc["type"].endswith("source-paused")


async def test_unsigned_and_badly_signed_pushes_are_401(gw, fake, problem) -> None:
    body = b'{"posts": []}'
    doc = problem(await gw.client.post("/v1/webhooks/src_0000000000000001", content=body), 401)
    assert doc["type"].endswith("invalid-signature")
    assert not fake.rec.of("PushWebhook")  # refused before any call
    resp = await gw.client.post("/v1/webhooks/src_0000000000000001", content=body,
                                headers=signed("whsec_guess", body))
    problem(resp, 401)
    assert resp.headers["www-authenticate"].startswith("DengarSignature")


async def test_the_signing_scheme_is_documented(gw) -> None:
    spec = (await gw.client.get("/openapi.json")).json()
    assert "X-Dengar-Signature" in spec["info"]["description"]
    assert "hmac.new" in spec["info"]["description"]
    push = spec["paths"]["/v1/webhooks/{source_id}"]["post"]
    assert "security" not in push
    assert {"/v1/sources", "/v1/sources/{source_id}", "/v1/sources/{source_id}/pause",
            "/v1/sources/{source_id}/rotate-secret"} <= set(spec["paths"])
    assert "SourceCreateIn" in spec["components"]["schemas"]


async def test_pushes_are_rate_limited_per_source(gateway_for, fake_sources, problem) -> None:
    gw = await gateway_for(collector_target=f"127.0.0.1:{fake_sources[1]}",
                           webhook_limit={"per_source_per_s": 0.5, "per_source_burst": 2})
    body = b'{"posts": []}'
    codes = [(await gw.client.post("/v1/webhooks/src_0000000000000001", content=body,
                                   headers=signed("whsec_guess", body))).status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    resp = await gw.client.post("/v1/webhooks/src_0000000000000001", content=body,
                                headers=signed("whsec_guess", body))
    assert problem(resp, 429)["type"].endswith("rate-limited") and resp.headers["retry-after"]
    # Another source has its own budget.
    other = await gw.client.post("/v1/webhooks/src_0000000000000002", content=body,
                                 headers=signed("whsec_guess", body))
    assert other.status_code == 401
