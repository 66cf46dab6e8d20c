"""gRPC test doubles of the collector, insights and NLP services, for gateway tests. They speak
the real dengar.v1 protos over real gRPC servers; the end-to-end suite runs the real services."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
from grpc import aio

from dengar.v1 import (
    collector_pb2,
    collector_pb2_grpc,
    common_pb2,
    insights_pb2,
    insights_pb2_grpc,
    nlp_pb2,
    nlp_pb2_grpc,
)
from dengar_common.ids import mention_id

SERVICE_NAMES = ["dengar.v1.CollectorService", "dengar.v1.InsightsService", "dengar.v1.NlpService",
                 "dengar.v1.QueryService"]


@dataclass
class Call:
    method: str
    request: Any
    metadata: dict[str, str]


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    # Set to make every call fail with this status.
    fail: grpc.StatusCode | None = None
    delay_s: float = 0.0
    # Set on the first call, so a test can wait for a request to be in flight.
    called: asyncio.Event = field(default_factory=asyncio.Event)

    async def record(self, method: str, request: Any, context: aio.ServicerContext) -> None:
        md = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        self.calls.append(Call(method, request, md))
        self.called.set()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail is not None:
            await context.abort(self.fail, f"injected {self.fail.name}")

    def of(self, method: str) -> list[Any]:
        return [c.request for c in self.calls if c.method == method]


class FakeCollector(collector_pb2_grpc.CollectorServiceServicer):
    """Accepts every post except those whose text is "collector-reject"."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    async def IngestPosts(self, request: collector_pb2.IngestPostsRequest,
                          context: aio.ServicerContext) -> collector_pb2.IngestPostsResponse:
        await self.rec.record("IngestPosts", request, context)
        resp = collector_pb2.IngestPostsResponse()
        for i, post in enumerate(request.posts):
            if post.text == "collector-reject":
                resp.rejected += 1
                resp.errors.add(index=i, field="text", message="rejected by the collector")
            else:
                resp.accepted += 1
                resp.post_ids.append(post.id)
        return resp


def make_query(tenant_id: str, query_id: str, name: str, role: int, *,
               enabled: bool = True) -> collector_pb2.ListeningQuery:
    return collector_pb2.ListeningQuery(id=query_id, tenant_id=tenant_id, name=name, role=role,  # type: ignore[arg-type]  # int enum
                                        expression=name.lower(), enabled=enabled)


class FakeQueries(collector_pb2_grpc.QueryServiceServicer):
    """Serves ``queries[tenant]``; pages of ``page_size`` with the offset as the page token."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.queries: dict[str, list[collector_pb2.ListeningQuery]] = {}

    async def ListQueries(self, request: collector_pb2.ListQueriesRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListQueriesResponse:
        await self.rec.record("ListQueries", request, context)
        items = [q for q in self.queries.get(request.tenant_id, [])
                 if request.role in (collector_pb2.QUERY_ROLE_UNSPECIFIED, q.role)]
        start = int(request.page_token or 0)
        end = start + (request.page_size or 50)
        return collector_pb2.ListQueriesResponse(
            queries=items[start:end], next_page_token=str(end) if end < len(items) else "")

    # CRUD as the real QueryService answers it. An expression ending in "AND" is a syntax error at
    # its end (with the collector's trailing metadata); ``limit`` queries per tenant at most.
    limit: int = 100

    @staticmethod
    def syntax_error(expression: str) -> tuple[int, str] | None:
        text = expression.rstrip()
        return (len(text), 'a term or "("') if not text or text.endswith("AND") else None

    async def _check_expression(self, expression: str, context: aio.ServicerContext) -> None:
        problem = self.syntax_error(expression)
        if problem is not None:
            position, expected = problem
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"invalid expression at position {position} (expected {expected}): Expected a term",
                trailing_metadata=(("dengar-error-position", str(position)),
                                   ("dengar-error-expected", expected)))

    async def _find(self, tenant_id: str, query_id: str,
                    context: aio.ServicerContext) -> collector_pb2.ListeningQuery:
        for q in self.queries.get(tenant_id, []):
            if q.id == query_id:
                return q
        await context.abort(grpc.StatusCode.NOT_FOUND, f"listening query {query_id} not found")
        raise AssertionError("unreachable")

    async def _check_name(self, tenant_id: str, name: str, query_id: str,
                          context: aio.ServicerContext) -> None:
        if any(q.name.casefold() == name.casefold() and q.id != query_id
               for q in self.queries.get(tenant_id, [])):
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, f"a listening query named {name} exists")

    async def CreateQuery(self, request: collector_pb2.CreateQueryRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListeningQuery:
        await self.rec.record("CreateQuery", request, context)
        await self._check_expression(request.expression, context)
        await self._check_name(request.tenant_id, request.name, "", context)
        items = self.queries.setdefault(request.tenant_id, [])
        if len(items) >= self.limit:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                f"a tenant may have at most {self.limit} listening queries")
        q = collector_pb2.ListeningQuery(
            id=f"q_{sum(map(len, self.queries.values())):016x}", tenant_id=request.tenant_id,
            name=request.name, role=request.role, expression=request.expression,
            enabled=request.enabled if request.HasField("enabled") else True)
        q.created_at.FromDatetime(datetime(2024, 5, 1, 12, tzinfo=UTC))
        q.updated_at.CopyFrom(q.created_at)
        items.append(q)
        return q

    async def GetQuery(self, request: collector_pb2.GetQueryRequest,
                       context: aio.ServicerContext) -> collector_pb2.ListeningQuery:
        await self.rec.record("GetQuery", request, context)
        return await self._find(request.tenant_id, request.id, context)

    async def UpdateQuery(self, request: collector_pb2.UpdateQueryRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListeningQuery:
        await self.rec.record("UpdateQuery", request, context)
        q = await self._find(request.tenant_id, request.id, context)
        if request.HasField("expression"):
            await self._check_expression(request.expression, context)
        if request.HasField("name"):
            await self._check_name(request.tenant_id, request.name, q.id, context)
        for name in ("name", "role", "expression", "enabled"):
            if request.HasField(name):
                setattr(q, name, getattr(request, name))
        q.updated_at.FromDatetime(datetime(2024, 5, 2, 12, tzinfo=UTC))
        return q

    async def DeleteQuery(self, request: collector_pb2.DeleteQueryRequest,
                          context: aio.ServicerContext) -> collector_pb2.DeleteQueryResponse:
        await self.rec.record("DeleteQuery", request, context)
        q = await self._find(request.tenant_id, request.id, context)
        self.queries[request.tenant_id].remove(q)
        return collector_pb2.DeleteQueryResponse()

    async def ValidateQuery(self, request: collector_pb2.ValidateQueryRequest,
                            context: aio.ServicerContext) -> collector_pb2.ValidateQueryResponse:
        await self.rec.record("ValidateQuery", request, context)
        problem = self.syntax_error(request.expression)
        if problem is None:
            return collector_pb2.ValidateQueryResponse(valid=True)
        return collector_pb2.ValidateQueryResponse(valid=False, errors=[collector_pb2.QuerySyntaxError(
            position=problem[0], expected=problem[1], message="Expected a term")])


def make_mention(tenant_id: str, external_id: str, text: str, *,
                 label: int = common_pb2.SENTIMENT_NEGATIVE) -> insights_pb2.Mention:
    mid = mention_id(tenant_id, "x", external_id)
    post = common_pb2.Post(id=mid, tenant_id=tenant_id, platform=common_pb2.PLATFORM_X,
                           external_id=external_id, text=text, url=f"https://x.com/a/status/{external_id}",
                           author=common_pb2.Author(id="u1", handle="ann", followers=5),
                           engagement=common_pb2.Engagement(likes=3))
    post.created_at.FromDatetime(datetime(2024, 5, 1, 12, tzinfo=UTC))
    enrichment = common_pb2.Enrichment(
        language="en", language_confidence=0.99,
        sentiment=common_pb2.SentimentResult(label=label, negative=0.8, neutral=0.15, positive=0.05),
        emotion=common_pb2.EmotionResult(label="anger", scores={"anger": 0.7, "joy": 0.1}),
        aspects=[common_pb2.AspectResult(name="delivery", polarity=common_pb2.SENTIMENT_NEGATIVE,
                                         confidence=0.9)],
        hashtags=["late"], entities=[common_pb2.EntityMatch(id="acme", kind="brand", surface="Acme",
                                                            start=0, end=4)])
    return insights_pb2.Mention(id=mid, tenant_id=tenant_id, post=post, enrichment=enrichment)


class FakeInsights(insights_pb2_grpc.InsightsServiceServicer):
    """Serves ``mentions[tenant]``; pages of ``page_size`` with the offset as the page token."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.mentions: dict[str, list[insights_pb2.Mention]] = {}
        self.voice: dict[str, tuple[int, int, int]] = {}
        # (tenant, query id) -> its backfill; ``backfills_down`` answers UNAVAILABLE instead.
        self.backfills: dict[tuple[str, str], insights_pb2.Backfill] = {}
        self.backfills_down = False

    async def ListBackfills(self, request: insights_pb2.ListBackfillsRequest,
                            context: aio.ServicerContext) -> insights_pb2.ListBackfillsResponse:
        await self.rec.record("ListBackfills", request, context)
        if self.backfills_down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "store unavailable, retry later")
        return insights_pb2.ListBackfillsResponse(backfills=[
            self.backfills[(request.tenant_id, t)] for t in request.target_ids
            if (request.tenant_id, t) in self.backfills])

    async def SearchMentions(self, request: insights_pb2.SearchMentionsRequest,
                             context: aio.ServicerContext) -> insights_pb2.SearchMentionsResponse:
        await self.rec.record("SearchMentions", request, context)
        if request.page_token and not request.page_token.isdigit():
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "invalid page token")
        items = self.mentions.get(request.tenant_id, [])
        start = int(request.page_token or 0)
        end = start + (request.page_size or 50)
        return insights_pb2.SearchMentionsResponse(
            mentions=items[start:end], next_page_token=str(end) if end < len(items) else "")

    async def GetMention(self, request: insights_pb2.GetMentionRequest,
                         context: aio.ServicerContext) -> insights_pb2.Mention:
        await self.rec.record("GetMention", request, context)
        for m in self.mentions.get(request.tenant_id, []):
            if m.id == request.id:
                return m
        await context.abort(grpc.StatusCode.NOT_FOUND, f"mention {request.id} not found")
        raise AssertionError("unreachable")

    async def GetTimeSeries(self, request: insights_pb2.GetTimeSeriesRequest,
                            context: aio.ServicerContext) -> insights_pb2.GetTimeSeriesResponse:
        await self.rec.record("GetTimeSeries", request, context)
        resp = insights_pb2.GetTimeSeriesResponse(total=6)
        for i, (neg, neu, pos) in enumerate([(1, 1, 0), (0, 2, 2)]):
            p = resp.points.add(volume=neg + neu + pos, negative=neg, neutral=neu, positive=pos)
            p.bucket_start.FromDatetime(datetime(2024, 5, 1 + i, tzinfo=UTC))
        return resp

    async def GetSummary(self, request: insights_pb2.GetSummaryRequest,
                         context: aio.ServicerContext) -> insights_pb2.GetSummaryResponse:
        await self.rec.record("GetSummary", request, context)
        return insights_pb2.GetSummaryResponse(
            volume=10, negative=5, neutral=3, positive=2,
            aspects=[insights_pb2.AspectSummary(name="delivery", negative=4, neutral=1, positive=0),
                     insights_pb2.AspectSummary(name="price", negative=1, positive=3),
                     insights_pb2.AspectSummary(name="staff", positive=2)],
            platforms=[insights_pb2.CountItem(key="x", count=7),
                       insights_pb2.CountItem(key="PLATFORM_REDDIT", count=3)],
            languages=[insights_pb2.CountItem(key="en", count=8), insights_pb2.CountItem(key="id", count=2)])

    async def GetShareOfVoice(self, request: insights_pb2.GetShareOfVoiceRequest,
                              context: aio.ServicerContext) -> insights_pb2.GetShareOfVoiceResponse:
        """Counts from ``voice[query_id]`` = (negative, neutral, positive); unknown ids count 0."""
        await self.rec.record("GetShareOfVoice", request, context)
        if not request.query_ids:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "query_ids: at least one is required")
        counts = [self.voice.get(q, (0, 0, 0)) for q in request.query_ids]
        total = sum(map(sum, counts))
        resp = insights_pb2.GetShareOfVoiceResponse(total=total)
        for query_id, (neg, neu, pos) in zip(request.query_ids, counts, strict=True):
            volume = neg + neu + pos
            item = resp.items.add(query_id=query_id, volume=volume, negative=neg, neutral=neu,
                                  positive=pos, share=volume / total if total else 0.0,
                                  net_sentiment=(pos - neg) / volume if volume else 0.0)
            if request.interval != insights_pb2.INTERVAL_UNSPECIFIED:
                # Everything in the first of two buckets.
                for day, n in ((1, volume), (2, 0)):
                    p = item.points.add(volume=n, negative=neg if n else 0, neutral=neu if n else 0,
                                        positive=pos if n else 0)
                    p.bucket_start.FromDatetime(datetime(2024, 5, day, tzinfo=UTC))
        return resp


class FakeNlp(nlp_pb2_grpc.NlpServiceServicer):
    """Negative when a text says "bad", positive when it says "good", else neutral."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    async def Analyze(self, request: nlp_pb2.AnalyzeRequest,
                      context: aio.ServicerContext) -> nlp_pb2.AnalyzeResponse:
        await self.rec.record("Analyze", request, context)
        resp = nlp_pb2.AnalyzeResponse()
        for text in request.texts:
            label = (common_pb2.SENTIMENT_NEGATIVE if "bad" in text else common_pb2.SENTIMENT_POSITIVE
                     if "good" in text else common_pb2.SENTIMENT_NEUTRAL)
            r = resp.results.add(language="en", language_confidence=0.9, model_version="fake-1",
                                 hashtags=[w[1:] for w in text.split() if w.startswith("#")])
            r.sentiment.CopyFrom(common_pb2.SentimentResult(label=label, negative=0.1, neutral=0.2,
                                                            positive=0.7))
            if request.include_embedding:
                r.embedding.extend([0.25, -0.5])
        return resp


class FakeSources(collector_pb2_grpc.SourceServiceServicer):
    """An in-memory SourceService: ``sources[(tenant, id)]``. A config with ``"bad": true`` is refused
    like a connector config error; pushes verify the signature with ``secrets[id]``."""

    KINDS = ("mastodon", "hackernews", "rss", "webhook")

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.sources: dict[tuple[str, str], collector_pb2.Source] = {}
        self.secrets: dict[str, str] = {}
        self._serial = 0

    async def _find(self, request: Any, context: aio.ServicerContext) -> collector_pb2.Source:
        src = self.sources.get((request.tenant_id, request.id))
        if src is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"source {request.id!r} not found")
        return src  # type: ignore[return-value]  # abort raised

    async def CreateSource(self, request: collector_pb2.CreateSourceRequest,
                           context: aio.ServicerContext) -> collector_pb2.CreateSourceResponse:
        await self.rec.record("CreateSource", request, context)
        if request.kind not in self.KINDS:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"kind: unknown kind {request.kind!r}")
        if request.config.fields.get("bad") is not None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "invalid config: bad: not allowed")
        self._serial += 1
        src = collector_pb2.Source(
            id=f"src_{self._serial:016x}", tenant_id=request.tenant_id, name=request.name, kind=request.kind,
            config=request.config, credential_fields=sorted(request.credentials),
            interval_seconds=request.interval_seconds or 300, paused=request.paused,
            status=(collector_pb2.SOURCE_STATUS_PAUSED if request.paused
                    else collector_pb2.SOURCE_STATUS_ACTIVE))
        src.created_at.FromDatetime(datetime(2026, 12, 1, 12, tzinfo=UTC))
        self.sources[(request.tenant_id, src.id)] = src
        secret = ""
        if request.kind == "webhook":
            secret = self.secrets[src.id] = f"whsec_fake{self._serial}"
        return collector_pb2.CreateSourceResponse(source=src, webhook_secret=secret)

    async def GetSource(self, request: collector_pb2.GetSourceRequest,
                        context: aio.ServicerContext) -> collector_pb2.Source:
        await self.rec.record("GetSource", request, context)
        return await self._find(request, context)

    async def ListSources(self, request: collector_pb2.ListSourcesRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListSourcesResponse:
        await self.rec.record("ListSources", request, context)
        items = [s for (t, _), s in self.sources.items()
                 if t == request.tenant_id and request.kind in ("", s.kind)]
        start = int(request.page_token or 0)
        end = start + (request.page_size or 50)
        return collector_pb2.ListSourcesResponse(sources=items[start:end],
                                                 next_page_token=str(end) if end < len(items) else "")

    async def UpdateSource(self, request: collector_pb2.UpdateSourceRequest,
                           context: aio.ServicerContext) -> collector_pb2.Source:
        await self.rec.record("UpdateSource", request, context)
        src = await self._find(request, context)
        if request.HasField("config") and request.config.fields.get("bad") is not None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "invalid config: bad: not allowed")
        if request.HasField("name"):
            src.name = request.name
        if request.HasField("interval_seconds"):
            src.interval_seconds = request.interval_seconds
        if request.HasField("config"):
            src.config.CopyFrom(request.config)
        fields = set() if request.replace_credentials else set(src.credential_fields)
        src.credential_fields[:] = sorted(fields | set(request.credentials))
        return src

    async def DeleteSource(self, request: collector_pb2.DeleteSourceRequest,
                           context: aio.ServicerContext) -> collector_pb2.DeleteSourceResponse:
        await self.rec.record("DeleteSource", request, context)
        await self._find(request, context)
        del self.sources[(request.tenant_id, request.id)]
        return collector_pb2.DeleteSourceResponse()

    async def PauseSource(self, request: collector_pb2.GetSourceRequest,
                          context: aio.ServicerContext) -> collector_pb2.Source:
        await self.rec.record("PauseSource", request, context)
        src = await self._find(request, context)
        src.paused, src.status = True, collector_pb2.SOURCE_STATUS_PAUSED
        return src

    async def ResumeSource(self, request: collector_pb2.GetSourceRequest,
                           context: aio.ServicerContext) -> collector_pb2.Source:
        await self.rec.record("ResumeSource", request, context)
        src = await self._find(request, context)
        src.paused, src.status = False, collector_pb2.SOURCE_STATUS_ACTIVE
        return src

    async def RunSourceNow(self, request: collector_pb2.GetSourceRequest,
                           context: aio.ServicerContext) -> collector_pb2.Source:
        await self.rec.record("RunSourceNow", request, context)
        src = await self._find(request, context)
        if src.kind == "webhook" or src.paused:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "not a runnable pull source")
        src.next_run_at.FromDatetime(datetime(2026, 12, 1, 12, 5, tzinfo=UTC))
        return src

    async def RotateWebhookSecret(self, request: collector_pb2.GetSourceRequest,
                                  context: aio.ServicerContext) -> collector_pb2.CreateSourceResponse:
        await self.rec.record("RotateWebhookSecret", request, context)
        src = await self._find(request, context)
        if src.kind != "webhook":
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "only webhook sources have a secret")
        self.secrets[src.id] = self.secrets[src.id] + "-rotated"
        return collector_pb2.CreateSourceResponse(source=src, webhook_secret=self.secrets[src.id])

    async def PushWebhook(self, request: collector_pb2.PushWebhookRequest,
                          context: aio.ServicerContext) -> collector_pb2.PushWebhookResponse:
        await self.rec.record("PushWebhook", request, context)
        import hashlib
        import hmac

        secret = self.secrets.get(request.source_id, "")
        expected = "sha256=" + hmac.new(secret.encode(), request.timestamp.encode() + b"." + request.body,
                                        hashlib.sha256).hexdigest()
        if not secret or not hmac.compare_digest(expected, request.signature):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid webhook signature or timestamp")
        src = next(s for s in self.sources.values() if s.id == request.source_id)
        if src.paused:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "the source is paused")
        return collector_pb2.PushWebhookResponse(
            tenant_id=src.tenant_id, accepted=1, rejected=1, post_ids=["p1"],
            errors=[collector_pb2.IngestError(index=1, field="text", message="text (or title) is required")])


class FakeImports(collector_pb2_grpc.ImportServiceServicer):
    """Keeps every upload in ``uploads`` (spec, bytes, chunk sizes) and answers QUEUED jobs, which
    ``jobs[tenant]`` then serves (newest first; offset page tokens). Files over ``max_bytes`` are
    RESOURCE_EXHAUSTED, as the real collector answers them."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.max_bytes = 1 << 30
        self.uploads: list[tuple[collector_pb2.ImportSpec, bytes, list[int]]] = []
        self.jobs: dict[str, list[collector_pb2.ImportJob]] = {}

    async def StartImport(self, request_iterator: Any,
                          context: aio.ServicerContext) -> collector_pb2.ImportJob:
        spec: collector_pb2.ImportSpec | None = None
        chunks: list[bytes] = []
        async for message in request_iterator:
            if spec is None:
                spec = message.spec
                await self.rec.record("StartImport", spec, context)
            else:
                chunks.append(message.chunk)
                if sum(map(len, chunks)) > self.max_bytes:
                    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "the file is too large")
        assert spec is not None
        data = b"".join(chunks)
        self.uploads.append((spec, data, [len(c) for c in chunks]))
        job = collector_pb2.ImportJob(
            id=f"imp_{len(self.uploads):016x}", tenant_id=spec.tenant_id, filename=spec.filename,
            format=spec.format or spec.filename.rsplit(".", 1)[-1], state=collector_pb2.IMPORT_STATE_QUEUED,
            bytes_total=len(data), sha256=hashlib.sha256(data).hexdigest())
        job.created_at.FromDatetime(datetime(2026, 11, 20, 5, tzinfo=UTC))
        self.jobs.setdefault(spec.tenant_id, []).insert(0, job)
        return job

    async def GetImport(self, request: collector_pb2.GetImportRequest,
                        context: aio.ServicerContext) -> collector_pb2.ImportJob:
        await self.rec.record("GetImport", request, context)
        for job in self.jobs.get(request.tenant_id, []):
            if job.id == request.id:
                return job
        await context.abort(grpc.StatusCode.NOT_FOUND, f"import {request.id} not found")
        raise AssertionError("unreachable")

    async def ListImports(self, request: collector_pb2.ListImportsRequest,
                          context: aio.ServicerContext) -> collector_pb2.ListImportsResponse:
        await self.rec.record("ListImports", request, context)
        items = self.jobs.get(request.tenant_id, [])
        start = int(request.page_token or 0)
        end = start + (request.page_size or 50)
        return collector_pb2.ListImportsResponse(
            imports=items[start:end], next_page_token=str(end) if end < len(items) else "")
