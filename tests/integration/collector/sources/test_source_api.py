"""SourceService management over gRPC against a real collector, NATS and SecantusDB."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2
from source_helpers import OTHER, TENANT, mastodon_config

from dengar.v1 import collector_pb2


def struct(data: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(data)
    return s


def create_req(tenant: str = TENANT, **kw: object) -> collector_pb2.CreateSourceRequest:
    values: dict[str, object] = {"name": "Gojek on Mastodon", "kind": "hackernews",
                                 "config": struct({"base_url": "http://127.0.0.1:9", "query": "gojek"}),
                                 "paused": True}
    values.update(kw)
    return collector_pb2.CreateSourceRequest(tenant_id=tenant, **values)  # type: ignore[arg-type]  # loose kwargs


async def code_of(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value.code(), info.value.details() or ""


async def test_create_get_list_update_delete(sources, mastodon) -> None:
    created = await sources.CreateSource(create_req(
        kind="mastodon", config=struct(mastodon_config(mastodon)),
        credentials={"access_token": mastodon.secret}, interval_seconds=120))
    src = created.source
    assert src.id.startswith("src_") and len(src.id) == 20 and not created.webhook_secret
    assert (src.tenant_id, src.kind, src.interval_seconds, src.paused) == (TENANT, "mastodon", 120, True)
    assert src.status == collector_pb2.SOURCE_STATUS_PAUSED
    assert list(src.credential_fields) == ["access_token"]
    assert dict(src.config)["hashtag"] == "gojek"
    # Credential values are write-only: in no answer at all.
    assert mastodon.secret not in str(created) and mastodon.secret not in str(
        await sources.GetSource(collector_pb2.GetSourceRequest(tenant_id=TENANT, id=src.id)))

    others = [(await sources.CreateSource(create_req(name=f"hn {i}"))).source.id for i in range(2)]
    await sources.CreateSource(create_req(OTHER, name="not yours"))
    page1 = await sources.ListSources(collector_pb2.ListSourcesRequest(tenant_id=TENANT, page_size=2))
    page2 = await sources.ListSources(collector_pb2.ListSourcesRequest(
        tenant_id=TENANT, page_size=2, page_token=page1.next_page_token))
    assert [s.id for s in page1.sources] + [s.id for s in page2.sources] == [src.id, *others]
    assert page1.next_page_token and not page2.next_page_token
    only_hn = await sources.ListSources(collector_pb2.ListSourcesRequest(tenant_id=TENANT, kind="hackernews"))
    assert [s.id for s in only_hn.sources] == others

    updated = await sources.UpdateSource(collector_pb2.UpdateSourceRequest(
        tenant_id=TENANT, id=src.id, name="renamed", interval_seconds=600,
        config=struct(mastodon_config(mastodon, hashtag="grab"))))
    assert (updated.name, updated.interval_seconds) == ("renamed", 600)
    assert dict(updated.config)["hashtag"] == "grab"
    assert list(updated.credential_fields) == ["access_token"]
    cleared = await sources.UpdateSource(collector_pb2.UpdateSourceRequest(
        tenant_id=TENANT, id=src.id, replace_credentials=True))
    assert list(cleared.credential_fields) == []

    await sources.DeleteSource(collector_pb2.DeleteSourceRequest(tenant_id=TENANT, id=src.id))
    code, _ = await code_of(sources.GetSource(collector_pb2.GetSourceRequest(tenant_id=TENANT, id=src.id)))
    assert code == grpc.StatusCode.NOT_FOUND


async def test_other_tenants_get_not_found(sources) -> None:
    src = (await sources.CreateSource(create_req())).source
    get = collector_pb2.GetSourceRequest(tenant_id=OTHER, id=src.id)
    for call in (sources.GetSource(get), sources.PauseSource(get), sources.ResumeSource(get),
                 sources.RunSourceNow(get), sources.RotateWebhookSecret(get),
                 sources.UpdateSource(collector_pb2.UpdateSourceRequest(tenant_id=OTHER, id=src.id,
                                                                        name="x")),
                 sources.DeleteSource(collector_pb2.DeleteSourceRequest(tenant_id=OTHER, id=src.id))):
        code, _ = await code_of(call)
        assert code == grpc.StatusCode.NOT_FOUND
    # Still there, unchanged, for its own tenant.
    again = await sources.GetSource(collector_pb2.GetSourceRequest(tenant_id=TENANT, id=src.id))
    assert again.name == src.name
    listed = await sources.ListSources(collector_pb2.ListSourcesRequest(tenant_id=OTHER))
    assert list(listed.sources) == []


@pytest.mark.parametrize("kw,field", [
    ({"kind": "myspace"}, "myspace"),
    ({"config": struct({"base_url": "http://127.0.0.1:9", "queryy": "x"})}, "queryy"),
    ({"kind": "mastodon", "config": struct({"hashtag": "a", "query": "b"})}, "hashtag or query"),
    ({"kind": "x", "config": struct({"query": "gojek"})}, "credentials"),
    ({"kind": "rss", "config": struct({"feed_url": "ftp://example.com/feed"})}, "feed_url"),
    ({"name": ""}, "name"),
    ({"interval_seconds": -5}, "interval_seconds"),
    ({"kind": "webhook", "config": struct({"a": 1})}, "config"),
])
async def test_bad_definitions_are_invalid_argument(sources, kw: dict, field: str) -> None:
    code, message = await code_of(sources.CreateSource(create_req(**kw)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in message
    assert list((await sources.ListSources(collector_pb2.ListSourcesRequest(tenant_id=TENANT))).sources) == []


async def test_credential_errors_never_echo_values(sources) -> None:
    secret = "hunter2-very-secret-value"
    code, message = await code_of(sources.CreateSource(create_req(
        kind="mastodon", config=struct({"hashtag": "gojek"}),
        credentials={"access_token": "tok", "password": secret})))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "password" in message and secret not in message


async def test_bad_update_changes_nothing(sources, mastodon) -> None:
    config = struct(mastodon_config(mastodon))
    src = (await sources.CreateSource(create_req(kind="mastodon", config=config))).source
    code, _ = await code_of(sources.UpdateSource(collector_pb2.UpdateSourceRequest(
        tenant_id=TENANT, id=src.id, name="new name", config=struct({"hashtag": "a", "query": "b"}))))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    again = await sources.GetSource(collector_pb2.GetSourceRequest(tenant_id=TENANT, id=src.id))
    assert (again.name, dict(again.config)["hashtag"]) == (src.name, "gojek")


async def test_malformed_requests(sources) -> None:
    for call in (sources.CreateSource(create_req("Bad Tenant")),
                 sources.ListSources(collector_pb2.ListSourcesRequest(tenant_id=TENANT, page_token="%%%")),
                 sources.ListSources(collector_pb2.ListSourcesRequest(tenant_id=TENANT, page_size=-1))):
        code, _ = await code_of(call)
        assert code == grpc.StatusCode.INVALID_ARGUMENT


async def test_kind_specific_operations(sources) -> None:
    pull = (await sources.CreateSource(create_req())).source
    hook = await sources.CreateSource(create_req(kind="webhook", config=None, name="hook"))
    assert hook.webhook_secret.startswith("whsec_") and hook.source.kind == "webhook"
    assert not hook.source.HasField("next_run_at")
    code, _ = await code_of(sources.RotateWebhookSecret(collector_pb2.GetSourceRequest(tenant_id=TENANT,
                                                                                       id=pull.id)))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    code, _ = await code_of(sources.RunSourceNow(collector_pb2.GetSourceRequest(tenant_id=TENANT,
                                                                                id=hook.source.id)))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    # Paused pull sources are resumed, not run.
    code, _ = await code_of(sources.RunSourceNow(collector_pb2.GetSourceRequest(tenant_id=TENANT,
                                                                                id=pull.id)))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    rotated = await sources.RotateWebhookSecret(collector_pb2.GetSourceRequest(tenant_id=TENANT,
                                                                               id=hook.source.id))
    assert rotated.webhook_secret and rotated.webhook_secret != hook.webhook_secret
