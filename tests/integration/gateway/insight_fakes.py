"""A FakeInsights that also answers the insight engine's methods, with canned answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway_fakes import FakeImports, FakeInsights, FakeQueries, Recorder, make_mention
from grpc import aio

from dengar.v1 import insights_pb2


@dataclass
class InsightBackends:
    """The ``fakes`` fixture's shape (see conftest.FakeBackends), with FakeInsightEngine."""

    port: int
    collector: Recorder
    insights: Recorder
    nlp: Recorder
    insights_servicer: FakeInsights
    health: Any
    queries_servicer: FakeQueries
    imports_servicer: FakeImports


class FakeInsightEngine(FakeInsights):
    """GetSpikes: one spike of ``tenant``'s first mention as evidence; the others echo the request."""

    async def GetSpikes(self, request: insights_pb2.GetSpikesRequest,
                        context: aio.ServicerContext) -> insights_pb2.GetSpikesResponse:
        await self.rec.record("GetSpikes", request, context)
        evidence = self.mentions.get(request.tenant_id, [])[:1] or [
            make_mention(request.tenant_id, "e1", "Paket belum sampai, pengiriman telat")]
        driver = insights_pb2.Driver(kind="aspect", value="delivery:negative", count=40, baseline_count=0,
                                     score=7.25, evidence_mention_ids=[m.id for m in evidence],
                                     evidence=evidence, terms=["telat", "belum sampai"])
        term = insights_pb2.Driver(kind="term", value="telat", count=30, baseline_count=10, lift=3.0,
                                   score=5.5)
        spike = insights_pb2.Spike(observed=52, expected=13.5, score=9.123456, severity="high",
                                   confidence="medium", drivers=[driver, term], volume=60)
        for field, dt in (("start_time", datetime(2024, 5, 1, 14, tzinfo=UTC)),
                          ("end_time", datetime(2024, 5, 1, 15, tzinfo=UTC)),
                          ("peak_time", datetime(2024, 5, 1, 14, tzinfo=UTC)),
                          ("baseline_start_time", datetime(2024, 4, 30, 14, tzinfo=UTC)),
                          ("baseline_end_time", datetime(2024, 5, 1, 14, tzinfo=UTC))):
            getattr(spike, field).FromDatetime(dt)
        return insights_pb2.GetSpikesResponse(spikes=[spike], confidence="medium", unjudged_buckets=0)

    async def ComparePeriods(self, request: insights_pb2.ComparePeriodsRequest,
                             context: aio.ServicerContext) -> insights_pb2.ComparePeriodsResponse:
        await self.rec.record("ComparePeriods", request, context)
        resp = insights_pb2.ComparePeriodsResponse(
            volume=insights_pb2.Delta(current=120, previous=100, absolute=20, relative=0.2),
            net_sentiment=insights_pb2.Delta(current=-0.1, previous=0.05, absolute=-0.15, relative=-3.0))
        resp.previous_start_time.CopyFrom(request.start_time)
        resp.previous_start_time.seconds -= request.end_time.seconds - request.start_time.seconds
        resp.sentiment["negative"].CopyFrom(insights_pb2.Delta(current=40, previous=0, absolute=40))
        for q in request.queries:
            if q.role in ("brand", "competitor"):
                resp.share_of_voice[q.id].CopyFrom(insights_pb2.Delta(current=0.5, previous=0.4,
                                                                      absolute=0.1, relative=0.25))
                resp.share_of_voice_volume[q.id].CopyFrom(insights_pb2.Delta(current=60, previous=40,
                                                                             absolute=20, relative=0.5))
        resp.aspects.add(name="delivery").polarity["negative"].CopyFrom(
            insights_pb2.Delta(current=30, previous=10, absolute=20, relative=2.0))
        resp.terms.add(name="telat", delta=insights_pb2.Delta(current=25, previous=0, absolute=25))
        return resp

    async def GetBrief(self, request: insights_pb2.GetBriefRequest,
                       context: aio.ServicerContext) -> insights_pb2.GetBriefResponse:
        await self.rec.record("GetBrief", request, context)
        names = {q.id: q.name for q in request.queries}
        subject = names.get(request.query_id, "everyone")
        card = insights_pb2.InsightCard(
            type="spike", title=f"Spike ({request.lang})", narrative=f"Negative mentions of {subject} rose",
            impact=1234.56789, evidence_mention_ids=["m1"],
            filters={"from": "2024-05-01T14:00:00Z", "to": "2024-05-01T15:00:00Z", "sentiment": "negative"},
            drivers=[insights_pb2.Driver(kind="aspect", value="delivery:negative", count=40, score=7.0,
                                         evidence_mention_ids=["m1"])])
        card.metrics["observed"].number_value = 52.0
        card.metrics["volume"].int_value = 60
        card.metrics["severity"].text_value = "high"
        return insights_pb2.GetBriefResponse(cards=[card], lang=request.lang)
