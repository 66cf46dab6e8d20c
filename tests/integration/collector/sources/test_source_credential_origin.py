"""Source credentials are bound to the origin they were given for, and travel over https only (a
review finding: changing base_url kept the stored token and the next run sent it to the new host)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2
from source_helpers import TENANT, mastodon_config

from dengar.v1 import collector_pb2


def struct(data: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(data)
    return s


async def refusal(call: object) -> tuple[str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    meta = dict(info.value.trailing_metadata() or ())
    return str(meta.get("dengar-error-field", "")), info.value.details() or ""


async def stored_credentials(mongo_client, unique: str, source_id: str) -> dict:
    doc = await mongo_client[f"col_{unique}"]["sources"].find_one({"_id": source_id})
    assert doc is not None and doc["credentials_sealed"]["scheme"] == "plain"  # the development mode
    return dict(doc["credentials_sealed"]["values"])


async def create(sources, mastodon, **config: object) -> collector_pb2.Source:
    resp = await sources.CreateSource(collector_pb2.CreateSourceRequest(
        tenant_id=TENANT, name="gojek", kind="mastodon", paused=True,
        config=struct(mastodon_config(mastodon, **config)), credentials={"access_token": mastodon.secret}))
    return resp.source


async def test_a_new_origin_without_the_credentials_again_is_refused(sources, mastodon, mongo_client,
                                                                      unique) -> None:
    src = await create(sources, mastodon)
    host, port = mastodon.server.base_url.rstrip("/").rsplit(":", 1)
    for elsewhere in ("https://mastodon.evil.example", f"{host}:{int(port) + 1}",
                      mastodon.server.base_url.replace("http://", "https://")):
        field, message = await refusal(sources.UpdateSource(collector_pb2.UpdateSourceRequest(
            tenant_id=TENANT, id=src.id, config=struct(mastodon_config(mastodon, base_url=elsewhere)))))
        assert field == "credentials" and "send them again" in message
        assert mastodon.secret not in message
    got = await sources.GetSource(collector_pb2.GetSourceRequest(tenant_id=TENANT, id=src.id))
    assert got.config["base_url"] == mastodon.server.base_url.rstrip("/")
    assert await stored_credentials(mongo_client, unique, src.id) == {"access_token": mastodon.secret}

    # The same origin (another path, a trailing slash, the explicit default port) keeps them.
    same = mastodon.server.base_url.rstrip("/") + "/"
    await sources.UpdateSource(collector_pb2.UpdateSourceRequest(
        tenant_id=TENANT, id=src.id, config=struct(mastodon_config(mastodon, base_url=same, hashtag="grab"))))
    assert await stored_credentials(mongo_client, unique, src.id) == {"access_token": mastodon.secret}


async def test_a_new_origin_with_credentials_uses_only_those(sources, mastodon, mongo_client, unique,
                                                             server) -> None:
    src = await create(sources, mastodon)
    moved = server.base_url.replace("127.0.0.1", "localhost")
    await sources.UpdateSource(collector_pb2.UpdateSourceRequest(
        tenant_id=TENANT, id=src.id, config=struct(mastodon_config(mastodon, base_url=moved)),
        credentials={"access_token": "token-for-the-new-host"}))
    stored = await stored_credentials(mongo_client, unique, src.id)
    assert stored == {"access_token": "token-for-the-new-host"}
    # Dropping them explicitly is always possible.
    await sources.UpdateSource(collector_pb2.UpdateSourceRequest(
        tenant_id=TENANT, id=src.id, config=struct(mastodon_config(mastodon, base_url="https://m.example")),
        replace_credentials=True))
    assert await stored_credentials(mongo_client, unique, src.id) == {}


@pytest.mark.parametrize("kind,config,credentials,field", [
    ("mastodon", {"hashtag": "gojek", "base_url": "http://mastodon.example"}, {"access_token": "t"},
     "config.base_url"),
    ("x", {"query": "gojek", "base_url": "http://api.x.example"}, {"bearer_token": "t"}, "config.base_url"),
    ("rss", {"feed_url": "http://feeds.example/private.xml"}, {"username": "u", "password": "p"},
     "config.feed_url"),
    ("reddit", {"subreddit": "indonesia", "auth_url": "http://www.reddit.example"},
     {"client_id": "c", "client_secret": "s"}, "config.auth_url"),
    ("bluesky", {"query": "gojek", "pds_url": "http://pds.example"},
     {"identifier": "me.bsky.social", "app_password": "p"}, "config.pds_url"),
])
async def test_credentials_are_never_sent_over_plain_http(sources, kind: str, config: dict,
                                                          credentials: dict, field: str) -> None:
    got_field, message = await refusal(sources.CreateSource(collector_pb2.CreateSourceRequest(
        tenant_id=TENANT, name="n", kind=kind, paused=True, config=struct(config), credentials=credentials)))
    assert got_field == field and "https" in message
    # Without credentials nothing secret travels: a public http feed is fine.
    if kind in ("mastodon", "rss"):
        await sources.CreateSource(collector_pb2.CreateSourceRequest(
            tenant_id=TENANT, name="n", kind=kind, paused=True, config=struct(config)))


async def test_an_update_to_http_is_refused_while_credentials_are_stored(sources, mastodon) -> None:
    src = await create(sources, mastodon)
    field, _ = await refusal(sources.UpdateSource(collector_pb2.UpdateSourceRequest(
        tenant_id=TENANT, id=src.id, config=struct(mastodon_config(mastodon, base_url="http://m.example")),
        credentials={"access_token": "t"})))
    assert field == "config.base_url"


async def test_a_bad_config_is_named_as_such_not_as_missing_credentials(sources, mastodon) -> None:
    src = await create(sources, mastodon)
    field, message = await refusal(sources.UpdateSource(collector_pb2.UpdateSourceRequest(
        tenant_id=TENANT, id=src.id, config=struct({"base_url": "https://m.example", "hashtagg": "x"}))))
    assert field != "credentials" and "hashtagg" in message
