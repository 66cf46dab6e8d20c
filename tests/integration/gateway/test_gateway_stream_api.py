"""GET /v1/stream/mentions over real HTTP against a streaming insights double: SSE framing,
heartbeats, Last-Event-ID, the per-tenant limit, bad filters, tenant isolation, shutdown."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from conftest import Gateway, Key, assert_problem
from gateway_fakes import make_mention
from grpc import aio

from dengar.v1 import common_pb2, insights_pb2, insights_pb2_grpc
from dengar_common.app import ServiceApp
from dengar_common.errors import InvalidArgument
from dengar_common.grpcerrors import trailing_metadata
from dengar_gateway import bootstrap
from dengar_gateway.settings import GatewaySettings


class StreamingInsights(insights_pb2_grpc.InsightsServiceServicer):
    """Every tenant's mentions in one numbered log; StreamMentions follows it like insights does."""

    def __init__(self) -> None:
        self.log: list[insights_pb2.Mention] = []
        self.requests: list[insights_pb2.StreamMentionsRequest] = []
        self.open_calls = 0
        self._changed = asyncio.Condition()

    async def add(self, mention: insights_pb2.Mention) -> str:
        async with self._changed:
            self.log.append(mention)
            self._changed.notify_all()
        return str(len(self.log))

    async def StreamMentions(self, request: insights_pb2.StreamMentionsRequest,
                             context: aio.ServicerContext) -> AsyncIterator[insights_pb2.StreamedMention]:
        self.requests.append(request)
        if request.query.strip("!"):
            pass
        elif request.query:
            error = InvalidArgument("query has no searchable words", field="query")
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, error.message,
                                trailing_metadata=trailing_metadata(error))
        after = int(request.resume_after) if request.resume_after else len(self.log)
        self.open_calls += 1
        try:
            yield insights_pb2.StreamedMention(position=str(after))
            while True:
                async with self._changed:
                    await self._changed.wait_for(lambda seen=after: len(self.log) > seen)
                    new = list(enumerate(self.log[after:], start=after + 1))
                after = new[-1][0]
                for seq, m in new:
                    if m.tenant_id == request.tenant_id:
                        yield insights_pb2.StreamedMention(position=str(seq), mention=m)
        finally:
            self.open_calls -= 1


@dataclass
class Live:
    base: str
    gateway: Gateway
    insights: StreamingInsights
    stop: Callable[[], Any]

    @asynccontextmanager
    async def sse(self, key: Key, params: dict[str, Any] | None = None,
                  headers: dict[str, str] | None = None) -> AsyncIterator[SseReader]:
        async with httpx.AsyncClient(base_url=self.base, timeout=20) as client, client.stream(
                "GET", "/v1/stream/mentions", params=params,
                headers={**key.headers, **(headers or {})}) as resp:
            reader = SseReader(resp)
            try:
                yield reader
            finally:
                reader.close()


class SseReader:
    """Parses the stream in a task; events queue up, comments are collected on the side."""

    def __init__(self, resp: httpx.Response) -> None:
        self.resp = resp
        self.comments: list[str] = []
        self.raw: list[str] = []
        self._events: asyncio.Queue[dict[str, str] | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            async for line in self.resp.aiter_lines():
                self.raw.append(line)
                if line == "":
                    if fields:
                        await self._events.put(fields)
                        fields = {}
                elif line.startswith(":"):
                    self.comments.append(line[1:].strip())
                else:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    fields[name] = f"{fields[name]}\n{value}" if name in fields else value
        finally:
            await self._events.put(None)

    async def event(self, timeout: float = 10.0) -> dict[str, str]:
        ev = await asyncio.wait_for(self._events.get(), timeout)
        if ev is None:
            raise EOFError("the stream ended")
        return ev

    async def mention(self) -> tuple[str, dict[str, Any]]:
        ev = await self.event()
        assert ev["event"] == "mention", ev
        return ev["id"], json.loads(ev["data"])

    async def ended(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(asyncio.shield(self._task), timeout)

    def close(self) -> None:
        self._task.cancel()


@pytest.fixture
async def live_for(settings_for: Callable[..., GatewaySettings], tmp_path: Path
                   ) -> AsyncIterator[Callable[..., Any]]:
    stack = AsyncExitStack()

    async def start(grace_s: float = 2.0, **stream: Any) -> Live:
        insights = StreamingInsights()
        server = aio.server()
        insights_pb2_grpc.add_InsightsServiceServicer_to_server(insights, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        stack.push_async_callback(server.stop, 0)
        port_file = tmp_path / f"port{port}"
        settings = settings_for(insights_target=f"127.0.0.1:{port}", port_file=str(port_file),
                                stream={"heartbeat_s": 15.0, **stream})
        settings = settings.model_copy(update={"shutdown_grace_s": grace_s})
        app_stack = AsyncExitStack()
        app = await app_stack.enter_async_context(ServiceApp("dengar-gateway", grace_s=grace_s))
        api = await bootstrap.start(app, settings)
        stack.push_async_callback(app_stack.aclose)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://gateway"))
        return Live(f"http://127.0.0.1:{port_file.read_text().strip()}", Gateway(client, api.state.deps),
                    insights, app_stack.aclose)

    async with stack:
        yield start


async def test_mentions_arrive_as_events_with_positions_and_only_the_tenants_own(live_for) -> None:
    live = await live_for()
    a, b = await live.gateway.new_key("acme"), await live.gateway.new_key("globex")
    async with live.sse(a) as s, live.sse(b) as other:
        assert s.resp.status_code == 200
        assert s.resp.headers["content-type"].startswith("text/event-stream")
        assert s.resp.headers["cache-control"] == "no-cache"
        opened = await s.event()
        assert opened["event"] == "open" and opened["id"] == "0" and int(opened["retry"]) > 0
        assert json.loads(opened["data"]) == {"position": "0"}
        await live.insights.add(make_mention("globex", "g1", "other tenant"))
        await live.insights.add(make_mention("acme", "a1", "Late again\nand again"))
        position, data = await s.mention()
        assert position == "2"
        assert data["text"] == "Late again\nand again" and data["sentiment"]["label"] == "negative"
        # Same shape as an item of GET /v1/mentions.
        assert {"id", "platform", "text", "created_at"} <= set(data)
        await other.event()
        position, data = await other.mention()
        assert (position, data["text"]) == ("1", "other tenant")
    assert sorted(r.tenant_id for r in live.insights.requests) == ["acme", "globex"]


async def test_the_filters_of_the_mention_search_reach_insights(live_for) -> None:
    live = await live_for()
    key = await live.gateway.new_key("acme")
    params = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z", "sentiment": "negative",
              "platform": ["x", "reddit"], "lang": "ID", "aspect": "delivery", "query_id": "q_1",
              "category_id": "c_0123456789abcdef", "q": " telat ", "state": "OPEN,in_progress",
              "assignee": "dina", "tag": "Refund"}
    async with live.sse(key, params) as s:
        assert (await s.event())["event"] == "open"
    [req] = live.insights.requests
    assert (req.start_time.ToJsonString(), req.end_time.ToJsonString()) == (
        "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")
    assert list(req.sentiments) == [common_pb2.SENTIMENT_NEGATIVE]
    assert list(req.platforms) == [common_pb2.PLATFORM_X, common_pb2.PLATFORM_REDDIT]
    assert (list(req.languages), list(req.aspects), req.query) == (["id"], ["delivery"], "telat")
    assert (list(req.query_ids), list(req.category_ids)) == (["q_1"], ["c_0123456789abcdef"])
    assert (list(req.workflow_states), list(req.assignees), list(req.tags)) == (
        ["open", "in_progress"], ["dina"], ["refund"])
    assert (req.tenant_id, req.resume_after) == ("acme", "")


async def test_heartbeats_keep_an_idle_stream_alive(live_for) -> None:
    live = await live_for(heartbeat_s=0.2)
    key = await live.gateway.new_key("acme")
    async with live.sse(key) as s:
        await s.event()
        started = time.monotonic()
        await live.insights.add(make_mention("globex", "g1", "not ours"))
        while len(s.comments) < 3:
            with pytest.raises(TimeoutError):
                await s.event(timeout=0.25)
        assert s.comments[:3] == ["heartbeat"] * 3
        assert time.monotonic() - started < 5


async def test_last_event_id_resumes_after_the_position(live_for) -> None:
    live = await live_for()
    key = await live.gateway.new_key("acme")
    async with live.sse(key) as s:
        await s.event()
        await live.insights.add(make_mention("acme", "a1", "one"))
        seen, _ = await s.mention()
    for name in ("a2", "a3"):
        await live.insights.add(make_mention("acme", name, name))
    async with live.sse(key, headers={"Last-Event-ID": seen}) as s:
        assert (await s.event())["id"] == seen
        got = [(await s.mention())[1]["text"] for _ in range(2)]
        assert got == ["a2", "a3"]
    # The query parameter does the same; the header wins when both are sent.
    async with live.sse(key, params={"last_event_id": "2"}) as s:
        await s.event()
        assert (await s.mention())[1]["text"] == "a3"
    async with live.sse(key, params={"last_event_id": "0"}, headers={"Last-Event-ID": "2"}) as s:
        await s.event()
        assert (await s.mention())[1]["text"] == "a3"
    assert [r.resume_after for r in live.insights.requests] == ["", "1", "2", "2"]


async def test_concurrent_streams_over_the_limit_get_429_per_tenant(live_for) -> None:
    live = await live_for(max_per_tenant=2, retry_after_s=7)
    a, b = await live.gateway.new_key("acme"), await live.gateway.new_key("globex")
    async with live.sse(a) as s1, live.sse(a) as s2:
        await s1.event()
        await s2.event()
        resp = await live.gateway.client.get("/v1/stream/mentions", headers=a.headers)
        doc = assert_problem(resp, 429)
        assert resp.headers["retry-after"] == "7" and doc["type"].endswith("too-many-streams")
        async with live.sse(b) as other:  # another tenant has its own allowance
            assert (await other.event())["event"] == "open"
        assert live.gateway.deps.streams.limits.held("acme") == 2
    # Closed streams give their slots back.
    for _ in range(100):
        if live.gateway.deps.streams.limits.total == 0:
            break
        await asyncio.sleep(0.05)
    assert live.gateway.deps.streams.limits.total == 0
    async with live.sse(a) as again:
        assert (await again.event())["event"] == "open"


@pytest.mark.parametrize(("params", "headers", "field"), [
    ({"sentiment": "angry"}, {}, "sentiment"),
    ({"platform": "myspace"}, {}, "platform"),
    ({"category_id": "nope"}, {}, "category_id"),
    ({"last_event_id": "abc"}, {}, "last_event_id"),
    ({}, {"Last-Event-ID": "-3"}, "Last-Event-ID"),
    ({"q": "!!!"}, {}, "q"),
    ({"state": "done"}, {}, "state"),
    ({"tag": "t" * 41}, {}, "tag"),
    ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, {}, "to"),
])
async def test_bad_filters_are_422_naming_the_parameter(live_for, params, headers, field) -> None:
    live = await live_for()
    key = await live.gateway.new_key("acme")
    resp = await live.gateway.client.get("/v1/stream/mentions", params=params,
                                         headers={**key.headers, **headers})
    doc = assert_problem(resp, 422)
    assert [e["field"] for e in doc["errors"]] == [field], doc
    assert live.gateway.deps.streams.limits.total == 0


async def test_auth_and_scope_are_required(live_for) -> None:
    from dengar_gateway.domain.keys import Scope
    live = await live_for()
    assert_problem(await live.gateway.client.get("/v1/stream/mentions"), 401)
    ingest_only = await live.gateway.new_key("acme", Scope.INGEST)
    assert_problem(await live.gateway.client.get("/v1/stream/mentions", headers=ingest_only.headers), 403)


async def test_streams_end_promptly_on_shutdown(live_for) -> None:
    live = await live_for(grace_s=10.0)
    key = await live.gateway.new_key("acme")
    async with live.sse(key) as s:
        await s.event()
        started = time.monotonic()
        stopping = asyncio.create_task(live.stop())
        await s.ended(timeout=8)
        assert "shutting down" in s.comments
        assert time.monotonic() - started < 5  # not held until the 10 s grace runs out
        await asyncio.wait_for(stopping, 8)
    assert live.insights.open_calls == 0
