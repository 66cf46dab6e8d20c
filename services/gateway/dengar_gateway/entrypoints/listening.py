"""The tenant's listening queries as the routes that compare or name them read them."""

from __future__ import annotations

from dengar.v1 import collector_pb2
from dengar_gateway.entrypoints.deps import Deps

_PAGE_SIZE = 200
_MAX_PAGES = 50


async def list_queries(deps: Deps, tenant: str, role: int = collector_pb2.QUERY_ROLE_UNSPECIFIED
                       ) -> list[collector_pb2.ListeningQuery]:
    """Every listening query of the tenant with ``role`` (unspecified: any), in the collector's order."""
    out: list[collector_pb2.ListeningQuery] = []
    token = ""
    for _ in range(_MAX_PAGES):
        page = await deps.backends.call(deps.backends.queries.ListQueries, collector_pb2.ListQueriesRequest(
            tenant_id=tenant, role=role, page_size=_PAGE_SIZE, page_token=token))  # type: ignore[arg-type]  # int for the proto enum
        # Defence in depth, as for mentions: another tenant's query never names an item here.
        out.extend(q for q in page.queries if not q.tenant_id or q.tenant_id == tenant)
        token = page.next_page_token
        if not token:
            break
    return out
