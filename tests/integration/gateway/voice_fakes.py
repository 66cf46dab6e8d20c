"""A FakeInsightEngine that also answers GetTopAuthors, GetTopPosts and GetCampaigns."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from grpc import aio
from insight_fakes import FakeInsightEngine

from dengar.v1 import insights_pb2


def _ts(dt: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(dt)
    return t


class FakeVoices(FakeInsightEngine):
    """Canned authors and a campaign of the requested tenant; ``mentions[tenant]`` as top posts."""

    async def GetTopAuthors(self, request: insights_pb2.GetTopAuthorsRequest,
                            context: aio.ServicerContext) -> insights_pb2.GetTopAuthorsResponse:
        await self.rec.record("GetTopAuthors", request, context)
        t = request.tenant_id
        return insights_pb2.GetTopAuthorsResponse(authors=[
            insights_pb2.TopAuthor(platform="x", author_id="u1", handle=f"{t}_loud", display_name="Loud",
                                   verified=True, followers=120, mentions=4, engagement=21, negative=2,
                                   neutral=1, positive=1, net_sentiment=-0.25,
                                   sample_mention_ids=[f"{t}-m2", f"{t}-m4"]),
            insights_pb2.TopAuthor(platform="reddit", handle="viral", followers=10, mentions=2,
                                   engagement=522, positive=2, net_sentiment=2 / 3),
        ][:request.limit])

    async def GetTopPosts(self, request: insights_pb2.GetTopPostsRequest,
                          context: aio.ServicerContext) -> insights_pb2.GetTopPostsResponse:
        await self.rec.record("GetTopPosts", request, context)
        return insights_pb2.GetTopPostsResponse(
            mentions=self.mentions.get(request.tenant_id, [])[:request.limit])

    async def GetCampaigns(self, request: insights_pb2.GetCampaignsRequest,
                           context: aio.ServicerContext) -> insights_pb2.GetCampaignsResponse:
        await self.rec.record("GetCampaigns", request, context)
        t = request.tenant_id
        start, end = datetime(2024, 5, 1, 10, 5, tzinfo=UTC), datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
        campaign = insights_pb2.Campaign(
            cluster="txt-1", posts=6, authors=6, start_time=_ts(start), end_time=_ts(end),
            first_post=insights_pb2.CampaignPost(mention_id=f"{t}-c1", author="camp1", text="Boikot!",
                                                 created_at=_ts(start), platform="x"),
            sample_text="Boikot!", common_terms=["boikot", "produk"], platforms=["x"],
            query_ids=[request.query_id] if request.query_id else [],
            evidence_mention_ids=[f"{t}-c1", f"{t}-c2"],
            filters={"from": "2024-05-01T10:05:00Z", "to": "2024-05-01T10:30:01Z", "q": "boikot produk"})
        return insights_pb2.GetCampaignsResponse(campaigns=[campaign][:request.limit], sampled_mentions=15)
