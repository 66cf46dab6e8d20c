"""The boundary between ``dengar.v1.Post`` messages and the domain's view of a post.

Connectors, file imports and webhooks produce ``dengar.v1.Post`` messages and the bus takes them, so
the use cases carry those messages; the domain's rules read ``PostFields`` built here, and the
fields the collector owns (tenant, id, collection time, source) are written back here.
"""

from __future__ import annotations

from datetime import datetime

from dengar.v1 import common_pb2
from dengar_collector.domain.ingest import DEFAULT_SOURCE_ID
from dengar_collector.domain.post import PostFields
from dengar_common.enums import platform_name
from dengar_common.post_contract import fields_from_proto
from dengar_common.query import MatchDoc


def post_fields(post: common_pb2.Post) -> PostFields:
    """The contract's view of a post (the one the domain's rules read)."""
    return fields_from_proto(post)


def match_doc(post: common_pb2.Post) -> MatchDoc:
    """The post as the query matcher reads it (without building the whole ``PostFields``)."""
    return MatchDoc.build(post.text, title=post.title, platform=platform_name(post.platform),
                          lang=post.lang_hint, author=post.author.handle, url=post.url)


def normalised(post: common_pb2.Post, *, tenant_id: str, post_id: str, now: datetime,
               source_id: str | None = None) -> common_pb2.Post:
    """A copy of a valid post with the fields the collector owns filled in.

    The request's tenant is authoritative (the gateway authenticated it); a tenant_id inside the post
    is never trusted. ``source_id`` overrides the post's own (a source or import owns what it collects).
    """
    out = common_pb2.Post()
    out.CopyFrom(post)
    out.tenant_id = tenant_id
    out.id = post_id
    out.collected_at.FromDatetime(now)
    if source_id:
        out.source_id = source_id
    elif not out.source_id:
        out.source_id = DEFAULT_SOURCE_ID
    return out
