"""Source credentials and webhook secrets encrypted at rest, against a real collector, NATS and
SecantusDB: stored documents hold no secret value, sources still run and webhooks still verify, old
plaintext documents keep working and are re-encrypted, rotation works, and a wrong key fails the run
with a clear error instead of a crash."""

from __future__ import annotations

import json
import logging
import time

import bson
import grpc
import pytest
from google.protobuf import struct_pb2
from source_helpers import TENANT, mastodon_config, wait_for

from dengar.v1 import collector_pb2, collector_pb2_grpc
from dengar_collector.domain.webhook import sign
from dengar_common.grpcutil import insecure_channel
from dengar_common.secrets import UNREADABLE_MESSAGE, SecretBox, generate_key

OLD, NEW, WRONG = generate_key(), generate_key(), generate_key()


def struct(data: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(data)
    return s


def get(source_id: str) -> collector_pb2.GetSourceRequest:
    return collector_pb2.GetSourceRequest(tenant_id=TENANT, id=source_id)


def push(source_id: str, secret: str, external_id: str) -> collector_pb2.PushWebhookRequest:
    body = json.dumps({"platform": "x", "external_id": external_id, "text": "GoFood telat lagi",
                       "created_at": "2026-11-30T10:00:00Z"}).encode()
    stamp = str(int(time.time()))
    return collector_pb2.PushWebhookRequest(source_id=source_id, timestamp=stamp, body=body,
                                            signature=sign(secret, stamp, body),
                                            content_type="application/json")


async def raw(mongo_client, unique: str, source_id: str) -> dict:
    doc = await mongo_client[f"col_{unique}"]["sources"].find_one({"_id": source_id})
    assert doc is not None
    return doc


def assert_sealed(doc: dict, *values: str, key: str) -> None:
    stored = bson.encode(doc)
    for value in values:
        assert value.encode() not in stored
    assert "credentials" not in doc and "webhook_secret" not in doc
    for field in ("credentials_sealed", "webhook_secret_sealed"):
        if doc[field] is not None:
            assert doc[field]["scheme"] == "fernet"
            # Sealed with this key (the primary), not merely readable by a list that holds it.
            SecretBox([key]).open(doc[field], context=f"{doc['tenant_id']}/{doc['_id']}/{field[:-7]}")


async def create_mastodon(stub, harness, **kw: object) -> collector_pb2.Source:
    resp = await stub.CreateSource(collector_pb2.CreateSourceRequest(
        tenant_id=TENANT, name="gojek", kind="mastodon", config=struct(mastodon_config(harness)),
        credentials={"access_token": harness.secret}, **kw))
    return resp.source


async def test_with_a_key_nothing_secret_is_stored_and_sources_still_work(
        start_collector, mastodon, server, mongo_client, unique) -> None:
    app = await start_collector(secrets_keys=NEW)
    async with insecure_channel(app.target) as ch:
        stub = collector_pb2_grpc.SourceServiceStub(ch)
        src = await create_mastodon(stub, mastodon)
        done = await wait_for(stub, TENANT, src.id, lambda s: s.runs >= 1)
        assert done.status == collector_pb2.SOURCE_STATUS_ACTIVE and done.last_run_items == 5
        assert list(done.credential_fields) == ["access_token"]
        # Decrypted for the platform call.
        assert server.seen(mastodon.main_path)[0].headers["authorization"] == f"Bearer {mastodon.secret}"
        assert_sealed(await raw(mongo_client, unique, src.id), mastodon.secret, key=NEW)

        hook = await stub.CreateSource(collector_pb2.CreateSourceRequest(
            tenant_id=TENANT, name="crm", kind="webhook"))
        secret = hook.webhook_secret
        assert_sealed(await raw(mongo_client, unique, hook.source.id), secret, key=NEW)
        resp = await stub.PushWebhook(push(hook.source.id, secret, "wh-1"))
        assert resp.accepted == 1
        rotated = await stub.RotateWebhookSecret(get(hook.source.id))
        assert_sealed(await raw(mongo_client, unique, hook.source.id), secret, rotated.webhook_secret,
                      key=NEW)
        assert (await stub.PushWebhook(push(hook.source.id, rotated.webhook_secret, "wh-2"))).accepted == 1
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.PushWebhook(push(hook.source.id, secret, "wh-3"))
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_plaintext_documents_keep_working_and_are_encrypted_when_next_written(
        start_collector, mastodon, server, mongo_client, unique) -> None:
    plain = await start_collector()
    async with insecure_channel(plain.target) as ch:
        stub = collector_pb2_grpc.SourceServiceStub(ch)
        pull = await create_mastodon(stub, mastodon, paused=True)
        hook = await stub.CreateSource(collector_pb2.CreateSourceRequest(
            tenant_id=TENANT, name="crm", kind="webhook"))
    await plain.stop()
    assert (await raw(mongo_client, unique, pull.id))["credentials_sealed"] == {
        "scheme": "plain", "values": {"access_token": mastodon.secret}}
    # A document as written before secrets were sealed at all.
    col = mongo_client[f"col_{unique}"]["sources"]
    await col.update_one({"_id": hook.source.id}, {"$set": {"webhook_secret": hook.webhook_secret},
                                                   "$unset": {"webhook_secret_sealed": ""}})

    # The operator configures a key (a rotation from OLD is left in the list, unused so far).
    keyed = await start_collector(secrets_keys=f"{NEW},{OLD}")
    async with insecure_channel(keyed.target) as ch:
        stub = collector_pb2_grpc.SourceServiceStub(ch)
        assert (await stub.PushWebhook(push(hook.source.id, hook.webhook_secret, "wh-1"))).accepted == 1
        assert_sealed(await raw(mongo_client, unique, hook.source.id), hook.webhook_secret, key=NEW)
        await stub.ResumeSource(get(pull.id))
        done = await wait_for(stub, TENANT, pull.id, lambda s: s.runs >= 1)
        assert done.status == collector_pb2.SOURCE_STATUS_ACTIVE and done.last_run_items == 5
        assert server.seen(mastodon.main_path)[0].headers["authorization"] == f"Bearer {mastodon.secret}"
        assert_sealed(await raw(mongo_client, unique, pull.id), mastodon.secret, key=NEW)
        # Still verifies after being re-encrypted.
        assert (await stub.PushWebhook(push(hook.source.id, hook.webhook_secret, "wh-2"))).accepted == 1


async def test_rotation_reads_the_old_key_and_moves_to_the_new_one(
        start_collector, mastodon, server, mongo_client, unique) -> None:
    first = await start_collector(secrets_keys=OLD)
    async with insecure_channel(first.target) as ch:
        pull = await create_mastodon(collector_pb2_grpc.SourceServiceStub(ch), mastodon, paused=True)
    await first.stop()
    assert_sealed(await raw(mongo_client, unique, pull.id), mastodon.secret, key=OLD)

    rotated = await start_collector(secrets_keys=f"{NEW},{OLD}")
    async with insecure_channel(rotated.target) as ch:
        stub = collector_pb2_grpc.SourceServiceStub(ch)
        await stub.ResumeSource(get(pull.id))
        done = await wait_for(stub, TENANT, pull.id, lambda s: s.runs >= 1)
        assert done.status == collector_pb2.SOURCE_STATUS_ACTIVE
        assert_sealed(await raw(mongo_client, unique, pull.id), mastodon.secret, key=NEW)


async def test_a_wrong_key_fails_the_run_clearly_until_the_credentials_are_replaced(
        start_collector, mastodon, server, mongo_client, unique, caplog) -> None:
    for name in ("dengar_collector", "dengar_common"):
        caplog.set_level(logging.DEBUG, logger=name)
    first = await start_collector(secrets_keys=OLD)
    async with insecure_channel(first.target) as ch:
        pull = await create_mastodon(collector_pb2_grpc.SourceServiceStub(ch), mastodon, paused=True)
    await first.stop()
    token = (await raw(mongo_client, unique, pull.id))["credentials_sealed"]["token"]

    wrong = await start_collector(secrets_keys=WRONG)
    async with insecure_channel(wrong.target) as ch:
        stub = collector_pb2_grpc.SourceServiceStub(ch)
        await stub.ResumeSource(get(pull.id))
        failed = await wait_for(stub, TENANT, pull.id, lambda s: s.runs >= 1)
        assert failed.status == collector_pb2.SOURCE_STATUS_ERROR
        assert failed.last_error == UNREADABLE_MESSAGE
        # The platform was not called with empty credentials, and nothing was overwritten.
        assert server.seen(mastodon.main_path) == []
        assert (await raw(mongo_client, unique, pull.id))["credentials_sealed"]["token"] == token
        assert "cannot be opened" in caplog.text and token not in caplog.text
        # Merging into unreadable credentials would lose them: refused.
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.UpdateSource(collector_pb2.UpdateSourceRequest(
                tenant_id=TENANT, id=pull.id, credentials={"extra": "x"}))
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "replace_credentials" in (info.value.details() or "")
        # Replacing them all is how the tenant recovers.
        await stub.UpdateSource(collector_pb2.UpdateSourceRequest(
            tenant_id=TENANT, id=pull.id, credentials={"access_token": mastodon.secret},
            replace_credentials=True))
        fixed = await wait_for(stub, TENANT, pull.id, lambda s: s.runs >= 2)
        assert fixed.status == collector_pb2.SOURCE_STATUS_ACTIVE and fixed.consecutive_failures == 0
        assert_sealed(await raw(mongo_client, unique, pull.id), mastodon.secret, key=WRONG)
