"""Helpers for the insights integration tests: posts, an in-process service, waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import shardkeys
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo import AsyncMongoClient

from dengar.v1 import common_pb2
from dengar_common.app import ServiceApp
from dengar_common.bus import Subjects, publish
from dengar_common.enums import platform_name
from dengar_common.ids import mention_id
from dengar_common.localinfra import LocalInfra
from dengar_common.mongo import make_client
from dengar_common.settings import load_settings
from dengar_insights import bootstrap
from dengar_insights.bootstrap import Insights
from dengar_insights.settings import InsightsSettings

T0 = datetime(2026, 11, 22, 5, 30, tzinfo=UTC)


def ts(dt: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(dt)
    return t


def enriched(tenant: str, external_id: str, *, text: str = "Pengiriman cepat",
             sentiment: int = common_pb2.SENTIMENT_POSITIVE, platform: int = common_pb2.PLATFORM_X,
             created_at: datetime = T0, collected_at: datetime | None = None, language: str = "id",
             aspects: tuple[tuple[str, int], ...] = (), likes: int = 0, reposts: int = 0,
             hashtags: tuple[str, ...] = (), query_ids: tuple[str, ...] = ()) -> common_pb2.EnrichedPost:
    post = common_pb2.Post(
        id=mention_id(tenant, platform_name(platform), external_id), tenant_id=tenant,
        platform=platform, external_id=external_id, text=text,
        author=common_pb2.Author(id="a1", handle="budi"),
        engagement=common_pb2.Engagement(likes=likes, reposts=reposts), query_ids=list(query_ids))
    post.created_at.FromDatetime(created_at)
    post.collected_at.FromDatetime(collected_at or created_at)
    scores = {common_pb2.SENTIMENT_NEGATIVE: (0.8, 0.1, 0.1), common_pb2.SENTIMENT_NEUTRAL: (0.1, 0.8, 0.1),
              common_pb2.SENTIMENT_POSITIVE: (0.1, 0.1, 0.8)}[sentiment]
    enr = common_pb2.Enrichment(
        language=language,
        sentiment=common_pb2.SentimentResult(label=sentiment, negative=scores[0], neutral=scores[1],
                                             positive=scores[2]),
        aspects=[common_pb2.AspectResult(name=n, polarity=p, confidence=0.9) for n, p in aspects],
        hashtags=list(hashtags), model_version="test")
    return common_pb2.EnrichedPost(post=post, enrichment=enr)


def make_settings(infra: LocalInfra, unique: str, **insights: Any) -> InsightsSettings:
    """Settings for one test; ``insights`` overrides fields of ``settings.insights``."""
    config: dict[str, Any] = {"db": f"{unique}_insights", "grpc_port": 0, "port_file": None,
                              "batch_size": 16, "batch_wait_s": 0.05, "max_deliver": 3}
    config.update(insights)
    return load_settings(InsightsSettings, mongo_uri=infra.mongo_uri, nats_url=infra.nats_url,
                         subject_root=unique, shutdown_grace_s=5.0, insights=config)


class RecordedApp(ServiceApp):
    """The service's lifecycle, with every store command checked against the shard keys."""

    def mongo(self, uri: str, *, client: AsyncMongoClient[dict[str, Any]] | None = None
              ) -> AsyncMongoClient[dict[str, Any]]:
        if client is None:
            client = make_client(uri, app_name=self.name, event_listeners=[shardkeys.LISTENER])
        return super().mongo(uri, client=client)


@asynccontextmanager
async def running(settings: InsightsSettings) -> AsyncIterator[Insights]:
    """The service in-process, on the same lifecycle as ``python -m dengar_insights``; its store
    commands go through the shard-key check (``shardkeys.py``)."""
    async with RecordedApp("dengar-insights", grace_s=settings.shutdown_grace_s) as app:
        service = await bootstrap.start(app, settings)
        await app.ready()
        yield service


async def wait_until(pred: Callable[[], bool], timeout: float = 90.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.05)


class Env:
    """One test's service, publisher and client."""

    def __init__(self, app: Insights, js: Any, subjects: Subjects, stub: Any) -> None:
        self.app, self.js, self.subjects, self.stub = app, js, subjects, stub
        self.sent = 0

    async def send(self, e: common_pb2.EnrichedPost, *, msg_id: str | None = None,
                   headers: dict[str, str] | None = None, subject_tenant: str | None = None) -> None:
        self.sent += 1
        await publish(self.js, self.subjects.enriched(subject_tenant or e.post.tenant_id),
                      e.SerializeToString(), msg_id=msg_id or f"{e.post.id}:{self.sent}",
                      headers=headers)

    async def send_raw(self, tenant: str, data: bytes) -> None:
        self.sent += 1
        await publish(self.js, self.subjects.enriched(tenant), data, msg_id=f"raw:{self.sent}")

    async def settle(self, apps: list[Insights] | None = None, timeout: float = 90.0) -> None:
        """Wait until every message sent so far was acked or dead-lettered."""
        group = apps or [self.app]
        await wait_until(lambda: sum(a.processed + a.dead_lettered for a in group) >= self.sent,
                         timeout, what=f"{self.sent} messages processed")
