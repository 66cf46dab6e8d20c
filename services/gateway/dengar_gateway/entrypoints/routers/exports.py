"""GET /v1/mentions/export: every mention matching the filters of /v1/mentions, as CSV or NDJSON.

The rows come from insights' server-streaming ExportMentions: one store cursor read in batches of
200, each batch written out before the next is asked for (gRPC flow control carries the client's
pace back to the cursor), so memory stays one batch whatever the number of rows. Paging
SearchMentions from here would do the same in memory but costs one store query per page, and on
a store without index-ordered range reads (SecantusDB) each query scans the tenant: quadratic (see
bench/bench_export.py). The first batch is read before the response starts, so bad filters and a
down backend still answer problem+json; a failure later can only cut the stream short (the chunked
body then ends without its last chunk, which clients report as an incomplete transfer).
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
    request.tenant_id, request.sort = principal.tenant_id, _SORTS[sort]
    batches = deps.backends.stream(deps.backends.insights.ExportMentions, request,
                                   idle_timeout_s=deps.config.export_idle_timeout_s)
    first = await anext(batches, None)
    render = csv_row if fmt == "csv" else ndjson_row

    async def body() -> AsyncIterator[bytes]:
        batch, rows = first, 0
        try:
            if fmt == "csv":
                yield csv_header()
            while batch is not None:
                chunk = b"".join(render(mention_out(m))
                                 for m in own_mentions(batch.mentions, principal.tenant_id))
                rows += len(batch.mentions)
                if chunk:
                    yield chunk
                batch = await anext(batches, None)
        finally:
            await batches.aclose()
        logger.info("export of %d mentions of %s (%s) by key %s", rows, principal.tenant_id, fmt,
                    principal.key_id)

    filename = f"mentions.{fmt}"
    return StreamingResponse(body(), media_type=_MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
