"""Translation between the REST shapes and the dengar.v1 protos, both ways."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from dengar.v1 import collector_pb2, common_pb2, insights_pb2
from dengar_common.enums import (
    PLATFORM_NAMES,
    PLATFORMS,
    SENTIMENT_NAMES,
    platform_name,
)
from dengar_common.postjson import ItemError, merge_item_errors
from dengar_gateway.entrypoints.schemas import (
    AnalysisOut,
    AspectCounts,
    AspectOut,
    AuthorOut,
    EmotionOut,
    EngagementOut,
    EntityOut,
    IngestResult,
    LanguageCount,
    MentionOut,
    NoteOut,
    PlatformCount,
    SentimentOut,
    SentimentSplit,
    ShareOfVoiceItemOut,
    ShareOfVoiceOut,
    SummaryOut,
    TimeSeriesOut,
    TimeSeriesPointOut,
    WorkflowOut,
)

# Scores are float32 on the wire; more digits than this are noise (0.800000011920929).
_DIGITS = 4


def to_timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def from_timestamp(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def _opt_time(msg: object, field: str) -> datetime | None:
    return from_timestamp(getattr(msg, field)) if msg.HasField(field) else None  # type: ignore[attr-defined]  # any message


def ingest_result(sent_indexes: list[int], response: collector_pb2.IngestPostsResponse,
                  local_errors: list[ItemError], rejected_locally: int) -> IngestResult:
    """Merge the gateway's own per-item errors with the collector's, whose indexes refer to the
    list of posts actually sent and are mapped back to the client's indexes here."""
    errors = merge_item_errors(local_errors, sent_indexes, response.errors)
    return IngestResult(accepted=response.accepted, rejected=response.rejected + rejected_locally,
                        errors=errors, ids=list(response.post_ids))


def _label(value: int) -> str | None:
    return SENTIMENT_NAMES.get(value)


def _sentiment(enrichment: common_pb2.Enrichment) -> SentimentOut | None:
    if not enrichment.HasField("sentiment"):
        return None
    s = enrichment.sentiment
    label = _label(s.label)
    if label is None:
        return None
    return SentimentOut(label=label, scores={  # type: ignore[arg-type]  # pydantic checks the literal
        "negative": round(s.negative, _DIGITS), "neutral": round(s.neutral, _DIGITS),
        "positive": round(s.positive, _DIGITS)})


def _emotion(enrichment: common_pb2.Enrichment) -> EmotionOut | None:
    if not enrichment.HasField("emotion") or not enrichment.emotion.label:
        return None
    e = enrichment.emotion
    return EmotionOut(label=e.label, scores={k: round(v, _DIGITS) for k, v in sorted(e.scores.items())})


def _aspects(enrichment: common_pb2.Enrichment) -> list[AspectOut]:
    return [AspectOut(name=a.name, polarity=_label(a.polarity) or "neutral",  # type: ignore[arg-type]  # pydantic checks it
                      confidence=round(a.confidence, _DIGITS)) for a in enrichment.aspects]


def _entities(enrichment: common_pb2.Enrichment) -> list[EntityOut]:
    return [EntityOut(id=e.id, kind=e.kind, surface=e.surface, start=e.start, end=e.end)
            for e in enrichment.entities]


def analysis_out(enrichment: common_pb2.Enrichment, *, include_embedding: bool) -> AnalysisOut:
    return AnalysisOut(
        language=enrichment.language or "und",
        language_confidence=round(enrichment.language_confidence, _DIGITS),
        sentiment=_sentiment(enrichment), emotion=_emotion(enrichment),
        aspects=_aspects(enrichment), entities=_entities(enrichment),
        hashtags=list(enrichment.hashtags), mentions=list(enrichment.mentions),
        urls=list(enrichment.urls), domains=list(enrichment.domains),
        cashtags=list(enrichment.cashtags), emojis=list(enrichment.emojis),
        model_version=enrichment.model_version,
        embedding=list(enrichment.embedding) if include_embedding else None,
    )


def mention_out(mention: insights_pb2.Mention) -> MentionOut:
    post = mention.post
    enriched = mention.HasField("enrichment")
    enrichment = mention.enrichment
    author = AuthorOut(id=post.author.id, handle=post.author.handle,
                       display_name=post.author.display_name, followers=post.author.followers,
                       verified=post.author.verified, location=post.author.location) \
        if post.HasField("author") else None
    e = post.engagement
    return MentionOut(
        id=mention.id or post.id, platform=platform_name(post.platform), external_id=post.external_id,
        text=post.text, title=post.title, url=post.url,
        created_at=_opt_time(post, "created_at"), collected_at=_opt_time(post, "collected_at"),
        updated_at=_opt_time(mention, "updated_at"),
        author=author,
        engagement=EngagementOut(likes=e.likes, reposts=e.reposts, replies=e.replies, quotes=e.quotes,
                                 views=e.views),
        in_reply_to=post.in_reply_to, quote_of=post.quote_of, repost_of=post.repost_of,
        country=post.country, metadata=dict(post.metadata), query_ids=list(post.query_ids),
        category_ids=list(mention.category_ids),
        language=(enrichment.language or None) if enriched else None,
        language_confidence=round(enrichment.language_confidence, _DIGITS) if enriched else None,
        sentiment=_sentiment(enrichment) if enriched else None,
        emotion=_emotion(enrichment) if enriched else None,
        aspects=_aspects(enrichment), entities=_entities(enrichment),
        hashtags=list(enrichment.hashtags), mentions=list(enrichment.mentions),
        urls=list(enrichment.urls), domains=list(enrichment.domains),
        cashtags=list(enrichment.cashtags), emojis=list(enrichment.emojis),
        trace_id=mention.trace_id,
        workflow=workflow_out(mention.workflow) if mention.HasField("workflow") else None,
    )


def workflow_out(wf: insights_pb2.MentionWorkflow) -> WorkflowOut:
    return WorkflowOut(state=wf.state or "open", assignee=wf.assignee, tags=list(wf.tags),
                       notes=[NoteOut(author=n.author, text=n.text, created_at=_opt_time(n, "created_at"))
                              for n in wf.notes],
                       version=wf.version, updated_at=_opt_time(wf, "updated_at"),
                       updated_by=wf.updated_by)


def _points(points: Iterable[insights_pb2.TimeSeriesPoint], *,
            with_sentiment: bool) -> list[TimeSeriesPointOut]:
    return [TimeSeriesPointOut(
        bucket_start=from_timestamp(p.bucket_start), volume=p.volume,
        negative=p.negative if with_sentiment else None, neutral=p.neutral if with_sentiment else None,
        positive=p.positive if with_sentiment else None) for p in points]


def time_series_out(resp: insights_pb2.GetTimeSeriesResponse, *, metric: str, interval: str,
                    start: datetime, end: datetime, query_id: str | None = None,
                    category_id: str | None = None) -> TimeSeriesOut:
    points = _points(resp.points, with_sentiment=metric == "sentiment")
    return TimeSeriesOut(metric=metric, interval=interval, start=start, end=end,  # type: ignore[arg-type]  # pydantic checks the literals
                         query_id=query_id, category_id=category_id, total=resp.total, points=points)


QUERY_ROLE_NAMES = {collector_pb2.QUERY_ROLE_BRAND: "brand",
                    collector_pb2.QUERY_ROLE_COMPETITOR: "competitor",
                    collector_pb2.QUERY_ROLE_TOPIC: "topic"}


def share_of_voice_out(resp: insights_pb2.GetShareOfVoiceResponse,
                       queries: Mapping[str, collector_pb2.ListeningQuery], *, start: datetime,
                       end: datetime, interval: str | None) -> ShareOfVoiceOut:
    """Insights' counts, each item named after its listening query (null for unknown ids)."""
    items = []
    for item in resp.items:
        query = queries.get(item.query_id)
        items.append(ShareOfVoiceItemOut(
            query_id=item.query_id, name=query.name if query else None,
            role=QUERY_ROLE_NAMES.get(query.role) if query else None,  # type: ignore[arg-type]  # a role literal
            volume=item.volume, share=round(item.share, _DIGITS),
            sentiment=SentimentSplit(negative=item.negative, neutral=item.neutral,
                                     positive=item.positive),
            net_sentiment=round(item.net_sentiment, _DIGITS),
            points=_points(item.points, with_sentiment=True) if interval else None))
    return ShareOfVoiceOut(start=start, end=end, interval=interval,  # type: ignore[arg-type]  # pydantic checks it
                           total=resp.total, items=items)


def _platform_key(key: str) -> str:
    """The REST name of a platform as insights reports it: "x", "PLATFORM_X" or "1"."""
    k = key.strip().lower().removeprefix("platform_")
    if k.isdigit():
        return PLATFORM_NAMES.get(int(k), "other")
    return k if k in PLATFORMS else key


def summary_out(resp: insights_pb2.GetSummaryResponse, *, start: datetime, end: datetime,
                top: int, query_id: str | None = None, category_id: str | None = None) -> SummaryOut:
    negative = sorted((a for a in resp.aspects if a.negative > 0), key=lambda a: -a.negative)[:top]
    return SummaryOut(
        start=start, end=end, query_id=query_id, category_id=category_id, volume=resp.volume,
        sentiment=SentimentSplit(negative=resp.negative, neutral=resp.neutral, positive=resp.positive),
        top_negative_aspects=[AspectCounts(name=a.name, negative=a.negative, neutral=a.neutral,
                                           positive=a.positive) for a in negative],
        platforms=[PlatformCount(platform=_platform_key(c.key), count=c.count) for c in resp.platforms],
        languages=[LanguageCount(language=c.key, count=c.count) for c in resp.languages],
    )
