"""StreamMentions: the live mention stream (``service_layer/stream.py``) as a server stream.

``StreamRpc`` is mixed into the InsightsService servicer. Bad filters or a bad ``resume_after``
raise ``InvalidArgument`` before the first message (INVALID_ARGUMENT through the interceptor).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from grpc import aio

from dengar.v1 import insights_pb2
from dengar_common.enums import PLATFORM_NAMES, SENTIMENT_NAMES
from dengar_common.errors import FailedPrecondition, InvalidArgument
from dengar_insights.domain.stream import format_position
from dengar_insights.entrypoints.protos import mention_to_proto, optional_time
from dengar_insights.service_layer.queries import SearchRequest
from dengar_insights.service_layer.stream import MentionStream, StreamRequest


def _time(msg: Any, field: str) -> datetime | None:
    try:
        return optional_time(msg, field)
    except ValueError as exc:
        raise InvalidArgument(f"{field} is out of range", field=field) from exc


def _named(values: Any, names: dict[int, str], field: str) -> list[str]:
    out = []
    for value in values:
        if value not in names:
            raise InvalidArgument(f"unknown value {value} in {field}", field=field)
        out.append(names[value])
    return out


def stream_request(request: insights_pb2.StreamMentionsRequest) -> StreamRequest:
    return StreamRequest(SearchRequest(
        tenant_id=request.tenant_id, start=_time(request, "start_time"), end=_time(request, "end_time"),
        sentiments=_named(request.sentiments, SENTIMENT_NAMES, "sentiments"),
        platforms=_named(request.platforms, PLATFORM_NAMES, "platforms"),
        languages=list(request.languages), aspects=list(request.aspects), query=request.query,
        query_ids=list(request.query_ids), category_ids=list(request.category_ids),
        states=list(request.workflow_states), assignees=list(request.assignees), tags=list(request.tags)),
        resume_after=request.resume_after)


class StreamRpc:
    """The StreamMentions method of InsightsService (mixed into its servicer)."""

    def __init__(self, stream: MentionStream | None) -> None:
        self._stream = stream

    async def StreamMentions(self, request: insights_pb2.StreamMentionsRequest,
                             context: aio.ServicerContext[Any, Any]
                             ) -> AsyncIterator[insights_pb2.StreamedMention]:
        if self._stream is None:
            raise FailedPrecondition("this insights server has no mention stream")
        start, mentions = await self._stream.follow(stream_request(request))
        # First the position the stream continues after: the caller knows it is subscribed and
        # can resume from here even if no mention comes before it disconnects.
        yield insights_pb2.StreamedMention(position=format_position(start))
        async for position, doc in mentions:
            yield insights_pb2.StreamedMention(position=format_position(position),
                                               mention=mention_to_proto(doc))
