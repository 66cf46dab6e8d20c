"""An enriched post as a stored mention: validation and the document written.

The stored document is the post and its enrichment as named fields (so that they can be filtered
and indexed), plus derived fields: ``engagement_score``, ``terms`` (see terms.py) and the mention's
rollup contribution. The sentence embedding is stored in its compact int8 form (``embedding``,
384 bytes; see dengar_common.embedding) for topics and example-based categories, and only when
the post has one; readers of mentions never get it. ``category_ids`` are the tenant's categories
the mention belongs to at ingest (domain/categories.py: expression match or embedding
similarity), counted in the rollups like listening queries. The API's ``Mention`` is built from
that document at the gRPC entrypoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dengar_common.ids import is_valid_tenant_id, mention_id
from dengar_common.query import MatchDoc
from dengar_common.times import to_millis
from dengar_insights.domain import neardup
from dengar_insights.domain.categories import EMPTY_SET, CategorySet, mention_match_doc
from dengar_insights.domain.post import Aspect, Engagement, EnrichedPost, Sentiment
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


def engagement_score(e: Engagement) -> int:
    """Interactions weighted by effort: a repost spreads the post, so it counts twice."""
    return int(e.likes + 2 * e.reposts + e.replies + e.quotes)


def sentiment_label(s: Sentiment) -> str:
    """The label, or the highest score when the label was left unspecified."""
    if s.label:
        return s.label
    scores = {"negative": s.negative, "neutral": s.neutral, "positive": s.positive}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] > 0 else "neutral"


def rollup_aspects(aspects: Iterable[Aspect]) -> dict[str, str]:
    """One polarity per aspect name (the most confident), so a mention counts once per aspect."""
    best: dict[str, tuple[float, str]] = {}
    for a in aspects:
        name = a.name.strip()
        if not name:
            continue
        if name not in best or a.confidence > best[name][0]:
            best[name] = (a.confidence, a.polarity)
    return {name: pol for name, (_, pol) in best.items()}


def normalise_language(code: str) -> str:
    return code.strip().lower() or "und"


def prepare(enriched: EnrichedPost, *, subject_tenant: str | None = None,
            categories: CategorySet = EMPTY_SET) -> PreparedMention:
    """Validate an enriched post and build its mention document; InvalidPost when it cannot be one.

    ``categories``: the tenant's categories, to assign the mention to.
    """
    if enriched.post is None:
        raise InvalidPost("enriched post has no post")
    post, enr = enriched.post, enriched.enrichment
    tenant = post.tenant_id
    if not is_valid_tenant_id(tenant):
        raise InvalidPost(f"invalid tenant_id {tenant!r}")
    # A message on one tenant's subject must not write into another tenant's data.
    if subject_tenant is not None and subject_tenant != tenant:
        raise InvalidPost(f"tenant {tenant!r} does not match the subject's tenant {subject_tenant!r}")
    if not post.external_id or not post.platform:
        raise InvalidPost("post has no external_id or platform")
    platform = post.platform
    expected = mention_id(tenant, platform, post.external_id)
    if post.id != expected:
        raise InvalidPost(f"post id {post.id!r} does not match its natural key (expected {expected})")
    # A post without a publication time (some feeds) is placed at its collection time.
    first = post.created_at or post.collected_at
    if first is None:
        raise InvalidPost("post has neither created_at nor collected_at")
    created_at = to_millis(first)
    collected_at = to_millis(post.collected_at) if post.collected_at is not None else created_at

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
        "aspects": [{"name": x.name, "polarity": x.polarity,
                     "confidence": float(x.confidence)} for x in enr.aspects],
        "hashtags": list(enr.signals.hashtags),
        "mentions": list(enr.signals.mentions),
        "urls": list(enr.signals.urls),
        "domains": list(enr.signals.domains),
        "cashtags": list(enr.signals.cashtags),
        "emojis": list(enr.signals.emojis),
        "entities": [{"id": x.id, "kind": x.kind, "surface": x.surface, "start": x.start, "end": x.end}
                     for x in enr.entities],
        "neardup_keys": neardup.pack(enr.neardup_keys),
        "model_version": enr.model_version,
        "terms": terms_of(post.title, post.text, " ".join(enr.signals.hashtags),
                          " ".join(enr.signals.mentions)),
    }
    if enr.embedding_i8:
        fields["embedding"] = enr.embedding_i8
    category_ids = categories.match(mention_match_doc(fields), enr.embedding_i8) if len(categories) else ()
    fields["category_ids"] = list(category_ids)
    contribution = contribution_of(tenant, created_at, sentiment=label, aspects=aspect_polarity,
                                   platform=platform, language=language, query_ids=post.query_ids,
                                   category_ids=category_ids)
    return PreparedMention(id=post.id, tenant_id=tenant, collected_at=collected_at,
                           content_hash=enriched.content_hash, fields=fields,
                           contribution=contribution)


def stored_contribution(doc: Mapping[str, Any], **tags: Iterable[str]) -> Contribution:
    """The rollup contribution of a stored mention document, as ``prepare`` computed it, with
    tag fields replaced by ``tags`` (e.g. ``query_ids=[...]``) where given (a re-tag)."""
    sentiment = doc.get("sentiment") or {}
    aspects = rollup_aspects(Aspect(name=str(a.get("name", "")), polarity=str(a.get("polarity", "")),
                                    confidence=float(a.get("confidence", 0.0)))
                             for a in doc.get("aspects") or ())
    query_ids = tags.get("query_ids", doc.get("query_ids") or ())
    category_ids = tags.get("category_ids", doc.get("category_ids") or ())
    return contribution_of(doc["tenant_id"], doc["created_at"], sentiment=str(sentiment.get("label", "")),
                           aspects=aspects, platform=str(doc.get("platform", "")),
                           language=str(doc.get("language", "")), query_ids=query_ids,
                           category_ids=category_ids)


def match_doc_of(doc: Mapping[str, Any]) -> MatchDoc:
    """A stored mention as the listening-query matcher reads it: the same fields the collector
    tags a post by (its language hint, not the detected language), so a backfill agrees with
    the tags new posts get."""
    return mention_match_doc(doc, detected_language=False)
