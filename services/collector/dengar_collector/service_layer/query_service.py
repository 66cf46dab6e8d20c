"""The listening-query service layer: validates requests, stores records, tells the tagger.

Every expression is compiled before anything is written, so a stored query always compiles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from dengar_collector.domain.listening_query import (
    QueryChanges,
    QueryNotFoundError,
    QueryPage,
    QueryRecord,
    QueryRepository,
    check_expression,
    check_role,
    check_tenant,
    clean_name,
    decode_page_token,
    encode_page_token,
    name_key,
    new_query_id,
    page_size,
)
from dengar_common.query import QueryRole, QuerySyntaxError
from dengar_common.times import utcnow_ms

logger = logging.getLogger(__name__)


def _no_listener(tenant_id: str) -> None:
    return None


class QueryManager:
    """``on_change(tenant_id)`` runs after every write attempt (e.g. ``QueryTagger.invalidate``)."""

    def __init__(self, repo: QueryRepository, *, on_change: Callable[[str], None] = _no_listener,
                 clock: Callable[[], datetime] = utcnow_ms) -> None:
        self._repo = repo
        self._on_change = on_change
        self._clock = clock

    async def create(self, tenant_id: str, *, name: str, role: str, expression: str,
                     enabled: bool = True) -> QueryRecord:
        check_tenant(tenant_id)
        cleaned = clean_name(name)
        checked_role = check_role(role)
        check_expression(expression)
        now = self._clock()
        record = QueryRecord(id=new_query_id(), tenant_id=tenant_id, name=cleaned, role=checked_role,
                             expression=expression, enabled=enabled, created_at=now, updated_at=now,
                             version=1)
        try:
            await self._repo.insert(tenant_id, record)
        finally:
            # Also after a failure: the write may have happened, and a needless reload is cheap.
            self._on_change(tenant_id)
        logger.info("tenant %s: query %s (%s) created", tenant_id, record.id, checked_role)
        return record

    async def get(self, tenant_id: str, query_id: str) -> QueryRecord:
        check_tenant(tenant_id)
        record = await self._repo.get(tenant_id, query_id) if query_id else None
        if record is None:
            raise QueryNotFoundError(query_id)
        return record

    async def list(self, tenant_id: str, *, role: QueryRole | None, size: int, token: str) -> QueryPage:
        check_tenant(tenant_id)
        limit = page_size(size)
        after = decode_page_token(token, role) if token else None
        # One more than asked tells whether another page exists without a second query.
        records = await self._repo.list_page(tenant_id, role=role, after=after, limit=limit + 1)
        if len(records) <= limit:
            return QueryPage(records, "")
        page = records[:limit]
        return QueryPage(page, encode_page_token(name_key(page[-1].name), role))

    async def update(self, tenant_id: str, query_id: str, changes: QueryChanges) -> QueryRecord:
        check_tenant(tenant_id)
        checked = QueryChanges(
            name=clean_name(changes.name) if changes.name is not None else None,
            role=check_role(changes.role) if changes.role is not None else None,
            expression=changes.expression, enabled=changes.enabled)
        if checked.expression is not None:
            check_expression(checked.expression)
        if not query_id:
            raise QueryNotFoundError(query_id)
        try:
            record = await self._repo.update(tenant_id, query_id, checked, self._clock())
        finally:
            if not checked.is_empty():
                self._on_change(tenant_id)
        if record is None:
            raise QueryNotFoundError(query_id)
        logger.info("tenant %s: query %s updated", tenant_id, query_id)
        return record

    async def delete(self, tenant_id: str, query_id: str) -> None:
        check_tenant(tenant_id)
        if not query_id:
            raise QueryNotFoundError(query_id)
        try:
            deleted = await self._repo.delete(tenant_id, query_id)
        finally:
            self._on_change(tenant_id)
        if not deleted:
            raise QueryNotFoundError(query_id)
        logger.info("tenant %s: query %s deleted", tenant_id, query_id)

    @staticmethod
    def validate(expression: str) -> QuerySyntaxError | None:
        """The problem with ``expression``, or None when it compiles."""
        try:
            check_expression(expression)
        except QuerySyntaxError as exc:
            return exc
        return None
