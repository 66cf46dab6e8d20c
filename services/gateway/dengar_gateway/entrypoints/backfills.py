"""Backfill progress on the resources whose changes re-tag stored mentions (queries, categories).

Insights runs the backfills; the routers of those resources read the progress of a page of them in
one ``ListBackfills`` call and attach it to each resource. A resource is still served when insights
cannot answer; its ``backfill`` is null then.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from dengar.v1 import insights_pb2
from dengar_common.grpcerrors import RemoteError
from dengar_gateway.entrypoints.deps import GatewayDeps
from dengar_gateway.entrypoints.mapping import from_timestamp
from dengar_gateway.entrypoints.schemas_queries import BackfillOut

logger = logging.getLogger(__name__)


def backfill_out(job: insights_pb2.Backfill) -> BackfillOut:
    return BackfillOut(
        state=job.state, version=job.target_version, scanned=job.scanned,  # type: ignore[arg-type]  # insights answers one of the literals
        total=max(job.total, job.scanned), matched=job.matched, changed=job.changed,
        since=from_timestamp(job.since) if job.HasField("since") else None,
        started_at=from_timestamp(job.started_at) if job.HasField("started_at") else None,
        finished_at=from_timestamp(job.finished_at) if job.HasField("finished_at") else None,
        error=job.error or None)


def pending(version: int) -> BackfillOut:
    """A backfill scheduled but not yet seen by insights."""
    return BackfillOut(state="pending", version=version, scanned=0, total=0, matched=0, changed=0,
                       since=None, started_at=None, finished_at=None)


async def backfills_of(deps: GatewayDeps, tenant_id: str, kind: str, target_ids: Sequence[str]
                       ) -> dict[str, insights_pb2.Backfill] | None:
    """The backfills of these targets that exist, by target id; None when insights cannot say."""
    if not target_ids:
        return {}
    try:
        found = await deps.backends.call(
            deps.backends.insights.ListBackfills,
            insights_pb2.ListBackfillsRequest(tenant_id=tenant_id, kind=kind, target_ids=list(target_ids)))
    except RemoteError as exc:
        logger.warning("backfill progress of %d %s targets unavailable: %s", len(target_ids), kind, exc)
        return None
    return {j.target_id: j for j in found.backfills}
