"""dengar.v1 messages <-> insights domain values: the enriched post read off the bus, the Mention
answered over gRPC. The only place in the service that knows the wire format of a mention."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from dengar.v1 import common_pb2, insights_pb2
from dengar_common.enums import SENTIMENTS, platform_from_name, platform_name, sentiment_name
from dengar_insights.domain import neardup, workflow
from dengar_insights.domain import post as dom
from dengar_insights.domain.categories import EMPTY_SET, CategorySet
from dengar_insights.domain.mention import InvalidPost, PreparedMention, prepare


def parse_enriched(data: bytes) -> common_pb2.EnrichedPost:
    enriched = common_pb2.EnrichedPost()
    try:
        enriched.ParseFromString(data)
    except Exception as exc:  # protobuf raises DecodeError, but also others on odd input
        raise InvalidPost(f"payload is not a dengar.v1.EnrichedPost: {exc}") from exc
    return enriched


def content_hash(enriched: common_pb2.EnrichedPost) -> str:
    """Hash of the payload without its float32 embedding (never stored; the int8 one counts)."""
    copy = common_pb2.EnrichedPost()
    copy.CopyFrom(enriched)
    copy.enrichment.ClearField("embedding")
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


def optional_time(msg: Any, field: str) -> datetime | None:
    """A Timestamp field as an aware UTC datetime, None when unset; ValueError when out of range."""
    if not msg.HasField(field):
        return None
    try:
        dt: datetime = getattr(msg, field).ToDatetime(tzinfo=UTC)
    except OverflowError as exc:
        raise ValueError(str(exc)) from exc
    return dt


def _post_time(post: common_pb2.Post, field: str) -> datetime | None:
    try:
        return optional_time(post, field)
    except ValueError as exc:
        raise InvalidPost(f"post has an invalid timestamp: {exc}") from exc


def _sentiment_label(value: int) -> str:
    return "" if value == common_pb2.SENTIMENT_UNSPECIFIED else sentiment_name(value)


def enriched_from_proto(enriched: common_pb2.EnrichedPost) -> dom.EnrichedPost:
    """The domain's enriched post; InvalidPost when a timestamp is out of range."""
    enr = enriched.enrichment
    post: dom.Post | None = None
    if enriched.HasField("post"):
        p, a, e = enriched.post, enriched.post.author, enriched.post.engagement
        post = dom.Post(
            id=p.id, tenant_id=p.tenant_id,
            platform="" if p.platform == common_pb2.PLATFORM_UNSPECIFIED else platform_name(p.platform),
            external_id=p.external_id, text=p.text, title=p.title, url=p.url, lang_hint=p.lang_hint,
            country=p.country, in_reply_to=p.in_reply_to, quote_of=p.quote_of,
            repost_of=p.repost_of, source_id=p.source_id, query_ids=tuple(p.query_ids),
            metadata=dict(p.metadata), created_at=_post_time(p, "created_at"),
            collected_at=_post_time(p, "collected_at"),
            author=dom.Author(id=a.id, handle=a.handle, display_name=a.display_name,
                              followers=a.followers, verified=a.verified, location=a.location),
            engagement=dom.Engagement(likes=e.likes, reposts=e.reposts, replies=e.replies,
                                      quotes=e.quotes, views=e.views))
    s = enr.sentiment
    return dom.EnrichedPost(post=post, content_hash=content_hash(enriched), enrichment=dom.Enrichment(
        language=enr.language, language_confidence=enr.language_confidence,
        sentiment=dom.Sentiment(label=_sentiment_label(s.label), negative=s.negative,
                                neutral=s.neutral, positive=s.positive),
        emotion=dom.Emotion(label=enr.emotion.label, scores=dict(enr.emotion.scores)),
        aspects=tuple(dom.Aspect(name=x.name, polarity=sentiment_name(x.polarity),
                                 confidence=x.confidence) for x in enr.aspects),
        signals=dom.Signals(hashtags=tuple(enr.hashtags), mentions=tuple(enr.mentions),
                            urls=tuple(enr.urls), domains=tuple(enr.domains),
                            cashtags=tuple(enr.cashtags), emojis=tuple(enr.emojis)),
        entities=tuple(dom.Entity(id=x.id, kind=x.kind, surface=x.surface, start=x.start, end=x.end)
                       for x in enr.entities),
        neardup_keys=tuple(enr.neardup_keys), model_version=enr.model_version,
        embedding_i8=bytes(enr.embedding_i8)))


def prepare_enriched(enriched: common_pb2.EnrichedPost, *, subject_tenant: str | None = None,
                     categories: CategorySet = EMPTY_SET) -> PreparedMention:
    """The mention an enriched post message becomes; InvalidPost when it can never be one."""
    return prepare(enriched_from_proto(enriched), subject_tenant=subject_tenant, categories=categories)


def timestamp(dt: datetime | None) -> Timestamp:
    ts = Timestamp()
    if dt is not None:
        ts.FromDatetime(dt.astimezone(UTC))
    return ts


def _pairs(items: Any) -> dict[str, Any]:
    return {p["k"]: p["v"] for p in items or ()}


def mention_to_proto(doc: Mapping[str, Any]) -> insights_pb2.Mention:
    """The stored document as the API's Mention."""
    author = doc.get("author") or {}
    eng = doc.get("engagement") or {}
    sent = doc.get("sentiment") or {}
    emo = doc.get("emotion") or {}
    post = common_pb2.Post(
        id=doc["_id"], tenant_id=doc["tenant_id"], platform=platform_from_name(doc["platform"]),
        external_id=doc.get("external_id", ""), text=doc.get("text", ""),
        created_at=timestamp(doc.get("created_at")), collected_at=timestamp(doc.get("collected_at")),
        author=common_pb2.Author(**{k: author.get(k) for k in
                                    ("id", "handle", "display_name", "followers", "verified", "location")
                                    if author.get(k) is not None}),
        engagement=common_pb2.Engagement(**{k: int(v) for k, v in eng.items()}),
        url=doc.get("url", ""), lang_hint=doc.get("lang_hint", ""),
        in_reply_to=doc.get("in_reply_to", ""), quote_of=doc.get("quote_of", ""),
        repost_of=doc.get("repost_of", ""), source_id=doc.get("source_id", ""),
        query_ids=doc.get("query_ids") or [], title=doc.get("title", ""),
        country=doc.get("country", ""), metadata=_pairs(doc.get("metadata")),
    )
    enrichment = common_pb2.Enrichment(
        language=doc.get("language", ""), language_confidence=doc.get("language_confidence", 0.0),
        sentiment=common_pb2.SentimentResult(
            label=SENTIMENTS.get(sent.get("label", ""), common_pb2.SENTIMENT_UNSPECIFIED),
            negative=sent.get("negative", 0.0), neutral=sent.get("neutral", 0.0),
            positive=sent.get("positive", 0.0)),
        aspects=[common_pb2.AspectResult(
            name=x["name"], polarity=SENTIMENTS.get(x.get("polarity", ""),
                                                    common_pb2.SENTIMENT_UNSPECIFIED),
            confidence=x.get("confidence", 0.0)) for x in doc.get("aspects") or ()],
        hashtags=doc.get("hashtags") or [], mentions=doc.get("mentions") or [],
        urls=doc.get("urls") or [], domains=doc.get("domains") or [],
        cashtags=doc.get("cashtags") or [], emojis=doc.get("emojis") or [],
        entities=[common_pb2.EntityMatch(**x) for x in doc.get("entities") or ()],
        neardup_keys=neardup.keys_of(doc), model_version=doc.get("model_version", ""),
    )
    if emo.get("label") or emo.get("scores"):
        enrichment.emotion.CopyFrom(common_pb2.EmotionResult(label=emo.get("label", ""),
                                                             scores=_pairs(emo.get("scores"))))
    return insights_pb2.Mention(id=doc["_id"], tenant_id=doc["tenant_id"], post=post,
                                enrichment=enrichment, updated_at=timestamp(doc.get("updated_at")),
                                trace_id=doc.get("trace_id") or "",
                                category_ids=doc.get("category_ids") or [],
                                workflow=workflow_to_proto(doc.get("workflow")))


def workflow_to_proto(stored: Mapping[str, Any] | None) -> insights_pb2.MentionWorkflow:
    """A stored workflow sub-document (or none: open, version 0) as the API's MentionWorkflow."""
    wf = workflow.current(stored)
    out = insights_pb2.MentionWorkflow(state=wf["state"], assignee=wf["assignee"], tags=wf["tags"],
                                       version=wf["version"], updated_by=wf["updated_by"])
    if wf["updated_at"] is not None:
        out.updated_at.CopyFrom(timestamp(wf["updated_at"]))
    for n in wf["notes"]:
        out.notes.add(author=n.get("author", ""), text=n.get("text", ""),
                      created_at=timestamp(n.get("created_at")))
    return out
