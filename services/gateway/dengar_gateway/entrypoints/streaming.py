"""Live streams over HTTP: the process-wide registry (limit, shutdown) and the SSE response.

A stream holds one gRPC ``StreamMentions`` call to insights. A pump task moves its messages into
a queue; the response body waits on that queue, on the shutdown signal and on the heartbeat
timer, whichever comes first. Every exit (client gone, shutdown, backend error, the body never
started) releases the tenant's slot and cancels the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse
from grpc import aio
from starlette.types import Receive, Scope, Send

from dengar.v1 import insights_pb2
from dengar_gateway.domain.streams import StreamLimits, StreamSlot, sse_comment, sse_event

logger = logging.getLogger(__name__)

EVENT_STREAM = "text/event-stream"
_END = object()


class LiveStreams:
    """The gateway process's streams: their count (the limit over every replica is the store's,
    ``StreamQuota``; a ``max_per_tenant`` here would limit this process alone) and the shutdown
    signal."""

    def __init__(self, max_per_tenant: int | None = None) -> None:
        self.limits = StreamLimits(max_per_tenant)
        self._closing = asyncio.Event()

    def close(self) -> None:
        """Shutdown started: every stream ends (its clients reconnect to another replica)."""
        self._closing.set()

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    async def wait_closing(self) -> None:
        await self._closing.wait()


class EventStreamResponse(StreamingResponse):
    """A StreamingResponse that releases its slot however the response ends, even unstarted."""

    media_type = EVENT_STREAM

    def __init__(self, body: AsyncIterator[bytes], slot: StreamSlot, on_end: Callable[[], None]) -> None:
        super().__init__(body, media_type=EVENT_STREAM, headers={
            "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self._slot = slot
        self._on_end = on_end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_end()
            self._slot.release()


async def _pump(call: Any, queue: asyncio.Queue[Any]) -> None:
    # read(), not ``async for``: the route already read the first message, and gRPC refuses to mix.
    try:
        while (msg := await call.read()) is not aio.EOF:
            await queue.put(msg)
        await queue.put(_END)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the backend went away: end the stream, the client resumes
        logger.debug("mention stream pump ended", exc_info=True)
        await queue.put(exc)


async def mention_events(call: Any, streams: LiveStreams, *, tenant_id: str, start: str,
                         heartbeat_s: float, retry_ms: int,
                         render: Callable[[insights_pb2.Mention], str]) -> AsyncIterator[bytes]:
    """The body: an ``open`` event (id = the start position), one ``mention`` event per mention
    (id = its position), a comment every ``heartbeat_s`` without one."""
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=256)
    pump = asyncio.create_task(_pump(call, queue))
    closing = asyncio.create_task(streams.wait_closing())
    getter: asyncio.Task[Any] | None = None
    try:
        yield sse_event(json.dumps({"position": start}), event="open", event_id=start, retry_ms=retry_ms)
        while True:
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait({getter, closing}, timeout=heartbeat_s,
                                         return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                if closing in done:
                    yield sse_comment("shutting down")
                    return
                yield sse_comment("heartbeat")
                continue
            item = getter.result()
            if item is _END or isinstance(item, BaseException):
                if isinstance(item, aio.AioRpcError):
                    logger.warning("mention stream of %s ended by insights: %s %s", tenant_id,
                                   item.code().name, item.details())
                yield sse_comment("the stream ended; reconnect with Last-Event-ID")
                return
            if not item.HasField("mention"):
                continue
            if item.mention.tenant_id != tenant_id:
                # Defence in depth: insights filters by tenant; another's mention is a bug there.
                logger.error("insights streamed mention %s of another tenant; dropped", item.mention.id)
                continue
            yield sse_event(render(item.mention), event="mention", event_id=item.position)
    finally:
        if getter is not None:
            getter.cancel()
        closing.cancel()
        pump.cancel()
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
