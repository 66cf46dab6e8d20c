"""GET /v1/mentions/export: every mention matching the filters of /v1/mentions, as CSV or NDJSON.

The response is streamed page by page: the gateway pages insights' SearchMentions (keyset pages of
200, each one index range read) and writes each page before asking for the next, so memory stays
one page whatever the number of rows, and a slow client only slows the paging down (no server-side
cursor is held open between pages, so nothing times out on the store). The first page is read
before the response starts, so bad filters and a down backend still answer problem+json; a backend
failure later can only cut the stream short (the chunked body then ends without its last chunk,
which clients report as an incomplete transfer).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from dengar.v1 import insights_pb2
from dengar_gateway.entrypoints.deps import Deps, ReadPrincipal
from dengar_gateway.entrypoints.export_rows import csv_header, csv_row, ndjson_row
from dengar_gateway.entrypoints.mapping import mention_out
from dengar_gateway.entrypoints.problems import problem_responses
from dengar_gateway.entrypoints.routers.mentions import MentionFilters, own_mentions

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/mentions", tags=["mentions"])

PAGE_SIZE = 200
_MEDIA = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}
_SORTS = {"-time": insights_pb2.SORT_ORDER_TIME_DESC, "time": insights_pb2.SORT_ORDER_TIME_ASC}


@router.get(
    "/export", summary="Export mentions",
    description=(
        "Every mention matching the filters (the same as `GET /v1/mentions`) as `csv` (flat "
        "columns, UTF-8 with a BOM) or `ndjson` (one mention as in `GET /v1/mentions/{id}` per "
        "line), streamed in constant memory, newest first (`sort=time`: oldest first). Requires "
        "`read`."),
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}},
                     "description": "The rows, streamed."},
               **problem_responses(400, 401, 403, 422, 429, 502, 503)},
)
async def export_mentions(
    deps: Deps, principal: ReadPrincipal, request: MentionFilters,
    fmt: Annotated[Literal["csv", "ndjson"], Query(alias="format", description="csv or ndjson")] = "csv",
    sort: Annotated[Literal["-time", "time"], Query()] = "-time",
) -> StreamingResponse:
    request.page_size, request.sort = PAGE_SIZE, _SORTS[sort]
    search = deps.backends.insights.SearchMentions
    first = await deps.backends.call(search, request)
    render = csv_row if fmt == "csv" else ndjson_row

    async def body() -> AsyncIterator[bytes]:
        page, rows = first, 0
        if fmt == "csv":
            yield csv_header()
        while True:
            chunk = b"".join(render(mention_out(m)) for m in own_mentions(page.mentions, principal.tenant_id))
            rows += len(page.mentions)
            if chunk:
                yield chunk
            if not page.next_page_token:
                break
            request.page_token = page.next_page_token
            page = await deps.backends.call(search, request)
        logger.info("export of %d mentions of %s (%s) by key %s", rows, principal.tenant_id, fmt,
                    principal.key_id)

    filename = f"mentions.{fmt}"
    return StreamingResponse(body(), media_type=_MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
