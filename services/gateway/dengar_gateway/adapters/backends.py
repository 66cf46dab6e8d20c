"""gRPC clients of the collector, NLP and insights services.

Channels come from ``grpcutil.insecure_channel``, which injects the current trace context, so a
call made while the request's server span is current continues the caller's trace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dengar.v1 import (
    collector_pb2,
    collector_pb2_grpc,
    insights_pb2,
    insights_pb2_grpc,
    nlp_pb2,
    nlp_pb2_grpc,
)
from dengar_common.grpcutil import insecure_channel

logger = logging.getLogger(__name__)

R = TypeVar("R")


class BackendError(Exception):
    """A backend call failed; ``code`` is the gRPC status the entrypoints map to HTTP."""

    def __init__(self, service: str, code: grpc.StatusCode, detail: str,
                 metadata: dict[str, str] | None = None) -> None:
        super().__init__(f"{service}: {code.name}: {detail}")
        self.service = service
        self.code = code
        self.detail = detail
        # The call's trailing metadata (text values), e.g. dengar-error-position of a query error.
        self.metadata = metadata or {}


class Backends:
    """The three backend stubs with a per-call deadline and uniform error translation."""

    def __init__(self, *, collector: aio.Channel, nlp: aio.Channel, insights: aio.Channel,
                 timeout_s: float) -> None:
        self._channels = {"collector": collector, "nlp": nlp, "insights": insights}
        self._timeout = timeout_s
        self._collector = collector_pb2_grpc.CollectorServiceStub(collector)
        self._imports = collector_pb2_grpc.ImportServiceStub(collector)
        self._sources = collector_pb2_grpc.SourceServiceStub(collector)
        self._queries = collector_pb2_grpc.QueryServiceStub(collector)
        self._nlp = nlp_pb2_grpc.NlpServiceStub(nlp)
        self._insights = insights_pb2_grpc.InsightsServiceStub(insights)

    @classmethod
    def connect(cls, *, collector_target: str, nlp_target: str, insights_target: str,
                timeout_s: float) -> Backends:
        # Channels connect lazily: the gateway starts (and /readyz says why it is not ready) while
        # a backend is still down.
        return cls(collector=insecure_channel(collector_target), nlp=insecure_channel(nlp_target),
                   insights=insecure_channel(insights_target), timeout_s=timeout_s)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()

    async def _call(self, service: str, method: Callable[..., Awaitable[R]], request: Any) -> R:
        try:
            return await method(request, timeout=self._timeout)
        except aio.AioRpcError as exc:
            code = exc.code()
            level = logging.WARNING if code not in (grpc.StatusCode.NOT_FOUND,
                                                    grpc.StatusCode.INVALID_ARGUMENT) else logging.DEBUG
            logger.log(level, "%s call failed: %s %s", service, code.name, exc.details())
            trailing = {k: v for k, v in (exc.trailing_metadata() or ()) if isinstance(v, str)}
            raise BackendError(service, code, exc.details() or "", trailing) from None

    async def ingest_posts(self, request: collector_pb2.IngestPostsRequest
                           ) -> collector_pb2.IngestPostsResponse:
        return await self._call("collector", self._collector.IngestPosts, request)

    async def start_import(self, requests: AsyncIterator[collector_pb2.StartImportRequest], *,
                           timeout_s: float) -> collector_pb2.ImportJob:
        """Stream an upload (spec first, then chunks); the deadline covers the whole upload."""
        try:
            return await self._imports.StartImport(requests, timeout=timeout_s)
        except aio.AioRpcError as exc:
            logger.log(logging.DEBUG if exc.code() == grpc.StatusCode.INVALID_ARGUMENT else logging.WARNING,
                       "collector call failed: %s %s", exc.code().name, exc.details())
            raise BackendError("collector", exc.code(), exc.details() or "") from None

    async def get_import(self, request: collector_pb2.GetImportRequest) -> collector_pb2.ImportJob:
        return await self._call("collector", self._imports.GetImport, request)

    async def list_imports(self, request: collector_pb2.ListImportsRequest
                           ) -> collector_pb2.ListImportsResponse:
        return await self._call("collector", self._imports.ListImports, request)

    async def create_query(self, request: collector_pb2.CreateQueryRequest) -> collector_pb2.ListeningQuery:
        return await self._call("collector", self._queries.CreateQuery, request)

    async def get_query(self, request: collector_pb2.GetQueryRequest) -> collector_pb2.ListeningQuery:
        return await self._call("collector", self._queries.GetQuery, request)

    async def update_query(self, request: collector_pb2.UpdateQueryRequest) -> collector_pb2.ListeningQuery:
        return await self._call("collector", self._queries.UpdateQuery, request)

    async def delete_query(self, request: collector_pb2.DeleteQueryRequest
                           ) -> collector_pb2.DeleteQueryResponse:
        return await self._call("collector", self._queries.DeleteQuery, request)

    async def validate_query(self, request: collector_pb2.ValidateQueryRequest
                             ) -> collector_pb2.ValidateQueryResponse:
        return await self._call("collector", self._queries.ValidateQuery, request)

    async def create_source(self, request: collector_pb2.CreateSourceRequest
                            ) -> collector_pb2.CreateSourceResponse:
        return await self._call("collector", self._sources.CreateSource, request)

    async def get_source(self, request: collector_pb2.GetSourceRequest) -> collector_pb2.Source:
        return await self._call("collector", self._sources.GetSource, request)

    async def list_sources(self, request: collector_pb2.ListSourcesRequest
                           ) -> collector_pb2.ListSourcesResponse:
        return await self._call("collector", self._sources.ListSources, request)

    async def update_source(self, request: collector_pb2.UpdateSourceRequest) -> collector_pb2.Source:
        return await self._call("collector", self._sources.UpdateSource, request)

    async def delete_source(self, request: collector_pb2.DeleteSourceRequest
                            ) -> collector_pb2.DeleteSourceResponse:
        return await self._call("collector", self._sources.DeleteSource, request)

    async def pause_source(self, request: collector_pb2.GetSourceRequest) -> collector_pb2.Source:
        return await self._call("collector", self._sources.PauseSource, request)

    async def resume_source(self, request: collector_pb2.GetSourceRequest) -> collector_pb2.Source:
        return await self._call("collector", self._sources.ResumeSource, request)

    async def run_source_now(self, request: collector_pb2.GetSourceRequest) -> collector_pb2.Source:
        return await self._call("collector", self._sources.RunSourceNow, request)

    async def rotate_webhook_secret(self, request: collector_pb2.GetSourceRequest
                                    ) -> collector_pb2.CreateSourceResponse:
        return await self._call("collector", self._sources.RotateWebhookSecret, request)

    async def push_webhook(self, request: collector_pb2.PushWebhookRequest
                           ) -> collector_pb2.PushWebhookResponse:
        return await self._call("collector", self._sources.PushWebhook, request)

    async def analyze(self, request: nlp_pb2.AnalyzeRequest) -> nlp_pb2.AnalyzeResponse:
        return await self._call("nlp", self._nlp.Analyze, request)

    async def search_mentions(self, request: insights_pb2.SearchMentionsRequest
                              ) -> insights_pb2.SearchMentionsResponse:
        return await self._call("insights", self._insights.SearchMentions, request)

    async def get_mention(self, request: insights_pb2.GetMentionRequest) -> insights_pb2.Mention:
        return await self._call("insights", self._insights.GetMention, request)

    async def get_time_series(self, request: insights_pb2.GetTimeSeriesRequest
                              ) -> insights_pb2.GetTimeSeriesResponse:
        return await self._call("insights", self._insights.GetTimeSeries, request)

    async def get_summary(self, request: insights_pb2.GetSummaryRequest) -> insights_pb2.GetSummaryResponse:
        return await self._call("insights", self._insights.GetSummary, request)

    async def get_share_of_voice(self, request: insights_pb2.GetShareOfVoiceRequest
                                 ) -> insights_pb2.GetShareOfVoiceResponse:
        return await self._call("insights", self._insights.GetShareOfVoice, request)

    async def get_spikes(self, request: insights_pb2.GetSpikesRequest) -> insights_pb2.GetSpikesResponse:
        return await self._call("insights", self._insights.GetSpikes, request)

    async def compare_periods(self, request: insights_pb2.ComparePeriodsRequest
                              ) -> insights_pb2.ComparePeriodsResponse:
        return await self._call("insights", self._insights.ComparePeriods, request)

    async def get_brief(self, request: insights_pb2.GetBriefRequest) -> insights_pb2.GetBriefResponse:
        return await self._call("insights", self._insights.GetBrief, request)

    async def list_queries(self, request: collector_pb2.ListQueriesRequest
                           ) -> collector_pb2.ListQueriesResponse:
        return await self._call("collector", self._queries.ListQueries, request)

    async def health(self, timeout_s: float) -> dict[str, str]:
        """grpc.health.v1 status of each backend: "SERVING", another status name, or the error."""

        async def check(channel: aio.Channel) -> str:
            try:
                resp = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=timeout_s)
                return health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
            except aio.AioRpcError as exc:
                return exc.code().name
            except Exception as exc:  # never let a probe raise: /readyz reports instead
                return type(exc).__name__

        names = list(self._channels)
        results = await asyncio.gather(*(check(self._channels[n]) for n in names))
        return dict(zip(names, results, strict=True))
