"""Consumes collected posts, analyses them in batches and publishes enriched posts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from dengar.v1 import common_pb2
from dengar_common import metrics
from dengar_common.bus import Outcome, Subjects, publish
from dengar_common.enums import platform_name
from dengar_common.ids import is_valid_tenant_id, mention_id, natural_key
from dengar_common.telemetry import consumer_span
from dengar_nlp.domain.results import Analysis
from dengar_nlp.entrypoints.protoconv import to_enrichment
from dengar_nlp.service_layer.analysis import AnalysisService

logger = logging.getLogger(__name__)

# The durable consumer's name (bootstrap), the messaging.consumer.group.name of the spans.
CONSUMER_GROUP = "nlp"


class InvalidPost(ValueError):
    """A collected message that can never be enriched (goes to the dead-letter stream)."""


def parse_post(msg: Msg) -> common_pb2.Post:
    post = common_pb2.Post()
    try:
        post.ParseFromString(msg.data)
    except Exception as exc:
        raise InvalidPost(f"payload is not a dengar.v1.Post: {exc}") from exc
    tenant = msg.subject.rsplit(".", 1)[-1]
    if post.tenant_id != tenant or not is_valid_tenant_id(tenant):
        raise InvalidPost(f"tenant {post.tenant_id!r} does not match subject {msg.subject!r}")
    if not post.external_id or post.platform == common_pb2.PLATFORM_UNSPECIFIED:
        raise InvalidPost("post has no external_id or platform")
    expected = mention_id(tenant, platform_name(post.platform), post.external_id)
    if post.id != expected:
        raise InvalidPost(f"post id {post.id!r} does not match its natural key")
    return post


def post_text(post: common_pb2.Post) -> str:
    return f"{post.title}\n{post.text}".strip() if post.title else post.text


class EnrichmentHandler:
    """The batch handler: parse → analyse (in a worker thread) → publish enriched."""

    def __init__(self, js: JetStreamContext, subjects: Subjects, analysis: AnalysisService) -> None:
        self._js = js
        self._subjects = subjects
        self._analysis = analysis

    async def __call__(self, msgs: Sequence[Msg]) -> list[Outcome]:
        outcomes: list[Outcome] = [None] * len(msgs)
        parsed: list[tuple[int, common_pb2.Post]] = []
        for i, msg in enumerate(msgs):
            try:
                parsed.append((i, parse_post(msg)))
            except InvalidPost as exc:
                outcomes[i] = exc
        if not parsed:
            return outcomes
        texts = [post_text(p) for _, p in parsed]
        inst = metrics.instruments()
        started = time.perf_counter()
        analyses = await self._analysis.analyze_batch(texts)
        # The model version is on the resource (dengar.nlp.model.version), not on each point.
        inst.nlp_batch_duration.record(time.perf_counter() - started)
        inst.nlp_batch_size.record(len(texts))

        async def _publish(i: int, post: common_pb2.Post, analysis: Analysis) -> None:
            msg = msgs[i]
            with consumer_span(msg.subject, msg.headers, consumer_group=CONSUMER_GROUP,
                               message_id=(msg.headers or {}).get("Nats-Msg-Id"),
                               attributes={"dengar.post_id": post.id}):
                enriched = common_pb2.EnrichedPost(post=post, enrichment=to_enrichment(analysis))
                seq = msg.metadata.sequence.stream if msg.metadata else 0
                key = natural_key(post.tenant_id, platform_name(post.platform), post.external_id)
                # One enriched message per collected message: a redelivery republishes the same id.
                await publish(self._js, self._subjects.enriched(post.tenant_id),
                              enriched.SerializeToString(), msg_id=f"{key}:{seq}")
            inst.posts_enriched.add(1, metrics.attrs({"dengar.platform": platform_name(post.platform)},
                                                     post.tenant_id))

        results = await asyncio.gather(
            *(_publish(i, p, a) for (i, p), a in zip(parsed, analyses, strict=True)),
            return_exceptions=True)
        for (i, _), res in zip(parsed, results, strict=True):
            if isinstance(res, BaseException):
                outcomes[i] = res
        return outcomes
