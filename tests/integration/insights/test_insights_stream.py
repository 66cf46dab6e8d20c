"""StreamMentions on the real NATS and store: arrival, filters, resume, duplicates, tenants."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import pytest
from insights_helpers import Env, enriched

from dengar.v1 import common_pb2, insights_pb2
from dengar_common.bus import publish
from dengar_insights.entrypoints.protos import content_hash

NEG, POS = common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_POSITIVE


class Stream:
    def __init__(self, env: Env, **kw: Any) -> None:
        kw.setdefault("tenant_id", "acme")
        self.call = env.stub.StreamMentions(insights_pb2.StreamMentionsRequest(**kw))
        self.start = ""

    async def opened(self) -> Stream:
        """Read the first message: subscribed, continuing after ``start``."""
        first = await asyncio.wait_for(self.call.read(), 15)
        assert first is not grpc.aio.EOF and not first.HasField("mention")
        self.start = first.position
        return self

    async def next(self, timeout: float = 15.0) -> insights_pb2.StreamedMention:
        msg = await asyncio.wait_for(self.call.read(), timeout)
        assert msg is not grpc.aio.EOF and msg.HasField("mention")
        return msg

    async def take(self, n: int) -> list[insights_pb2.StreamedMention]:
        return [await self.next() for _ in range(n)]

    def close(self) -> None:
        self.call.cancel()


async def anchored(env: Env, tenant: str = "acme") -> str:
    """A position after which everything the test sends comes: the current end of the stream."""
    s = await Stream(env, tenant_id=tenant).opened()
    s.close()
    return s.start


async def test_new_mentions_arrive_with_filters_and_positions(env: Env) -> None:
    start = await anchored(env)
    negative = await Stream(env, resume_after=start, sentiments=[NEG]).opened()
    worded = await Stream(env, resume_after=start, query="lambat").opened()
    everything = await Stream(env, resume_after=start).opened()
    assert negative.start == worded.start == start
    try:
        await env.send(enriched("acme", "p1", text="Pengiriman lambat", sentiment=NEG))
        await env.send(enriched("acme", "p2", text="Harga oke", sentiment=POS))
        await env.send(enriched("acme", "p3", text="Kurir ramah", sentiment=NEG,
                                platform=common_pb2.PLATFORM_REDDIT))
        all3 = await everything.take(3)
        assert [m.mention.post.external_id for m in all3] == ["p1", "p2", "p3"]
        positions = [int(m.position) for m in all3]
        assert all(m.mention.tenant_id == "acme" for m in all3)
        assert positions == sorted(positions) and positions[0] > int(start)
        assert [m.mention.post.external_id for m in await negative.take(2)] == ["p1", "p3"]
        first = await worded.next()
        assert first.mention.post.external_id == "p1"
        assert first.mention.enrichment.sentiment.label == NEG
        # Nothing else matched the word filter: the next one is a later match.
        await env.send(enriched("acme", "p4", text="Masih lambat", sentiment=POS))
        assert (await worded.next()).mention.post.external_id == "p4"
    finally:
        for s in (negative, worded, everything):
            s.close()


async def test_resume_after_a_position_yields_exactly_the_missed_ones(env: Env) -> None:
    live = await Stream(env).opened()
    try:
        await env.send(enriched("acme", "r0"))
        seen = await live.next()
        assert seen.mention.post.external_id == "r0"
    finally:
        live.close()
    # Missed while disconnected.
    for name in ("r1", "r2", "r3"):
        await env.send(enriched("acme", name))
    await env.settle()
    resumed = await Stream(env, resume_after=seen.position).opened()
    assert resumed.start == seen.position
    try:
        got = await resumed.take(3)
        assert [m.mention.post.external_id for m in got] == ["r1", "r2", "r3"]
        await env.send(enriched("acme", "r4"))
        assert (await resumed.next()).mention.post.external_id == "r4"
    finally:
        resumed.close()


async def test_a_duplicate_ingest_or_event_is_not_repeated_but_a_change_is(env: Env) -> None:
    s = await Stream(env).opened()
    try:
        post = enriched("acme", "d1", text="Pengiriman lambat")
        await env.send(post)
        first = await s.next()
        assert first.mention.post.external_id == "d1"
        # The same post again under another message id (a re-push): stored as a duplicate.
        await env.send(post)
        # The same event published again past the server's de-duplication (another message id),
        # as a replica could after the window: the stream sends each revision once.
        event = json.dumps({"id": first.mention.id, "content_hash": content_hash(post)}).encode()
        await publish(env.js, env.subjects.mentions_stored("acme"), event, msg_id="replayed-1")
        await env.send(enriched("acme", "d0"))
        assert (await s.next()).mention.post.external_id == "d0"
        # A real change is a new revision and is sent.
        await env.send(enriched("acme", "d1", text="Pengiriman lambat sekali"))
        changed = await s.next()
        assert changed.mention.id == first.mention.id
        assert changed.mention.post.text == "Pengiriman lambat sekali"
        await env.send(enriched("acme", "d2"))
        assert (await s.next()).mention.post.external_id == "d2"
    finally:
        s.close()


async def test_the_inbox_filters_apply_to_the_workflow_when_the_event_is_sent(env: Env) -> None:
    start = await anchored(env)
    await env.send(enriched("acme", "w1", text="Refund belum masuk"))
    await env.send(enriched("acme", "w2", text="Refund juga belum"))
    [w1, _] = await (s := await Stream(env, resume_after=start).opened()).take(2)
    s.close()
    await env.stub.UpdateMentionWorkflow(insights_pb2.UpdateMentionWorkflowRequest(
        tenant_id="acme", id=w1.mention.id, actor="test", change=insights_pb2.WorkflowChange(
            state="in_progress", assignee="dina", add_tags=["refund"])))
    resolved = await Stream(env, resume_after=start, workflow_states=["resolved"]).opened()
    working = await Stream(env, resume_after=start, workflow_states=["in_progress"],
                           assignees=["dina"], tags=["refund"]).opened()
    untouched = await Stream(env, resume_after=start, workflow_states=["open"]).opened()
    try:
        # The events already in the stream are read with the workflow as it is now.
        assert [m.mention.post.external_id for m in await working.take(1)] == ["w1"]
        assert [m.mention.post.external_id for m in await untouched.take(1)] == ["w2"]
        await env.send(enriched("acme", "w3", text="Refund cepat"))
        assert (await untouched.next()).mention.post.external_id == "w3"
        await env.send(enriched("acme", "w1", text="Refund belum masuk juga"))  # a new revision
        changed = await working.next()
        assert (changed.mention.post.external_id, changed.mention.workflow.assignee) == ("w1", "dina")
        # Nothing reached the resolved filter: its first mention is the next resolved one.
        await env.stub.UpdateMentionWorkflow(insights_pb2.UpdateMentionWorkflowRequest(
            tenant_id="acme", id=changed.mention.id, actor="test",
            change=insights_pb2.WorkflowChange(state="resolved")))
        await env.send(enriched("acme", "w1", text="Refund sudah masuk"))
        assert (await resolved.next()).mention.post.text == "Refund sudah masuk"
    finally:
        for stream in (resolved, working, untouched):
            stream.close()


async def test_tenants_see_only_their_own_mentions(env: Env) -> None:
    s = await Stream(env).opened()
    try:
        await env.send(enriched("globex", "g1"))
        await env.send(enriched("acme", "a1"))
        got = await s.next()
        assert (got.mention.tenant_id, got.mention.post.external_id) == ("acme", "a1")
    finally:
        s.close()


@pytest.mark.parametrize(("kw", "field"), [
    ({"resume_after": "abc"}, "resume_after"),
    ({"resume_after": "-1"}, "resume_after"),
    ({"query": "!!!"}, "query"),
    ({"sentiments": [99]}, "sentiments"),
    ({"workflow_states": ["done"]}, "workflow_states"),
    ({"tags": ["t" * 41]}, "tags"),
])
async def test_bad_requests_are_invalid_argument(env: Env, kw: dict[str, Any], field: str) -> None:
    s = Stream(env, **kw)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await s.next()
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert ("dengar-error-field", field) in tuple(err.value.trailing_metadata() or ())


async def test_streams_end_promptly_when_the_service_stops(infra, unique, nats_client) -> None:
    from insights_helpers import make_settings, running

    from dengar.v1 import insights_pb2_grpc
    from dengar_common import grpcutil

    settings = make_settings(infra, unique)
    settings = settings.model_copy(update={"shutdown_grace_s": 20.0})
    stop = None
    async with running(settings) as app:
        channel = grpcutil.insecure_channel(f"127.0.0.1:{app.port}")
        call = insights_pb2_grpc.InsightsServiceStub(channel).StreamMentions(
            insights_pb2.StreamMentionsRequest(tenant_id="acme"))
        assert not (await asyncio.wait_for(call.read(), 15)).HasField("mention")
        stop = asyncio.get_running_loop().time()
    # Not held up by the open stream for the 20 s grace period.
    assert asyncio.get_running_loop().time() - stop < 8
    assert await asyncio.wait_for(call.read(), 5) is grpc.aio.EOF
    await channel.close()
