"""/v1/sources against a real collector: credentials bound to their origin and refused over plain
http (422 naming the field), and what keys without ``admin`` see of a source's config."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from dengar_collector import bootstrap as collector_bootstrap
from dengar_collector.settings import CollectorSettings
from dengar_common.app import ServiceApp
from dengar_common.localinfra import LocalInfra
from dengar_gateway.domain.keys import Scope

FEED = "https://feeds.example.com/private.xml?token=feed-s3cr3t&lang=id"


@pytest.fixture
async def collector(infra: LocalInfra, unique: str) -> AsyncIterator[collector_bootstrap.Collector]:
    settings = CollectorSettings(nats_url=infra.nats_url, mongo_uri=infra.mongo_uri, subject_root=unique,
                                 collector={"grpc_port": 0, "db": f"{unique}_collector",
                                            "allow_unencrypted_secrets": True,
                                            "scheduler": {"enabled": False}},
                                 shutdown_grace_s=2.0)
    async with ServiceApp("dengar-collector", grace_s=settings.shutdown_grace_s) as app:
        running = await collector_bootstrap.start(app, settings)
        await app.ready()
        yield running


@pytest.fixture
async def gw(gateway_for: Callable[..., Any], collector: collector_bootstrap.Collector) -> Any:
    return await gateway_for(collector_target=collector.target)


async def test_moving_a_source_to_another_origin_needs_the_credentials_again(gw, problem) -> None:
    admin = (await gw.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    created = await gw.client.post("/v1/sources", headers=admin, json={
        "name": "m", "kind": "mastodon", "paused": True,
        "config": {"base_url": "https://mastodon.social", "hashtag": "gojek"},
        "credentials": {"access_token": "tok-abc-123"}})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    doc = problem(await gw.client.patch(f"/v1/sources/{sid}", headers=admin, json={
        "config": {"base_url": "https://mastodon.evil.example", "hashtag": "gojek"}}), 422)
    assert doc["field"] == "credentials" and "tok-abc-123" not in str(doc)
    assert (await gw.client.get(f"/v1/sources/{sid}", headers=admin)).json()["config"]["base_url"] == (
        "https://mastodon.social")
    moved = await gw.client.patch(f"/v1/sources/{sid}", headers=admin, json={
        "config": {"base_url": "https://mastodon.evil.example", "hashtag": "gojek"},
        "credentials": {"access_token": "another-token"}})
    assert moved.status_code == 200, moved.text
    assert moved.json()["credential_fields"] == ["access_token"]


async def test_credentials_over_plain_http_are_refused(gw, problem) -> None:
    admin = (await gw.new_key("acme", Scope.ADMIN)).headers
    doc = problem(await gw.client.post("/v1/sources", headers=admin, json={
        "name": "m", "kind": "mastodon", "config": {"base_url": "http://mastodon.example", "hashtag": "x"},
        "credentials": {"access_token": "tok"}}), 422)
    assert doc["field"] == "config.base_url" and "https" in doc["detail"]


async def test_read_only_keys_do_not_see_secrets_in_the_config(gw) -> None:
    admin = (await gw.new_key("acme", Scope.ADMIN, Scope.READ)).headers
    reader = (await gw.new_key("acme", Scope.READ)).headers
    created = await gw.client.post("/v1/sources", headers=admin, json={
        "name": "private feed", "kind": "rss", "paused": True, "config": {"feed_url": FEED}})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    for path in (f"/v1/sources/{sid}", "/v1/sources"):
        seen = (await gw.client.get(path, headers=reader)).text
        assert "feed-s3cr3t" not in seen and "feeds.example.com/private.xml" in seen
    as_reader = (await gw.client.get(f"/v1/sources/{sid}", headers=reader)).json()
    assert as_reader["config"]["feed_url"] == "https://feeds.example.com/private.xml?token=***&lang=***"
    # Whoever may change the config sees it as stored.
    assert (await gw.client.get(f"/v1/sources/{sid}", headers=admin)).json()["config"]["feed_url"] == FEED
