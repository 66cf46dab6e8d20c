"""QueryService over gRPC with the collector in-process (port 0), real SecantusDB and nats-server;
ingested posts are read back from JetStream to check their query tags."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from collector_harness import RunningCollector, collector_settings
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from dengar.v1 import collector_pb2, collector_pb2_grpc, common_pb2
from dengar_collector.settings import CollectorSettings
from dengar_common.bus import Subjects
from dengar_common.grpcerrors import RemoteError
from dengar_common.grpcutil import insecure_channel
from dengar_common.localinfra import LocalInfra

BRAND, COMPETITOR, TOPIC = (collector_pb2.QUERY_ROLE_BRAND, collector_pb2.QUERY_ROLE_COMPETITOR,
                            collector_pb2.QUERY_ROLE_TOPIC)


def post(external_id: str, text: str, **kw: object) -> common_pb2.Post:
    p = common_pb2.Post(platform=common_pb2.PLATFORM_X, external_id=external_id, text=text,
                        **kw)  # type: ignore[arg-type]  # loose kwargs
    p.created_at.FromDatetime(datetime.now(UTC) - timedelta(minutes=5))
    return p


def settings_for(infra: LocalInfra, unique: str, **overrides: object) -> CollectorSettings:
    values: dict[str, object] = dict(db=f"col_{unique}", grpc_port=0)
    values.update(overrides)
    return collector_settings(dict(nats_url=infra.nats_url, mongo_uri=infra.mongo_uri,
                                   subject_root=unique, shutdown_grace_s=2.0), **values)


@pytest.fixture
async def app_for(infra: LocalInfra, unique: str) -> AsyncIterator[object]:
    apps: list[RunningCollector] = []

    async def start(**overrides: object) -> RunningCollector:
        app = RunningCollector(settings_for(infra, unique, **overrides))
        await app.start()
        apps.append(app)
        return app

    try:
        yield start
    finally:
        for app in reversed(apps):
            await app.stop()


class Client:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        self.queries = collector_pb2_grpc.QueryServiceStub(channel)
        self.collector = collector_pb2_grpc.CollectorServiceStub(channel)

    async def create(self, tenant: str, name: str, expression: str, role: int = BRAND,
                     **kw: object) -> collector_pb2.ListeningQuery:
        return await self.queries.CreateQuery(collector_pb2.CreateQueryRequest(
            tenant_id=tenant, name=name, role=role, expression=expression, **kw), timeout=10)  # type: ignore[arg-type]  # loose kwargs

    async def ingest(self, tenant: str, *posts: common_pb2.Post) -> None:
        resp = await self.collector.IngestPosts(
            collector_pb2.IngestPostsRequest(tenant_id=tenant, posts=list(posts)), timeout=10)
        assert resp.accepted == len(posts), resp


@pytest.fixture
async def client_for() -> AsyncIterator[object]:
    channels: list[grpc.aio.Channel] = []

    def connect(app: RunningCollector) -> Client:
        channel = insecure_channel(app.target)
        channels.append(channel)
        return Client(channel)

    try:
        yield connect
    finally:
        for channel in channels:
            await channel.close()


@pytest.fixture
async def client(app_for, client_for) -> Client:
    return client_for(await app_for())


async def tags(nats_client, unique: str) -> dict[str, list[str]]:
    """external_id -> query_ids of the latest stored copy of each published post."""
    js = nats_client.jetstream()
    stream = Subjects(unique).stream("collected")
    info = await js.stream_info(stream)
    out: dict[str, list[str]] = {}
    if info.state.messages:
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            p = common_pb2.Post.FromString((await js.get_msg(stream, seq)).data)
            out[p.external_id] = list(p.query_ids)
    return out


async def rpc_error(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


async def test_create_get_update_delete(client: Client) -> None:
    created = await client.create("acme", "  GoCepat  brand ", "gocepat OR @gocepat_id")
    assert created.id.startswith("q_") and len(created.id) == 18
    assert (created.tenant_id, created.name, created.role, created.enabled) == (
        "acme", "GoCepat brand", BRAND, True)
    assert created.created_at == created.updated_at and created.created_at.seconds > 0

    got = await client.queries.GetQuery(collector_pb2.GetQueryRequest(tenant_id="acme", id=created.id))
    assert got == created

    await asyncio.sleep(0.002)  # updated_at has millisecond resolution
    updated = await client.queries.UpdateQuery(collector_pb2.UpdateQueryRequest(
        tenant_id="acme", id=created.id, expression="gocepat NOT promo", enabled=False))
    assert (updated.name, updated.role, updated.expression, updated.enabled) == (
        "GoCepat brand", BRAND, "gocepat NOT promo", False)
    assert updated.created_at == created.created_at
    assert updated.updated_at.ToDatetime() > created.updated_at.ToDatetime()
    renamed = await client.queries.UpdateQuery(collector_pb2.UpdateQueryRequest(
        tenant_id="acme", id=created.id, name="Ours", role=COMPETITOR))
    assert (renamed.name, renamed.role, renamed.enabled) == ("Ours", COMPETITOR, False)
    # Nothing set: nothing changes.
    same = await client.queries.UpdateQuery(collector_pb2.UpdateQueryRequest(tenant_id="acme", id=created.id))
    assert same == renamed

    delete = collector_pb2.DeleteQueryRequest(tenant_id="acme", id=created.id)
    await client.queries.DeleteQuery(delete)
    for call in (client.queries.GetQuery(collector_pb2.GetQueryRequest(tenant_id="acme", id=created.id)),
                 client.queries.DeleteQuery(delete)):
        assert (await rpc_error(call)).code() == grpc.StatusCode.NOT_FOUND


async def test_syntax_errors_carry_position_and_expectation(client: Client) -> None:
    err = await rpc_error(client.create("acme", "bad", "gocepat AND"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "position 11" in err.details() and 'a term or "("' in err.details()
    trailing = dict(err.trailing_metadata() or ())
    assert (trailing["dengar-error-position"], trailing["dengar-error-expected"]) == ("11", 'a term or "("')

    ok = await client.create("acme", "ok", "gocepat")
    err = await rpc_error(client.queries.UpdateQuery(collector_pb2.UpdateQueryRequest(
        tenant_id="acme", id=ok.id, expression="(gocepat OR", name="renamed")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(err.trailing_metadata() or ())["dengar-error-position"] == "11"
    # Nothing of the rejected update was stored.
    got = await client.queries.GetQuery(collector_pb2.GetQueryRequest(tenant_id="acme", id=ok.id))
    assert (got.name, got.expression) == ("ok", "gocepat")

    resp = await client.queries.ValidateQuery(collector_pb2.ValidateQueryRequest(expression="x NEAR/99 y"))
    assert not resp.valid
    [e] = resp.errors
    assert (e.position, e.expected) == (7, "a number from 0 to 50") and "NEAR" in e.message
    assert await client.queries.ValidateQuery(collector_pb2.ValidateQueryRequest(
        expression='"late delivery" AND lang:id')) == collector_pb2.ValidateQueryResponse(valid=True)


async def test_invalid_requests(client: Client) -> None:
    bad = [
        collector_pb2.CreateQueryRequest(tenant_id="acme", name=" ", role=BRAND, expression="a"),
        collector_pb2.CreateQueryRequest(tenant_id="acme", name="n", expression="gocepat"),
        collector_pb2.CreateQueryRequest(tenant_id="acme", name="n", role=9, expression="gocepat"),  # type: ignore[arg-type]  # bad on purpose
        collector_pb2.CreateQueryRequest(tenant_id="Acme Corp", name="n", role=BRAND, expression="a"),
        collector_pb2.CreateQueryRequest(tenant_id="acme", name="n", role=BRAND, expression="x" * 4001),
    ]
    for req in bad:
        err = await rpc_error(client.queries.CreateQuery(req))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, req
    ok = await client.create("acme", "n", "gocepat")
    err = await rpc_error(client.queries.UpdateQuery(collector_pb2.UpdateQueryRequest(
        tenant_id="acme", id=ok.id, role=collector_pb2.QUERY_ROLE_UNSPECIFIED)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    for req in (collector_pb2.ListQueriesRequest(tenant_id="acme", page_token="garbage"),
                collector_pb2.ListQueriesRequest(tenant_id="acme", page_size=-1),
                collector_pb2.ListQueriesRequest(tenant_id="")):
        assert (await rpc_error(client.queries.ListQueries(req))).code() == grpc.StatusCode.INVALID_ARGUMENT
    listed = await client.queries.ListQueries(collector_pb2.ListQueriesRequest(tenant_id="acme"))
    assert [q.name for q in listed.queries] == ["n"]


async def test_names_are_unique_per_tenant(client: Client) -> None:
    first = await client.create("acme", "GoCepat", "gocepat")
    err = await rpc_error(client.create("acme", "gocepat ", "other"))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    second = await client.create("acme", "Rival", "antaryuk")
    err = await rpc_error(client.queries.UpdateQuery(collector_pb2.UpdateQueryRequest(
        tenant_id="acme", id=second.id, name="GOCEPAT")))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    # Another tenant may use the same name.
    await client.create("globex", "GoCepat", "gocepat")
    listed = await client.queries.ListQueries(collector_pb2.ListQueriesRequest(tenant_id="acme"))
    assert [q.id for q in listed.queries] == [first.id, second.id]


async def test_other_tenants_queries_are_not_found(client: Client) -> None:
    theirs = await client.create("globex", "Theirs", "globex")
    for call in (
        client.queries.GetQuery(collector_pb2.GetQueryRequest(tenant_id="acme", id=theirs.id)),
        client.queries.UpdateQuery(collector_pb2.UpdateQueryRequest(tenant_id="acme", id=theirs.id,
                                                                    name="mine")),
        client.queries.DeleteQuery(collector_pb2.DeleteQueryRequest(tenant_id="acme", id=theirs.id)),
        client.queries.GetQuery(collector_pb2.GetQueryRequest(tenant_id="acme", id="")),
    ):
        assert (await rpc_error(call)).code() == grpc.StatusCode.NOT_FOUND
    got = await client.queries.GetQuery(collector_pb2.GetQueryRequest(tenant_id="globex", id=theirs.id))
    assert got.name == "Theirs"
    assert not (await client.queries.ListQueries(collector_pb2.ListQueriesRequest(tenant_id="acme"))).queries


async def test_pagination_and_role_filter(client: Client) -> None:
    roles = [BRAND, COMPETITOR, TOPIC]
    for i in range(7):
        await client.create("acme", f"q{i}", f"word{i}", role=roles[i % 3])
    seen, token, pages = [], "", 0
    while True:
        resp = await client.queries.ListQueries(collector_pb2.ListQueriesRequest(
            tenant_id="acme", page_size=3, page_token=token))
        seen += [q.name for q in resp.queries]
        pages += 1
        token = resp.next_page_token
        if not token:
            break
    assert (seen, pages) == ([f"q{i}" for i in range(7)], 3)

    resp = await client.queries.ListQueries(collector_pb2.ListQueriesRequest(
        tenant_id="acme", role=COMPETITOR, page_size=1))
    assert [q.name for q in resp.queries] == ["q1"] and resp.next_page_token
    nxt = await client.queries.ListQueries(collector_pb2.ListQueriesRequest(
        tenant_id="acme", role=COMPETITOR, page_size=1, page_token=resp.next_page_token))
    assert [q.name for q in nxt.queries] == ["q4"] and not nxt.next_page_token
    # A token of a competitor listing is not valid for another filter.
    err = await rpc_error(client.queries.ListQueries(collector_pb2.ListQueriesRequest(
        tenant_id="acme", page_token=resp.next_page_token)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_per_tenant_limit(app_for, client_for) -> None:
    client = client_for(await app_for(queries__max_per_tenant=2))
    first = await client.create("acme", "a", "alpha")
    await client.create("acme", "b", "beta")
    err = await rpc_error(client.create("acme", "c", "gamma"))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "2" in err.details()
    limit = RemoteError.from_rpc_error("collector", err)
    assert (limit.reason, limit.limit, limit.current) == ("query-limit", 2, 2)
    # A rejected duplicate does not use up a slot, a delete frees one, other tenants are unaffected.
    await client.create("globex", "a", "alpha")
    await client.queries.DeleteQuery(collector_pb2.DeleteQueryRequest(tenant_id="acme", id=first.id))
    assert (await rpc_error(client.create("acme", "b", "beta"))).code() == grpc.StatusCode.ALREADY_EXISTS
    await client.create("acme", "c", "gamma")
    listed = await client.queries.ListQueries(collector_pb2.ListQueriesRequest(tenant_id="acme"))
    assert [q.name for q in listed.queries] == ["b", "c"]


async def test_ingested_posts_are_tagged_and_follow_query_changes(client: Client, nats_client,
                                                                  unique: str) -> None:
    brand = await client.create("acme", "GoCepat", "gocepat OR @gocepat_id")
    rival = await client.create("acme", "AntarYuk", "antaryuk", role=COMPETITOR)
    late = await client.create("acme", "Late", "(telat OR late) AND lang:id", role=TOPIC)
    off = await client.create("acme", "Off", "gocepat", enabled=False)
    theirs = await client.create("globex", "G", "gocepat")

    await client.ingest("acme",
                        post("1", "Paket @GoCepat_ID telat lagi", lang_hint="id"),
                        post("2", "antaryuk lebih murah", query_ids=[theirs.id, "q_forged"]),
                        post("3", "nothing here", query_ids=[brand.id]))
    await client.ingest("globex", post("g1", "gocepat mantap"))
    assert await tags(nats_client, unique) == {
        "1": [brand.id, late.id], "2": [rival.id], "3": [], "g1": [theirs.id]}
    assert off.id not in str(await tags(nats_client, unique))

    # The next ingest right after a change is tagged accordingly (no waiting for the TTL).
    await client.queries.UpdateQuery(collector_pb2.UpdateQueryRequest(
        tenant_id="acme", id=rival.id, expression="antaryuk AND murah"))
    await client.queries.UpdateQuery(collector_pb2.UpdateQueryRequest(tenant_id="acme", id=off.id,
                                                                      enabled=True))
    await client.queries.DeleteQuery(collector_pb2.DeleteQueryRequest(tenant_id="acme", id=late.id))
    await client.ingest("acme", post("4", "GoCepat telat, antaryuk murah", lang_hint="id"),
                        post("5", "antaryuk mahal"))
    got = await tags(nats_client, unique)
    # Query ids come in the tenant's name order (AntarYuk, GoCepat, Off).
    assert (got["4"], got["5"]) == ([rival.id, brand.id, off.id], [])


async def test_a_change_through_another_replica_is_seen_after_the_ttl(app_for, client_for, nats_client,
                                                                      unique: str) -> None:
    # Two collectors on one database, as in a deployment with replicas; TTL 0 = check every batch.
    a = client_for(await app_for(queries__cache_ttl_s=0))
    b = client_for(await app_for(queries__cache_ttl_s=0))
    q = await a.create("acme", "GoCepat", "gocepat")
    await b.ingest("acme", post("1", "gocepat"))
    await a.queries.UpdateQuery(collector_pb2.UpdateQueryRequest(tenant_id="acme", id=q.id,
                                                                 expression="antaryuk"))
    await b.ingest("acme", post("2", "gocepat"), post("3", "antaryuk"))
    assert await tags(nats_client, unique) == {"1": [q.id], "2": [], "3": [q.id]}


async def test_reflection_lists_the_query_service(client: Client) -> None:
    refl = reflection_pb2_grpc.ServerReflectionStub(client.channel)
    call = refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = [s.name async for r in call for s in r.list_services_response.service]
    assert "dengar.v1.QueryService" in names and "dengar.v1.CollectorService" in names
