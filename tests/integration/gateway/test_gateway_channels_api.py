"""/v1/alerts/channels, /v1/alerts/deliveries and /v1/alerts/digests against insights' real
ChannelService and DigestService (its servicers over the real store, on a local gRPC server):
secrets shown once, 422 problems naming the field, redeliver, and tenant isolation on every route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from gateway_fakes import FakeInsights, Recorder

from dengar.v1 import insights_pb2_grpc
from dengar_common.grpcutil import make_server, set_serving
from dengar_common.http_safety import EgressConfig
from dengar_common.secrets import SecretBox, generate_key
from dengar_gateway.domain.keys import Scope
from dengar_insights.adapters.deliveries import MongoChannelStore, MongoDeliveryStore
from dengar_insights.adapters.digests import MongoDigestStore
from dengar_insights.adapters.senders import UrlCheck
from dengar_insights.domain.notification import Notification
from dengar_insights.entrypoints.grpc_channels import ChannelServicer, DigestServicer
from dengar_insights.service_layer.deliveries import ChannelManager, Deliveries
from dengar_insights.service_layer.digests import DigestManager

NAMES = ["dengar.v1.InsightsService", "dengar.v1.ChannelService", "dengar.v1.DigestService"]


class Backend:
    def __init__(self, port: int, deliveries: Deliveries, store: MongoDeliveryStore) -> None:
        self.port, self.deliveries, self.store = port, deliveries, store


@pytest.fixture
async def backend(mongo_client: Any, unique: str) -> AsyncIterator[Backend]:
    db = mongo_client[f"{unique}_insights"]
    channel_store, delivery_store, digest_store = (MongoChannelStore(db, SecretBox([generate_key()])),
                                                   MongoDeliveryStore(db), MongoDigestStore(db))
    for store in (channel_store, delivery_store, digest_store):
        await store.ensure_indexes()
    channels = ChannelManager(channel_store, email_configured=False,
                              check_url=UrlCheck(EgressConfig().policy()))
    deliveries = Deliveries(channel_store, delivery_store)
    server, health = make_server([
        lambda s: insights_pb2_grpc.add_InsightsServiceServicer_to_server(FakeInsights(Recorder()), s),
        lambda s: insights_pb2_grpc.add_ChannelServiceServicer_to_server(
            ChannelServicer(channels, deliveries), s),
        lambda s: insights_pb2_grpc.add_DigestServiceServicer_to_server(
            DigestServicer(DigestManager(digest_store, channel_store)), s),
    ], NAMES)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await set_serving(health, NAMES, True)
    try:
        yield Backend(port, deliveries, delivery_store)
    finally:
        await server.stop(0)
        await mongo_client.drop_database(f"{unique}_insights")


@pytest.fixture
async def gw(gateway_for: Any, backend: Backend) -> Any:
    return await gateway_for(insights_target=f"127.0.0.1:{backend.port}")


HOOK = {"name": "Ops", "kind": "webhook", "url": "https://hooks.example.com/dengar"}
DIGEST = {"name": "Pagi", "frequency": "daily", "time": "08:00", "time_zone": "Asia/Jakarta",
          "language": "id"}


async def test_channels_crud_secret_once_and_rotation(gw: Any) -> None:
    admin = (await gw.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    c = gw.client
    resp = await c.post("/v1/alerts/channels", json=HOOK, headers=admin)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert resp.headers["location"] == f"/v1/alerts/channels/{created['id']}"
    assert created["secret"].startswith("whsec_") and created["format"] == "dengar"
    got = (await c.get(f"/v1/alerts/channels/{created['id']}", headers=admin)).json()
    assert "secret" not in got and got["url"] == HOOK["url"]
    listed = (await c.get("/v1/alerts/channels", headers=admin)).json()["data"]
    assert [x["id"] for x in listed] == [created["id"]]
    rotated = (await c.post(f"/v1/alerts/channels/{created['id']}/rotate-secret", headers=admin)).json()
    assert rotated["secret"] != created["secret"]
    resp = await c.put(f"/v1/alerts/channels/{created['id']}", json={**HOOK, "format": "slack"},
                       headers=admin)
    assert resp.status_code == 200 and resp.json()["format"] == "slack"
    assert (await c.delete(f"/v1/alerts/channels/{created['id']}", headers=admin)).status_code == 204
    assert (await c.get(f"/v1/alerts/channels/{created['id']}", headers=admin)).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({**HOOK, "kind": "pager"}, "kind"),
    ({**HOOK, "url": "not a url"}, "url"),
    ({**HOOK, "url": "http://127.0.0.1:8080/hook"}, "url"),
    ({**HOOK, "url": "http://169.254.169.254/latest"}, "url"),
    ({**HOOK, "format": "teams"}, "format"),
    ({"name": "PR", "kind": "email", "recipients": ["nope"]}, "recipients"),
    ({"name": "PR", "kind": "email", "recipients": ["a@b.co"]}, "kind"),  # SMTP not configured
])
async def test_bad_channels_are_422_naming_the_field(gw: Any, problem: Any, body: dict[str, Any],
                                                     field: str) -> None:
    admin = (await gw.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    doc = problem(await gw.client.post("/v1/alerts/channels", json=body, headers=admin), 422)
    assert doc["errors"][0]["field"] == field


async def test_deliveries_and_redeliver(gw: Any, backend: Backend, problem: Any) -> None:
    admin = (await gw.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    c = gw.client
    channel = (await c.post("/v1/alerts/channels", json=HOOK, headers=admin)).json()
    [did] = await backend.deliveries.dispatch(Notification(
        tenant_id="acme", key="alert:i1:firing", kind="alert.firing", title={"en": "t"}, text={"en": "x"},
        payload={}, created_at=datetime.now(UTC)), [channel["id"]])
    listed = (await c.get("/v1/alerts/deliveries", params={"key": "alert:i1:firing"}, headers=admin)).json()
    assert [(d["id"], d["state"], d["attempts"]) for d in listed["data"]] == [(did, "pending", [])]
    problem(await c.post(f"/v1/alerts/deliveries/{did}/redeliver", headers=admin), 409)
    await backend.store._col.update_one({"_id": did}, {"$set": {"state": "dead"}})
    resp = await c.post(f"/v1/alerts/deliveries/{did}/redeliver", headers=admin)
    assert resp.status_code == 200 and resp.json()["state"] == "pending"
    problem(await c.get("/v1/alerts/deliveries", params={"state": "lost"}, headers=admin), 422)


async def test_digests_crud_and_validation(gw: Any, problem: Any) -> None:
    admin = (await gw.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    c = gw.client
    channel = (await c.post("/v1/alerts/channels", json=HOOK, headers=admin)).json()
    resp = await c.post("/v1/alerts/digests", json={**DIGEST, "channel_ids": [channel["id"]]}, headers=admin)
    assert resp.status_code == 201, resp.text
    digest = resp.json()
    assert digest["next_run_at"].endswith("01:00:00Z")
    for bad, field in [({"time": "8am"}, "time"), ({"time_zone": "Mars/Base"}, "time_zone"),
                       ({"channel_ids": ["nope"]}, "channel_ids"), ({"frequency": "weekly"}, "weekday")]:
        body = {**DIGEST, "channel_ids": [channel["id"]], **bad}
        doc = problem(await c.post("/v1/alerts/digests", json=body, headers=admin), 422)
        assert doc["errors"][0]["field"] == field
    resp = await c.put(f"/v1/alerts/digests/{digest['id']}", headers=admin, json={
        **DIGEST, "frequency": "weekly", "weekday": "mon", "channel_ids": [channel["id"]]})
    assert resp.status_code == 200 and resp.json()["weekday"] == "mon"
    assert len((await c.get("/v1/alerts/digests", headers=admin)).json()["data"]) == 1
    assert (await c.delete(f"/v1/alerts/digests/{digest['id']}", headers=admin)).status_code == 204


async def test_tenant_isolation_on_every_route(gw: Any, backend: Backend) -> None:
    acme = (await gw.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    other = (await gw.new_key("other", Scope.ADMIN, Scope.READ)).headers
    c = gw.client
    channel = (await c.post("/v1/alerts/channels", json=HOOK, headers=acme)).json()
    digest = (await c.post("/v1/alerts/digests", json={**DIGEST, "channel_ids": [channel["id"]]},
                           headers=acme)).json()
    [did] = await backend.deliveries.dispatch(Notification(
        tenant_id="acme", key="alert:i9:firing", kind="alert.firing", title={"en": "t"}, text={"en": "x"},
        payload={}, created_at=datetime.now(UTC)), [channel["id"]])
    cid, gid = channel["id"], digest["id"]
    for method, path, body in [
        ("GET", f"/v1/alerts/channels/{cid}", None), ("PUT", f"/v1/alerts/channels/{cid}", HOOK),
        ("DELETE", f"/v1/alerts/channels/{cid}", None),
        ("POST", f"/v1/alerts/channels/{cid}/rotate-secret", None),
        ("GET", f"/v1/alerts/deliveries/{did}", None),
        ("POST", f"/v1/alerts/deliveries/{did}/redeliver", None),
        ("GET", f"/v1/alerts/digests/{gid}", None),
        ("PUT", f"/v1/alerts/digests/{gid}", {**DIGEST, "channel_ids": [cid]}),
        ("DELETE", f"/v1/alerts/digests/{gid}", None),
    ]:
        resp = await c.request(method, path, json=body, headers=other)
        # 422 for the digest PUT: the other tenant's channel id is unknown to it, as is the digest.
        assert resp.status_code in (404, 422), (method, path, resp.status_code)
        assert "whsec_" not in resp.text and HOOK["url"] not in resp.text
    for path in ("/v1/alerts/channels", "/v1/alerts/digests", "/v1/alerts/deliveries"):
        assert (await c.get(path, headers=other)).json()["data"] == [], path
    assert (await c.get(f"/v1/alerts/channels/{cid}", headers=acme)).status_code == 200
    assert (await c.get(f"/v1/alerts/digests/{gid}", headers=acme)).status_code == 200
    reader = (await gw.new_key("acme", Scope.READ)).headers
    assert (await c.post("/v1/alerts/channels", json=HOOK, headers=reader)).status_code == 403
