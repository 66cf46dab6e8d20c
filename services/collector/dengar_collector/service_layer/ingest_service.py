"""The collector's service layer: the one path every post takes into the bus.

Push (IngestPosts), signed webhooks, file imports and pull sources all call
:meth:`IngestService.ingest`, so that validation, listening-query tagging and publishing are the same
whichever way a post arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from dengar.v1 import common_pb2
from dengar_collector.domain.ingest import IngestPlan, check_request, plan_ingest
from dengar_collector.service_layer.ports import DeletedTenants, NoTagger, PostPublisher, PostTagger
from dengar_collector.service_layer.post_proto import normalised, post_fields

logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class IngestService:
    def __init__(self, publisher: PostPublisher, *, tagger: PostTagger | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 deleted_tenants: DeletedTenants | None = None) -> None:
        self._publisher = publisher
        self._deleted = deleted_tenants
        self._tagger: PostTagger = tagger or NoTagger()
        self._clock = clock

    async def ingest(self, tenant_id: str, posts: Sequence[common_pb2.Post], *,
                     source_id: str | None = None) -> tuple[IngestPlan, int]:
        """Validate, tag and publish one batch; return the plan and how many posts were new.

        Raises ``RequestError`` for a malformed request (bad tenant, more than
        ``MAX_POSTS_PER_REQUEST`` posts) and ``PublishError`` when the bus did not confirm every post;
        publishing is idempotent per post, so the caller may retry the whole batch.
        ``source_id`` overrides the posts' own (a source or import owns what it collects).
        """
        check_request(tenant_id, len(posts))
        now = self._clock()
        plan = plan_ingest(tenant_id, [post_fields(p) for p in posts], now=now)
        to_publish = [normalised(posts[a.index], tenant_id=tenant_id, post_id=a.post_id, now=now,
                                 source_id=source_id) for a in plan.to_publish]
        if to_publish and self._deleted is not None and await self._deleted.is_deleted(tenant_id):
            # A source run, import or webhook still in flight when the tenant was deleted.
            logger.info("tenant %s is deleted: dropped %d posts", tenant_id, len(to_publish))
            return plan, 0
        if to_publish:
            await self._tagger.tag(tenant_id, to_publish)
        new = await self._publisher.publish(tenant_id, to_publish)
        logger.debug("tenant %s: %d accepted (%d new, %d repeated in batch), %d rejected",
                     tenant_id, plan.accepted, new, plan.duplicates, plan.rejected)
        return plan, new
