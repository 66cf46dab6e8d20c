"""The monitoring inbox RPCs: proto <-> domain conversion around ``Inbox``.

``InboxRpc`` is mixed into the InsightsService servicer; the tenant id is checked by the server
interceptor, bad input raises ``InvalidArgument`` naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from grpc import aio

from dengar.v1 import insights_pb2
from dengar_common.errors import Unavailable
from dengar_insights.domain.workflow import IGNORED, IN_PROGRESS, OPEN, RESOLVED, WorkflowChange
from dengar_insights.entrypoints.protos import timestamp, workflow_to_proto
from dengar_insights.service_layer.inbox import Inbox
from dengar_insights.service_layer.queries import SearchRequest, search_query


def change_of(msg: insights_pb2.WorkflowChange) -> WorkflowChange:
    return WorkflowChange(
        state=msg.state if msg.HasField("state") else None,
        assignee=msg.assignee if msg.HasField("assignee") else None,
        tags=tuple(msg.tags.tags) if msg.HasField("tags") else None,
        add_tags=tuple(msg.add_tags), remove_tags=tuple(msg.remove_tags), note=msg.note)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class InboxRpc:
    def __init__(self, inbox: Inbox | None,
                 parse_filter: Callable[[insights_pb2.SearchMentionsRequest], SearchRequest]) -> None:
        self._inbox = inbox
        # The search request parser of the InsightsService (bulk changes by filter take its filters).
        self._parse_filter = parse_filter

    def _use(self) -> Inbox:
        if self._inbox is None:
            raise Unavailable("the inbox is not configured")
        return self._inbox

    async def UpdateMentionWorkflow(self, request: insights_pb2.UpdateMentionWorkflowRequest,
                                    context: aio.ServicerContext[Any, Any]) -> insights_pb2.MentionWorkflow:
        wf = await self._use().update(
            request.tenant_id, request.id, change_of(request.change), actor=request.actor,
            expected_version=request.expected_version if request.HasField("expected_version") else None)
        return workflow_to_proto(wf)

    async def BulkUpdateMentionWorkflow(self, request: insights_pb2.BulkUpdateMentionWorkflowRequest,
                                        context: aio.ServicerContext[Any, Any]
                                        ) -> insights_pb2.BulkUpdateMentionWorkflowResponse:
        inbox = self._use()
        ids = list(request.ids)
        if not ids and request.HasField("filter"):
            scoped = insights_pb2.SearchMentionsRequest()
            scoped.CopyFrom(request.filter)
            scoped.tenant_id = request.tenant_id
            scoped.ClearField("page_token")
            ids = await inbox.matching_ids(request.tenant_id, search_query(self._parse_filter(scoped)))
            if not ids:
                return insights_pb2.BulkUpdateMentionWorkflowResponse()
        done, missing = await inbox.bulk_update(request.tenant_id, ids, change_of(request.change),
                                                actor=request.actor)
        return insights_pb2.BulkUpdateMentionWorkflowResponse(updated_ids=done, missing_ids=missing)

    async def GetInboxCounts(self, request: insights_pb2.GetInboxCountsRequest,
                             context: aio.ServicerContext[Any, Any]) -> insights_pb2.GetInboxCountsResponse:
        c = await self._use().counts(request.tenant_id)
        return insights_pb2.GetInboxCountsResponse(open=c[OPEN], in_progress=c[IN_PROGRESS],
                                                   resolved=c[RESOLVED], ignored=c[IGNORED])

    async def ListMentionAudit(self, request: insights_pb2.ListMentionAuditRequest,
                               context: aio.ServicerContext[Any, Any]
                               ) -> insights_pb2.ListMentionAuditResponse:
        entries = await self._use().audit(request.tenant_id, request.id, request.limit or 500)
        return insights_pb2.ListMentionAuditResponse(entries=[
            insights_pb2.MentionAuditEntry(actor=e.get("actor", ""), at=timestamp(e.get("at")),
                                           field=e.get("field", ""), old_json=_json(e.get("old")),
                                           new_json=_json(e.get("new")), version=int(e.get("version", 0)))
            for e in entries])
