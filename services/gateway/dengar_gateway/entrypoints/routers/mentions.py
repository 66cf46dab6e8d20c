"""GET /v1/mentions and /v1/mentions/{id}: search the tenant's enriched posts."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from dengar.v1 import insights_pb2
from dengar_common.enums import platform_from_name, sentiment_from_name
from dengar_gateway.entrypoints.deps import Deps, ReadPrincipal
from dengar_gateway.entrypoints.mapping import mention_out, to_timestamp
from dengar_gateway.entrypoints.params import (
    QueryTime,
    category_ids,
    check_range,
    parse_values,
    query_error,
    query_ids,
    split_list,
)
from dengar_gateway.entrypoints.problems import ApiProblem, problem_responses
from dengar_gateway.entrypoints.schemas import MentionOut, MentionPage

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/mentions", tags=["mentions"])

_SORTS = {
    "-time": insights_pb2.SORT_ORDER_TIME_DESC,
    "time": insights_pb2.SORT_ORDER_TIME_ASC,
    "engagement": insights_pb2.SORT_ORDER_ENGAGEMENT_DESC,
}


_STATES = ("open", "in_progress", "resolved", "ignored")
_MAX_WORKFLOW_VALUES = 20


def _workflow_values(name: str, values: list[str] | None, max_chars: int) -> list[str]:
    out = split_list(values)
    if len(out) > _MAX_WORKFLOW_VALUES:
        raise query_error(name, f"at most {_MAX_WORKFLOW_VALUES} values, got {len(out)}", len(out))
    for value in out:
        if len(value) > max_chars:
            raise query_error(name, f"longer than {max_chars} characters", value)
    return out


async def mention_filters(
    start: Annotated[QueryTime | None, Query(alias="from", description="Created at or after (RFC 3339).")]
    = None,
    end: Annotated[QueryTime | None, Query(alias="to", description="Created before (RFC 3339).")] = None,
    sentiment: Annotated[list[str] | None, Query(description="negative, neutral, positive")] = None,
    platform: Annotated[list[str] | None, Query(description="Platform names, e.g. x, reddit")] = None,
    lang: Annotated[list[str] | None, Query(description="ISO 639-1 codes, e.g. en, id")] = None,
    aspect: Annotated[list[str] | None, Query(description="Aspect ids, e.g. delivery, price")] = None,
    query_id: Annotated[list[str] | None, Query(description="Listening query ids (at most 50)")] = None,
    category_id: Annotated[list[str] | None, Query(description="Category ids (at most 50)")] = None,
    q: Annotated[str | None, Query(max_length=500, description="Full-text query")] = None,
    state: Annotated[list[str] | None, Query(
        description="Inbox workflow states: open, in_progress, resolved, ignored")] = None,
    assignee: Annotated[list[str] | None, Query(description="Inbox assignees (user ids)")] = None,
    tag: Annotated[list[str] | None, Query(description="Inbox tags")] = None,
) -> insights_pb2.SearchMentionsRequest:
    """The filters shared by the search, the export, the live stream and the bulk inbox change
    (the route sets the caller's tenant: this dependency checks no scope)."""
    check_range(start, end)
    states = [v.lower() for v in split_list(state)]
    for value in states:
        if value not in _STATES:
            raise query_error("state", f"must be one of {', '.join(_STATES)}", value)
    request = insights_pb2.SearchMentionsRequest(
        sentiments=parse_values("sentiment", split_list(sentiment), sentiment_from_name),  # type: ignore[arg-type]  # ints for the proto enum
        platforms=parse_values("platform", split_list(platform), platform_from_name),  # type: ignore[arg-type]  # ints for the proto enum
        languages=[v.lower() for v in split_list(lang)], aspects=split_list(aspect),
        query=(q or "").strip(), query_ids=query_ids(query_id), category_ids=category_ids(category_id),
        workflow_states=states, assignees=_workflow_values("assignee", assignee, 128),
        tags=[v.lower() for v in _workflow_values("tag", tag, 40)],
    )
    if start is not None:
        request.start_time.CopyFrom(to_timestamp(start))
    if end is not None:
        request.end_time.CopyFrom(to_timestamp(end))
    return request


MentionFilters = Annotated[insights_pb2.SearchMentionsRequest, Depends(mention_filters)]


def own_mentions(mentions: Iterable[insights_pb2.Mention], tenant_id: str) -> Iterator[insights_pb2.Mention]:
    for mention in mentions:
        # Defence in depth: insights filters by tenant; a mention of another tenant is a bug there
        # and must never reach this caller.
        if mention.tenant_id and mention.tenant_id != tenant_id:
            logger.error("insights returned mention %s of another tenant; dropped", mention.id)
            continue
        yield mention


@router.get(
    "", response_model=MentionPage, summary="Search mentions",
    description=(
        "The tenant's posts with their enrichment, filtered and paginated. List parameters "
        "(`sentiment`, `platform`, `lang`, `aspect`, `query_id`, `category_id`, `state`, `assignee`, "
        "`tag`) may be repeated or "
        "comma-separated; `query_id` keeps the mentions tagged with any of those listening queries, "
        "`category_id` those in any of those categories (see /v1/categories); `state`, `assignee` "
        "and `tag` filter by the monitoring inbox's workflow (a mention never touched is `open`). "
        "Values of "
        "one parameter are OR-ed, parameters are AND-ed. `q` is a full-text query: every word must "
        "occur (case- and diacritic-insensitive).\n\n"
        "`sort`: `-time` newest first (default), `time` oldest first, `engagement` most engaged "
        "first. Follow `next_cursor` (passing the same filters) until it is null. Requires `read`."
    ),
    responses=problem_responses(400, 401, 403, 422, 429, 502, 503),
)
async def search_mentions(
    deps: Deps, principal: ReadPrincipal, request: MentionFilters,
    sort: Annotated[Literal["-time", "time", "engagement"], Query()] = "-time",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048, description="`next_cursor` of the previous page")]
    = None,
) -> MentionPage:
    request.tenant_id = principal.tenant_id
    request.page_size, request.page_token, request.sort = limit, cursor or "", _SORTS[sort]
    response = await deps.backends.call(deps.backends.insights.SearchMentions, request)
    data = [mention_out(m) for m in own_mentions(response.mentions, principal.tenant_id)]
    return MentionPage(data=data, next_cursor=response.next_page_token or None)


@router.get("/{mention_id}", response_model=MentionOut, summary="Get one mention",
            description="Requires the `read` scope.",
            responses=problem_responses(401, 403, 404, 429, 502, 503))
async def get_mention(
    deps: Deps, principal: ReadPrincipal,
    mention_id: Annotated[str, Path(max_length=128, description="The mention id")],
) -> MentionOut:
    mention = await deps.backends.call(deps.backends.insights.GetMention,
        insights_pb2.GetMentionRequest(tenant_id=principal.tenant_id, id=mention_id))
    if mention.tenant_id and mention.tenant_id != principal.tenant_id:
        logger.error("insights returned mention %s of another tenant; hidden", mention_id)
        raise ApiProblem(404, "no such mention")
    return mention_out(mention)
