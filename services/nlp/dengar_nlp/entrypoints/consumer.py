"""Consumes collected posts, analyses them in batches and publishes enriched posts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from dengar.v1 import common_pb2
from dengar_common.bus import Outcome, Subjects, publish
from dengar_common.enums import platform_name
from dengar_common.ids import is_valid_tenant_id, mention_id, natural_key
from dengar_common.telemetry import inject_headers, span_from_headers
from dengar_nlp.domain.results import Analysis
from dengar_nlp.entrypoints.protoconv import to_enrichment
from dengar_nlp.service_layer.analysis import AnalysisService

logger = logging.getLogger(__name__)


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
        analyses = await self._analysis.analyze_batch(texts)

        async def _publish(i: int, post: common_pb2.Post, analysis: Analysis) -> None:
            msg = msgs[i]
            with span_from_headers("nlp.enrich", msg.headers,
                                   attributes={"dengar.post_id": post.id}):
                enriched = common_pb2.EnrichedPost(post=post, enrichment=to_enrichment(analysis))
                seq = msg.metadata.sequence.stream if msg.metadata else 0
                key = natural_key(post.tenant_id, platform_name(post.platform), post.external_id)
                # One enriched message per collected message: a redelivery republishes the same id.
                await publish(self._js, self._subjects.enriched(post.tenant_id),
                              enriched.SerializeToString(), msg_id=f"{key}:{seq}",
                              headers=inject_headers())

        results = await asyncio.gather(
            *(_publish(i, p, a) for (i, p), a in zip(parsed, analyses, strict=True)),
            return_exceptions=True)
        for (i, _), res in zip(parsed, results, strict=True):
            if isinstance(res, BaseException):
                outcomes[i] = res
        return outcomes
