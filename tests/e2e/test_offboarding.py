"""End to end: `dengar tenants delete` removes every piece of a tenant's data in every service, drops
messages still in flight for it, and leaves other tenants alone.

The check enumerates the collections of every service's database instead of naming them, so a
collection added later without a clean-up fails this test.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from dengar.v1 import common_pb2
from dengar_cli.platform import Platform
from dengar_common.enums import platform_name
from dengar_common.ids import mention_id

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC).replace(microsecond=0)
# Where a deleted tenant may still appear: the tombstones that make in-flight messages drop.
# The gateway's per-tenant quota state: short-lived documents written by every request.
EPHEMERAL = {("gateway", "rate_windows"), ("gateway", "stream_leases")}
TOMBSTONES = {("collector", "tenant_tombstones"), ("insights", "tenant_tombstones"), ("gateway", "tenants")}


def _post(external_id: str, text: str, minutes: int = 1) -> dict[str, Any]:
    return {"platform": "x", "external_id": external_id, "text": text, "lang": "id",
            "created_at": (NOW - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
            "author": {"id": f"a-{external_id}", "handle": f"user_{external_id}"}}


def _wait_mentions(c: httpx.Client, n: int, timeout: float = 180) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = c.get("/v1/mentions", params={"limit": 200}).json()["data"]
        if len(data) >= n:
            return list(data)
        time.sleep(0.5)
    raise AssertionError(f"{n} mentions not stored within {timeout}s")


def _everything(c: httpx.Client, tag: str) -> None:
    """Data of the tenant in every service, through the public API."""
    def ok(r: httpx.Response) -> dict[str, Any]:
        assert r.status_code in (200, 201, 202), r.text
        return dict(r.json()) if r.content else {}

    ok(c.post("/v1/posts", json={"posts": [_post(f"{tag}1", "Refund belum masuk, kirimin telat"),
                                           _post(f"{tag}2", "Kirimin cepat sekali")]},
              headers={"Idempotency-Key": f"seed-{tag}"}))
    ok(c.post("/v1/queries", json={"name": "Kirimin", "role": "brand", "expression": "kirimin"}))
    ok(c.post("/v1/sources", json={"name": "CRM export", "kind": "webhook"}))
    ok(c.post("/v1/categories", json={"name": "Refunds", "expression": "refund*"}))
    channel = ok(c.post("/v1/alerts/channels", json={"name": "Ops", "kind": "webhook",
                                              "url": "http://127.0.0.1:9/hook"}))
    ok(c.post("/v1/alerts/rules", json={"name": "Crisis", "condition": "mention_match",
                                        "expression": "refund", "channel_ids": [channel["id"]]}))
    ok(c.post("/v1/keys", json={"name": "reader", "scopes": ["read"]}))
    out = io.StringIO()
    posted = (NOW - timedelta(hours=1)).isoformat()
    csv.writer(out, lineterminator="\n").writerows(
        [("id", "message", "posted"), (f"{tag}c1", "Kirimin via CSV", posted)])
    ok(c.post("/v1/imports", files={"file": ("export.csv", out.getvalue(), "text/csv")},
              data={"map": ["external_id=id", "text=message", "created_at=posted"],
                    "default_platform": "facebook"}))
    mentions = _wait_mentions(c, 3)
    ok(c.patch(f"/v1/mentions/{mentions[0]['id']}/workflow", json={"state": "in_progress", "note": "x"}))
    day = {"from": (NOW - timedelta(days=1)).isoformat(), "to": (NOW + timedelta(hours=1)).isoformat()}
    ok(c.get("/v1/insights/topics", params=day))


def _docs(mongo: MongoClient[dict[str, Any]], tenant: str) -> dict[tuple[str, str], int]:
    """Documents of ``tenant`` in every collection of every service's database."""
    found: dict[tuple[str, str], int] = {}
    for service in ("collector", "insights", "gateway"):
        db = mongo[f"e2e_{service}"]
        for name in db.list_collection_names():
            n = db[name].count_documents({"$or": [{"tenant_id": tenant}, {"_id": tenant}]})
            if n:
                found[(service, name)] = n
    return found


def _drop_ephemeral(docs: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    return {k: n for k, n in docs.items() if k not in EPHEMERAL}


def test_deleting_a_tenant_removes_all_of_its_data_everywhere(
        platform: Platform, new_tenant: Callable[[str, str], str],
        api: Callable[[str], httpx.Client]) -> None:
    assert platform.infra is not None
    mongo: MongoClient[dict[str, Any]] = MongoClient(platform.infra.mongo_uri)
    key_a, key_b = new_tenant("Gone Air", "gonea"), new_tenant("Stay Bus", "stayb")
    with api(key_a) as a, api(key_b) as b:
        _everything(a, "ga")
        _everything(b, "sb")
        before_a = _docs(mongo, "gonea")
        assert {("insights", "mentions"), ("insights", "rollups"), ("insights", "mention_audit"),
                ("insights", "categories"), ("insights", "channels"), ("insights", "alert_rules"),
                ("collector", "queries"), ("collector", "sources"), ("collector", "imports"),
                ("gateway", "api_keys"), ("gateway", "idempotency")} <= set(before_a), before_a
        before_b = _docs(mongo, "stayb")

        report = json.loads(platform.admin("tenants", "delete", "gonea", "--json"))
        assert report["deleted"] is True
        assert report["removed"]["insights"]["mentions"] == 3
        assert report["removed"]["collector"]["queries"] == 1
        assert report["removed"]["gateway"]["api_keys"] == 2

        left = _docs(mongo, "gonea")
        assert set(left) <= TOMBSTONES, left
        assert mongo["e2e_gateway"]["tenants"].find_one({"_id": "gonea"})["deleted_at"] is not None
        assert a.get("/v1/mentions").status_code == 401
        assert "gonea" not in platform.admin("tenants", "list")
        # B's own data is untouched (its request windows come and go with its requests).
        assert _drop_ephemeral(_docs(mongo, "stayb")) == _drop_ephemeral(before_b)

        # A post still in flight for the deleted tenant is dropped at every stage, never stored.
        _publish_late(platform, "gonea", "late1")
        r = b.post("/v1/posts", json={"posts": [_post("sb-after", "Kirimin lagi")]})
        assert r.status_code == 202, r.text
        _wait_mentions(b, 4)
        time.sleep(2)
        assert set(_docs(mongo, "gonea")) <= TOMBSTONES

        # Idempotent: running it again finishes whatever is left (here nothing) and succeeds.
        again = json.loads(platform.admin("tenants", "delete", "gonea", "--json"))
        assert again["deleted"] is True
        # Nothing left in the databases; the bus messages published after the deletion are purged.
        assert not any(n for service in ("gateway", "insights") for n in again["removed"][service].values())
        assert not any(n for name, n in again["removed"]["collector"].items()
                       if not name.startswith("bus:")), again
        assert _bus_messages(platform, "gonea") == 0
        assert _bus_messages(platform, "stayb") > 0
    mongo.close()


def _bus_messages(platform: Platform, tenant: str) -> int:
    """Messages of ``tenant`` kept in any stream of the bus."""
    import asyncio

    from dengar_common.bus import connect

    async def go() -> int:
        assert platform.infra is not None
        nc = await connect(platform.infra.nats_url, name="e2e-bus")
        try:
            js, total = nc.jetstream(), 0
            for stream in await js.streams_info():
                info = await js.stream_info(stream.config.name, subjects_filter=">")
                total += sum(n for subject, n in (info.state.subjects or {}).items()
                             if subject.endswith(f".{tenant}"))
            return total
        finally:
            await nc.close()

    return asyncio.run(go())


def _publish_late(platform: Platform, tenant: str, external_id: str) -> None:
    """Publish a collected and an enriched post for ``tenant`` straight onto the bus, as a message
    that was in flight when the tenant was deleted would arrive."""
    import asyncio

    from dengar_common.bus import Subjects, connect, publish

    post = common_pb2.Post(id=mention_id(tenant, platform_name(common_pb2.PLATFORM_X), external_id),
                           tenant_id=tenant, platform=common_pb2.PLATFORM_X, external_id=external_id,
                           text="Kirimin telat lagi")
    post.created_at.FromDatetime(NOW)
    post.collected_at.FromDatetime(NOW)
    enriched = common_pb2.EnrichedPost(post=post, enrichment=common_pb2.Enrichment(language="id"))

    async def go() -> None:
        assert platform.infra is not None
        nc = await connect(platform.infra.nats_url, name="e2e-late")
        try:
            js, subjects = nc.jetstream(), Subjects(platform.subject_root)
            await publish(js, subjects.collected(tenant), post.SerializeToString(),
                          msg_id=f"{tenant}:x:{external_id}")
            await publish(js, subjects.enriched(tenant), enriched.SerializeToString(),
                          msg_id=f"{tenant}:x:{external_id}:late")
        finally:
            await nc.close()

    asyncio.run(go())


def test_retention_is_set_per_tenant_through_the_cli(
        platform: Platform, new_tenant: Callable[[str, str], str]) -> None:
    new_tenant("Retain Co", "retainc")
    shown = json.loads(platform.admin("tenants", "retention", "retainc", "--json"))
    assert shown == {"tenant_id": "retainc", "days": 0, "is_default": True}  # forever by default
    set_ = json.loads(platform.admin("tenants", "retention", "retainc", "--days", "90", "--json"))
    assert set_ == {"tenant_id": "retainc", "days": 90, "is_default": False}
    assert json.loads(platform.admin("tenants", "retention", "retainc", "--json")) == set_
    assert "retainc\tforever\town" in platform.admin("tenants", "retention", "retainc", "--forever")
    back = json.loads(platform.admin("tenants", "retention", "retainc", "--default", "--json"))
    assert back["is_default"] is True
    with pytest.raises(RuntimeError, match="no tenant 'nobody'"):
        platform.admin("tenants", "retention", "nobody")
