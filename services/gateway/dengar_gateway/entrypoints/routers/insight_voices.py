"""GET /v1/insights/authors, /v1/insights/posts and /v1/insights/campaigns.

The same rules as the other insight routes (routers/insights.py): the tenant comes from the API
key, a ``query_id`` must be one of the caller's listening queries (another tenant's is a 404 like
a missing one), and input is validated here first (422 naming the parameter) and again by the
insights service.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dengar.v1 import insights_pb2
from dengar_gateway.entrypoints.deps import Deps, ReadPrincipal
from dengar_gateway.entrypoints.mapping import from_timestamp, mention_out, to_timestamp
from dengar_gateway.entrypoints.problems import problem_responses
from dengar_gateway.entrypoints.routers.insights import (
    MAX_PERIOD,
    From,
    OneQuery,
    To,
    check_period,
    check_query_exists,
    own_mentions,
)
from dengar_gateway.entrypoints.schemas_insight_voices import (
    CampaignOut,
    CampaignPostOut,
    CampaignsOut,
    RankBy,
    SentimentCountsOut,
    TopAuthorOut,
    TopAuthorsOut,
    TopPostsOut,
)

router = APIRouter(prefix="/v1/insights", tags=["insights"])

# The insights service's limits (service_layer/voices.VoiceLimits), checked here first.
MAX_AUTHORS = 100
MAX_POSTS = 100
MAX_CAMPAIGNS = 50
_RANKS = {"volume": insights_pb2.AUTHOR_RANK_VOLUME, "reach": insights_pb2.AUTHOR_RANK_REACH,
          "engagement": insights_pb2.AUTHOR_RANK_ENGAGEMENT}
_DIGITS = 4


def _limit(most: int, what: str) -> Any:
    return Query(ge=1, le=most, description=f"At most this many {what} (1-{most}).")


@router.get(
    "/authors", response_model=TopAuthorsOut, summary="Top voices",
    description=(
        "The authors of [from, to) ranked by `volume` (mentions), `reach` (followers: the largest "
        "count seen in the period) or `engagement` (summed engagement score); ties go to the other "
        "two measures, then platform and author. An author is one account of one platform (its "
        "id, or its handle when the platform gave none); mentions without either are left out. "
        "Each comes with its profile as of its latest mention, sentiment counts, net sentiment and "
        "up to 3 of its most engaging mention ids. Computed exactly over the period's mentions, "
        f"so at most {MAX_PERIOD.days} days. Requires `read`."),
    responses=problem_responses(401, 403, 404, 422, 429, 502, 503),
)
async def authors(deps: Deps, principal: ReadPrincipal, start: From, end: To,
                  query_id: OneQuery = None,
                  rank_by: Annotated[RankBy, Query(description="What ranks the authors.")] = "volume",
                  limit: Annotated[int, _limit(MAX_AUTHORS, "authors")] = 10) -> TopAuthorsOut:
    check_period(start, end)
    tenant = principal.tenant_id
    await check_query_exists(deps, tenant, query_id)
    resp = await deps.backends.call(deps.backends.insights.GetTopAuthors, insights_pb2.GetTopAuthorsRequest(
        tenant_id=tenant, start_time=to_timestamp(start), end_time=to_timestamp(end),
        query_id=query_id or "", rank_by=_RANKS[rank_by], limit=limit))
    return TopAuthorsOut(start=start, end=end, query_id=query_id, rank_by=rank_by, authors=[
        TopAuthorOut(platform=a.platform, id=a.author_id or None, handle=a.handle,
                     display_name=a.display_name, verified=a.verified, followers=a.followers,
                     mentions=a.mentions, engagement=a.engagement,
                     sentiment=SentimentCountsOut(negative=a.negative, neutral=a.neutral,
                                                  positive=a.positive),
                     net_sentiment=round(a.net_sentiment, _DIGITS),
                     sample_mention_ids=list(a.sample_mention_ids))
        for a in resp.authors])


@router.get(
    "/posts", response_model=TopPostsOut, summary="Top posts",
    description=(
        "The most engaging mentions of [from, to) (engagement score = likes + 2 x reposts + "
        "replies + quotes; ties: the higher id first), rendered as `GET /v1/mentions` renders "
        f"them. At most {MAX_PERIOD.days} days. Requires `read`."),
    responses=problem_responses(401, 403, 404, 422, 429, 502, 503),
)
async def posts(deps: Deps, principal: ReadPrincipal, start: From, end: To,
                query_id: OneQuery = None,
                limit: Annotated[int, _limit(MAX_POSTS, "posts")] = 10) -> TopPostsOut:
    check_period(start, end)
    tenant = principal.tenant_id
    await check_query_exists(deps, tenant, query_id)
    resp = await deps.backends.call(deps.backends.insights.GetTopPosts, insights_pb2.GetTopPostsRequest(
        tenant_id=tenant, start_time=to_timestamp(start), end_time=to_timestamp(end),
        query_id=query_id or "", limit=limit))
    return TopPostsOut(start=start, end=end, query_id=query_id,
                       posts=[mention_out(m) for m in own_mentions(list(resp.mentions), tenant)])


@router.get(
    "/campaigns", response_model=CampaignsOut, summary="Coordinated campaigns",
    description=(
        "Clusters of near-identical posts by many distinct authors (at least 5 posts from 5 "
        "authors within 3 hours) whose span started in [from, to), most distinct authors first: "
        "each with its span, first post, sample text, common terms, platforms, queries, evidence "
        "mention ids and the `GET /v1/mentions` filters that list the evidence (as the brief's "
        "`coordinated_duplicates` card). Found in a bounded sample of the period spread over it "
        "(`sampled_mentions`): over a long, busy period a campaign with few copies in the sample "
        f"can be missed. At most {MAX_PERIOD.days} days. Requires `read`."),
    responses=problem_responses(401, 403, 404, 422, 429, 502, 503),
)
async def campaigns(deps: Deps, principal: ReadPrincipal, start: From, end: To,
                    query_id: OneQuery = None,
                    limit: Annotated[int, _limit(MAX_CAMPAIGNS, "campaigns")] = 10) -> CampaignsOut:
    check_period(start, end)
    tenant = principal.tenant_id
    await check_query_exists(deps, tenant, query_id)
    resp = await deps.backends.call(deps.backends.insights.GetCampaigns, insights_pb2.GetCampaignsRequest(
        tenant_id=tenant, start_time=to_timestamp(start), end_time=to_timestamp(end),
        query_id=query_id or "", limit=limit))
    return CampaignsOut(start=start, end=end, query_id=query_id, sampled_mentions=resp.sampled_mentions,
                        campaigns=[_campaign(c) for c in resp.campaigns])


def _campaign(c: insights_pb2.Campaign) -> CampaignOut:
    first = c.first_post
    return CampaignOut(
        cluster=c.cluster, posts=c.posts, authors=c.authors, start=from_timestamp(c.start_time),
        end=from_timestamp(c.end_time),
        first_post=CampaignPostOut(mention_id=first.mention_id, author=first.author, text=first.text,
                                   created_at=from_timestamp(first.created_at), platform=first.platform),
        sample_text=c.sample_text, common_terms=list(c.common_terms), platforms=list(c.platforms),
        query_ids=list(c.query_ids), evidence_mention_ids=list(c.evidence_mention_ids),
        filters=dict(c.filters))
