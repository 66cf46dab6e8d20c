"""An enriched post as a stored mention: validation, the document written, and the proto read back.

The stored document is the post and its enrichment as named fields (so that they can be filtered
and indexed), plus derived fields: ``engagement_score``, ``terms`` (see terms.py) and the mention's
rollup contribution. The embedding is not stored: nothing here reads it and it would dominate the
document size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from dengar.v1 import common_pb2, insights_pb2
from dengar_common.enums import SENTIMENTS, platform_from_name, platform_name, sentiment_name
from dengar_common.ids import is_valid_tenant_id, mention_id
from dengar_common.times import to_millis
from dengar_insights.domain.rollups import Contribution, contribution_of
from dengar_insights.domain.terms import terms_of


class InvalidPost(ValueError):
    """A message that can never become a mention; the worker dead-letters it after its retries."""


@dataclass(frozen=True)
class PreparedMention:
    """Everything the store needs to upsert one mention."""

    id: str
    tenant_id: str
    collected_at: datetime
    # Hash of the enriched post, so that an identical redelivery is recognised as a no-op.
    content_hash: str
    fields: dict[str, Any]
    contribution: Contribution


def engagement_score(e: common_pb2.Engagement) -> int:
    """Interactions weighted by effort: a repost spreads the post, so it counts twice."""
    return int(e.likes + 2 * e.reposts + e.replies + e.quotes)


def parse_enriched(data: bytes) -> common_pb2.EnrichedPost:
    enriched = common_pb2.EnrichedPost()
    try:
        enriched.ParseFromString(data)
    except Exception as exc:  # protobuf raises DecodeError, but also others on odd input
        raise InvalidPost(f"payload is not a dengar.v1.EnrichedPost: {exc}") from exc
    return enriched


def _utc_ms(ts: Any) -> datetime:
    """A protobuf Timestamp as an aware UTC datetime at BSON's millisecond precision."""
    return to_millis(ts.ToDatetime(tzinfo=UTC))


def sentiment_label(s: common_pb2.SentimentResult) -> str:
    """The label, or the highest score when the label was left unspecified."""
    if s.label != common_pb2.SENTIMENT_UNSPECIFIED:
        return sentiment_name(s.label)
    scores = {"negative": s.negative, "neutral": s.neutral, "positive": s.positive}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] > 0 else "neutral"


def rollup_aspects(aspects: Any) -> dict[str, str]:
    """One polarity per aspect name (the most confident), so a mention counts once per aspect."""
    best: dict[str, tuple[float, str]] = {}
    for a in aspects:
        name = a.name.strip()
        if not name:
            continue
        pol = sentiment_name(a.polarity)
        if name not in best or a.confidence > best[name][0]:
            best[name] = (a.confidence, pol)
    return {name: pol for name, (_, pol) in best.items()}


def normalise_language(code: str) -> str:
    return code.strip().lower() or "und"


def content_hash(enriched: common_pb2.EnrichedPost) -> str:
    copy = common_pb2.EnrichedPost()
    copy.CopyFrom(enriched)
    copy.enrichment.ClearField("embedding")
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


def prepare(enriched: common_pb2.EnrichedPost, *, subject_tenant: str | None = None) -> PreparedMention:
    """Validate an enriched post and build its mention document; InvalidPost when it cannot be one."""
    if not enriched.HasField("post"):
        raise InvalidPost("enriched post has no post")
    post, enr = enriched.post, enriched.enrichment
    tenant = post.tenant_id
    if not is_valid_tenant_id(tenant):
        raise InvalidPost(f"invalid tenant_id {tenant!r}")
    # A message on one tenant's subject must not write into another tenant's data.
    if subject_tenant is not None and subject_tenant != tenant:
        raise InvalidPost(f"tenant {tenant!r} does not match the subject's tenant {subject_tenant!r}")
    if not post.external_id or post.platform == common_pb2.PLATFORM_UNSPECIFIED:
        raise InvalidPost("post has no external_id or platform")
    platform = platform_name(post.platform)
    expected = mention_id(tenant, platform, post.external_id)
    if post.id != expected:
        raise InvalidPost(f"post id {post.id!r} does not match its natural key (expected {expected})")
    has_created, has_collected = post.HasField("created_at"), post.HasField("collected_at")
    if not (has_created or has_collected):
        raise InvalidPost("post has neither created_at nor collected_at")
    try:
        # A post without a publication time (some feeds) is placed at its collection time.
        created_at = _utc_ms(post.created_at if has_created else post.collected_at)
        collected_at = _utc_ms(post.collected_at) if has_collected else created_at
    except (ValueError, OverflowError) as exc:
        raise InvalidPost(f"post has an invalid timestamp: {exc}") from exc

    label = sentiment_label(enr.sentiment)
    language = normalise_language(enr.language)
    aspect_polarity = rollup_aspects(enr.aspects)
    a, e = post.author, post.engagement
    fields: dict[str, Any] = {
        "tenant_id": tenant,
        "platform": platform,
        "external_id": post.external_id,
        "text": post.text,
        "title": post.title,
        "url": post.url,
        "lang_hint": post.lang_hint,
        "country": post.country,
        "in_reply_to": post.in_reply_to,
        "quote_of": post.quote_of,
        "repost_of": post.repost_of,
        "source_id": post.source_id,
        "query_ids": list(post.query_ids),
        # Arbitrary keys may contain dots, which MongoDB field names should not: stored as pairs.
        "metadata": [{"k": k, "v": v} for k, v in sorted(post.metadata.items())],
        "created_at": created_at,
        "collected_at": collected_at,
        "author": {"id": a.id, "handle": a.handle, "display_name": a.display_name,
                   "followers": int(a.followers), "verified": a.verified, "location": a.location},
        "engagement": {"likes": int(e.likes), "reposts": int(e.reposts), "replies": int(e.replies),
                       "quotes": int(e.quotes), "views": int(e.views)},
        "engagement_score": engagement_score(e),
        "language": language,
        "language_confidence": float(enr.language_confidence),
        "sentiment": {"label": label, "negative": float(enr.sentiment.negative),
                      "neutral": float(enr.sentiment.neutral),
                      "positive": float(enr.sentiment.positive)},
        "emotion": {"label": enr.emotion.label,
                    "scores": [{"k": k, "v": float(v)} for k, v in sorted(enr.emotion.scores.items())]},
        "aspects": [{"name": x.name, "polarity": sentiment_name(x.polarity),
                     "confidence": float(x.confidence)} for x in enr.aspects],
        "hashtags": list(enr.hashtags),
        "mentions": list(enr.mentions),
        "urls": list(enr.urls),
        "domains": list(enr.domains),
        "cashtags": list(enr.cashtags),
        "emojis": list(enr.emojis),
        "entities": [{"id": x.id, "kind": x.kind, "surface": x.surface, "start": x.start, "end": x.end}
                     for x in enr.entities],
        "neardup_keys": list(enr.neardup_keys),
        "model_version": enr.model_version,
        "terms": terms_of(post.title, post.text, " ".join(enr.hashtags), " ".join(enr.mentions)),
    }
    contribution = contribution_of(tenant, created_at, sentiment=label, aspects=aspect_polarity,
                                   platform=platform, language=language, query_ids=post.query_ids)
    return PreparedMention(id=post.id, tenant_id=tenant, collected_at=collected_at,
                           content_hash=content_hash(enriched), fields=fields,
                           contribution=contribution)


def _ts(dt: datetime | None) -> Timestamp:
    ts = Timestamp()
    if dt is not None:
        ts.FromDatetime(dt.astimezone(UTC))
    return ts


def _pairs(items: Any) -> dict[str, Any]:
    return {p["k"]: p["v"] for p in items or ()}


def to_proto(doc: Mapping[str, Any]) -> insights_pb2.Mention:
    """The stored document as the API's Mention."""
    author = doc.get("author") or {}
    eng = doc.get("engagement") or {}
    sent = doc.get("sentiment") or {}
    emo = doc.get("emotion") or {}
    post = common_pb2.Post(
        id=doc["_id"], tenant_id=doc["tenant_id"], platform=platform_from_name(doc["platform"]),
        external_id=doc.get("external_id", ""), text=doc.get("text", ""),
        created_at=_ts(doc.get("created_at")), collected_at=_ts(doc.get("collected_at")),
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
        neardup_keys=doc.get("neardup_keys") or [], model_version=doc.get("model_version", ""),
    )
    if emo.get("label") or emo.get("scores"):
        enrichment.emotion.CopyFrom(common_pb2.EmotionResult(label=emo.get("label", ""),
                                                             scores=_pairs(emo.get("scores"))))
    return insights_pb2.Mention(id=doc["_id"], tenant_id=doc["tenant_id"], post=post,
                                enrichment=enrichment, updated_at=_ts(doc.get("updated_at")),
                                trace_id=doc.get("trace_id") or "")
