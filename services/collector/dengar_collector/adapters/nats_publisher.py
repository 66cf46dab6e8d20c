"""Publishes collected posts to ``<root>.posts.collected.<tenant>`` on JetStream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from nats.js import JetStreamContext
from pydantic import BaseModel, ConfigDict, Field

from dengar.v1 import common_pb2
from dengar_collector.service_layer.ports import PublishError
from dengar_common import metrics
from dengar_common.bus import Subjects, publish
from dengar_common.enums import platform_name
from dengar_common.ids import natural_key

logger = logging.getLogger(__name__)


def msg_id(post: common_pb2.Post) -> str:
    """The JetStream de-duplication id of a normalised post: ``tenant:platform:external_id``."""
    return natural_key(post.tenant_id, platform_name(post.platform), post.external_id)


class PublishConfig(BaseModel):
    """``DENGAR_COLLECTOR__PUBLISH__*``."""

    model_config = ConfigDict(frozen=True)

    # A JetStream ack normally takes milliseconds; past this the bus is considered unavailable and
    # the whole batch fails, so that the caller retries instead of hanging.
    timeout_s: float = Field(default=5.0, gt=0)
    # Publishes in flight per request: enough to hide the ack round trip, bounded so one large batch
    # does not flood the connection's pending buffer.
    concurrency: int = Field(default=64, ge=1, le=1024)


class JetStreamPostPublisher:
    """``PostPublisher`` over JetStream, with ``Nats-Msg-Id`` de-duplication; each message carries the
    caller's trace (``bus.publish``), so one request is one trace."""

    def __init__(self, js: JetStreamContext, subjects: Subjects, config: PublishConfig | None = None
                 ) -> None:
        config = config or PublishConfig()
        self._js = js
        self._subjects = subjects
        self._timeout = config.timeout_s
        self._concurrency = config.concurrency

    async def publish(self, tenant_id: str, posts: Sequence[common_pb2.Post]) -> int:
        if not posts:
            return 0
        subject = self._subjects.collected(tenant_id)
        fresh = [False] * len(posts)
        queue = iter(enumerate(posts))

        async def worker() -> None:
            # Workers share one iterator, so at most `concurrency` acks are awaited at a time.
            for i, post in queue:
                fresh[i] = await publish(self._js, subject, post.SerializeToString(),
                                         msg_id=msg_id(post), timeout=self._timeout)

        workers = [asyncio.create_task(worker()) for _ in range(min(self._concurrency, len(posts)))]
        try:
            await asyncio.gather(*workers)
        except BaseException as exc:
            # Stop the rest of the batch; what was already stored is harmless because a retry of
            # the batch is de-duplicated by message id.
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if isinstance(exc, Exception):
                raise PublishError(f"publishing to {subject} failed: {type(exc).__name__}: {exc}") from exc
            raise
        new = sum(fresh)
        counter = metrics.instruments().posts_ingested
        # Every post that entered (pushed, imported or polled); duplicates are known here only.
        for result, count in (("new", new), ("duplicate", len(posts) - new)):
            if count:
                counter.add(count, metrics.attrs({"dengar.result": result}, tenant_id))
        logger.debug("published %d posts to %s (%d duplicates)", len(posts), subject, len(posts) - new)
        return new
