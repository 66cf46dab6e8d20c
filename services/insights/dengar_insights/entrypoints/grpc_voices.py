"""GetTopAuthors, GetTopPosts and GetCampaigns: proto <-> domain conversion around ``Voices``.

``VoicesRpc`` is mixed into the InsightsService servicer, like ``InsightEngineRpc``. Bad input
raises ``InvalidArgument`` naming the field; the tenant id is checked by the server interceptor.
"""

from __future__ import annotations

from typing import Any

from grpc import aio

from dengar.v1 import insights_pb2
from dengar_common.errors import InvalidArgument
from dengar_insights.domain.insight.voices import ENGAGEMENT, REACH, VOLUME, AuthorStats, Campaign
from dengar_insights.entrypoints.grpc_insight_engine import period_of, query_id_of, to_ts
from dengar_insights.entrypoints.protos import mention_to_proto
from dengar_insights.service_layer.voices import DEFAULT_LIMIT, Voices, VoicesRequest

_RANKS = {insights_pb2.AUTHOR_RANK_UNSPECIFIED: VOLUME, insights_pb2.AUTHOR_RANK_VOLUME: VOLUME,
          insights_pb2.AUTHOR_RANK_REACH: REACH, insights_pb2.AUTHOR_RANK_ENGAGEMENT: ENGAGEMENT}


def _request(msg: Any) -> VoicesRequest:
    start, end = period_of(msg)
    if msg.limit < 0:
        raise InvalidArgument("limit must not be negative", field="limit")
    return VoicesRequest(tenant_id=msg.tenant_id, start=start, end=end,
                         query_id=query_id_of(msg.query_id), limit=msg.limit or DEFAULT_LIMIT)


def author_proto(a: AuthorStats) -> insights_pb2.TopAuthor:
    return insights_pb2.TopAuthor(
        platform=a.platform, author_id=a.author_id, handle=a.handle, display_name=a.display_name,
        verified=a.verified, followers=a.followers, mentions=a.mentions, engagement=a.engagement,
        negative=a.negative, neutral=a.neutral, positive=a.positive, net_sentiment=a.net_sentiment,
        sample_mention_ids=list(a.sample_ids))


def campaign_proto(c: Campaign) -> insights_pb2.Campaign:
    d, first = c.cluster, c.first_post
    return insights_pb2.Campaign(
        cluster=d.key, posts=d.posts, authors=d.authors, start_time=to_ts(d.start),
        end_time=to_ts(d.end),
        first_post=insights_pb2.CampaignPost(mention_id=first.id, author=first.author,
                                             text=first.text, created_at=to_ts(first.created_at),
                                             platform=first.platform),
        sample_text=d.sample_text, common_terms=list(d.common_terms), platforms=list(d.platforms),
        query_ids=list(d.query_ids), evidence_mention_ids=list(d.evidence_ids),
        filters=dict(c.filters))


class VoicesRpc:
    """The top-voices and campaign methods of InsightsService (mixed into its servicer)."""

    def __init__(self, voices: Voices) -> None:
        self._voices = voices

    async def GetTopAuthors(self, request: insights_pb2.GetTopAuthorsRequest,
                            context: aio.ServicerContext[Any, Any]
                            ) -> insights_pb2.GetTopAuthorsResponse:
        req = _request(request)
        if request.rank_by not in _RANKS:
            raise InvalidArgument(f"unknown rank_by {request.rank_by}", field="rank_by")
        authors = await self._voices.top_authors(req, _RANKS[request.rank_by])
        return insights_pb2.GetTopAuthorsResponse(authors=[author_proto(a) for a in authors])

    async def GetTopPosts(self, request: insights_pb2.GetTopPostsRequest,
                          context: aio.ServicerContext[Any, Any]) -> insights_pb2.GetTopPostsResponse:
        docs = await self._voices.top_posts(_request(request))
        return insights_pb2.GetTopPostsResponse(mentions=[mention_to_proto(d) for d in docs])

    async def GetCampaigns(self, request: insights_pb2.GetCampaignsRequest,
                           context: aio.ServicerContext[Any, Any]
                           ) -> insights_pb2.GetCampaignsResponse:
        result = await self._voices.campaigns(_request(request))
        return insights_pb2.GetCampaignsResponse(
            campaigns=[campaign_proto(c) for c in result.campaigns],
            sampled_mentions=result.sampled)
