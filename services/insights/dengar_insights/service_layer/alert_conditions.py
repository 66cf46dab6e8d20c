"""The scheduled alert conditions, read from the insight engine, the rollups, topics and voices."""

from __future__ import annotations

from datetime import UTC, datetime

from dengar_insights.domain.alerts import (
    CAMPAIGN,
    EMERGING_TOPIC,
    NEGATIVE_SHARE,
    SPIKE,
    AlertRule,
    Finding,
    campaign_texts,
    negative_share_finding,
    spike_texts,
    topic_texts,
)
from dengar_insights.domain.rollups import HOUR, floor_time
from dengar_insights.service_layer.insight_engine import InsightEngine, RollupReads, SpikesRequest
from dengar_insights.service_layer.topics import TopicsEngine, TopicsRequest
from dengar_insights.service_layer.voices import Voices, VoicesRequest


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _scoped(filters: dict[str, str], query_id: str | None) -> dict[str, str]:
    return {**filters, "query_id": query_id} if query_id else filters


class EngineConditions:
    """Implements ``alerts.Conditions``; every read is bounded by the rule's window."""

    def __init__(self, engine: InsightEngine, rollups: RollupReads, topics: TopicsEngine | None,
                 voices: Voices | None) -> None:
        self._engine = engine
        self._rollups = rollups
        self._topics = topics
        self._voices = voices

    async def findings(self, rule: AlertRule, now: datetime) -> list[Finding]:
        start = now - rule.window
        query_id = rule.query_id or None
        if rule.condition == SPIKE:
            return await self._spikes(rule, now, query_id)
        if rule.condition == NEGATIVE_SHARE:
            total, _ = await self._rollups.totals(rule.tenant_id, start, now, query_id)
            found = negative_share_finding(rule, total.volume, total.sentiment.get("negative", 0),
                                           start, now)
            return [found] if found else []
        if rule.condition == EMERGING_TOPIC and self._topics is not None:
            res = await self._topics.topics(TopicsRequest(rule.tenant_id, start, now, query_id))
            # GET /v1/mentions has no topic filter: its top keywords select (roughly) its mentions.
            return [Finding(scope=f"topic:{t.id}", summary=topic_texts(t.keywords, t.volume)[0],
                            summary_id=topic_texts(t.keywords, t.volume)[1],
                            evidence_ids=tuple(r.id for r in t.representatives),
                            filters=_scoped({"from": _iso(start), "to": _iso(now),
                                             "q": " OR ".join(t.keywords[:3])}, query_id))
                    for t in res.topics if t.status == "new" and t.volume >= rule.min_volume]
        if rule.condition == CAMPAIGN and self._voices is not None:
            res2 = await self._voices.campaigns(VoicesRequest(rule.tenant_id, start, now, query_id))
            return [Finding(scope=f"campaign:{c.cluster.key}",
                            summary=campaign_texts(c.cluster.posts, c.cluster.authors)[0],
                            summary_id=campaign_texts(c.cluster.posts, c.cluster.authors)[1],
                            evidence_ids=tuple(c.cluster.evidence_ids), filters=dict(c.filters))
                    for c in res2.campaigns if c.cluster.posts >= rule.min_volume]
        return []

    async def _spikes(self, rule: AlertRule, now: datetime, query_id: str | None) -> list[Finding]:
        # Hourly buckets cover the window; a spike still open or ended inside it is current.
        start = floor_time(now - rule.window, HOUR)
        res = await self._engine.spikes(SpikesRequest(rule.tenant_id, start, now, HOUR,
                                                      rule.metric, query_id))
        out = []
        for f in res.spikes:
            s = f.explained.spike
            if s.end <= now - rule.window:
                continue
            ids = tuple(dict.fromkeys(i for d in f.explained.drivers for i in d.evidence_ids))
            filters = {"from": _iso(s.start), "to": _iso(s.end)}
            if query_id:
                filters["query_id"] = query_id
            if rule.metric == "negative":
                filters["sentiment"] = "negative"
            en, id_ = spike_texts(rule.metric, s.observed, s.ratio, s.expected, rule.query_id)
            out.append(Finding(scope=f"spike:{rule.metric}:{_iso(s.start)}", summary=en,
                               summary_id=id_, evidence_ids=ids, filters=filters))
        return out
