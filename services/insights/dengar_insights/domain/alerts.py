"""Alert rules and their incidents. Pure values and rules; the use cases are service_layer/alerts.py.

A rule watches one condition of a tenant's mentions:

* ``spike``: the insight engine's spike detector finds a spike of ``metric`` (volume or
  negative volume) of a query (or the whole tenant) in the last ``window_minutes``;
* ``negative_share``: negative mentions are more than ``threshold`` of the last ``window_minutes``
  with at least ``min_volume`` mentions;
* ``emerging_topic``: the topics engine reports a topic of status "new";
* ``campaign``: a coordinated near-duplicate campaign started;
* ``mention_match``: a newly stored mention matches ``expression`` (e.g. crisis words).

An *incident* is one firing of a rule for one scope (the spike window, the topic id, the campaign
key; one fixed scope for share and match rules). Its key ``tenant:rule:scope`` is unique among the
open incidents of the store, so replicas that find the same condition at once fire it once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dengar_common.errors import InvalidArgument, NotFound
from dengar_common.query import CompiledQuery, compile_query

SPIKE = "spike"
NEGATIVE_SHARE = "negative_share"
EMERGING_TOPIC = "emerging_topic"
CAMPAIGN = "campaign"
MENTION_MATCH = "mention_match"
CONDITIONS = (SPIKE, NEGATIVE_SHARE, EMERGING_TOPIC, CAMPAIGN, MENTION_MATCH)
# Conditions the scheduled evaluator checks; mention_match is checked at ingest.
SCHEDULED = (SPIKE, NEGATIVE_SHARE, EMERGING_TOPIC, CAMPAIGN)

SPIKE_METRICS = ("volume", "negative")
SEVERITIES = ("info", "warning", "critical")

FIRING = "firing"
RESOLVED = "resolved"
STATES = (FIRING, RESOLVED)

MAX_NAME = 100
MAX_EXPRESSION = 2000
MAX_CHANNELS = 10
MAX_COOLDOWN_S = 7 * 24 * 3600
MIN_WINDOW_MIN = 5
MAX_WINDOW_MIN = 7 * 24 * 60
MAX_EVIDENCE = 20
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class AlertRuleNotFound(NotFound):
    def __init__(self, rule_id: str) -> None:
        super().__init__(f"alert rule {rule_id!r} not found")


class AlertNotFound(NotFound):
    def __init__(self, alert_id: str) -> None:
        super().__init__(f"alert {alert_id!r} not found")


@dataclass(frozen=True)
class QuietHours:
    """Local times [start, end) in ``time_zone`` during which notifications are held; an end
    before the start spans midnight (22:00-07:00)."""

    start: str
    end: str
    time_zone: str = "UTC"

    def _bounds(self) -> tuple[time, time, ZoneInfo]:
        return _parse_hhmm(self.start, "quiet_hours.start"), _parse_hhmm(self.end, "quiet_hours.end"), \
            _zone(self.time_zone)

    def contains(self, at: datetime) -> bool:
        start, end, zone = self._bounds()
        local = at.astimezone(zone).time().replace(tzinfo=None)
        if start == end:
            return False
        if start < end:
            return start <= local < end
        return local >= start or local < end

    def ends_after(self, at: datetime) -> datetime:
        """The first instant at or after ``at`` outside the quiet hours (``at`` itself when it is
        outside). Computed on local wall time, so it follows DST changes of the zone."""
        if not self.contains(at):
            return at
        _, end, zone = self._bounds()
        local = at.astimezone(zone)
        day = local.date()
        for offset in (0, 1):
            naive = datetime.combine(day + timedelta(days=offset), end)
            # fold=0: an end time repeated by a DST fall-back ends at its first occurrence; one
            # skipped by spring-forward maps past the gap, which is outside the quiet hours too.
            candidate = naive.replace(tzinfo=zone).astimezone(UTC)
            if candidate > at and not self.contains(candidate):
                return candidate
        return at + timedelta(days=1)  # unreachable with a valid window; a safe bound anyway


def _parse_hhmm(value: str, fld: str) -> time:
    m = _HHMM.match(value or "")
    if not m:
        raise InvalidArgument(f"{fld} must be a local time HH:MM", field=fld)
    return time(int(m.group(1)), int(m.group(2)))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgument(f"unknown IANA time zone {name!r}", field="time_zone") from exc


@dataclass(frozen=True)
class AlertRule:
    id: str
    tenant_id: str
    name: str
    condition: str
    severity: str = "warning"
    query_id: str = ""
    metric: str = "volume"
    threshold: float = 0.0
    window_minutes: int = 60
    min_volume: int = 0
    expression: str = ""
    cooldown_s: int = 3600
    quiet_hours: QuietHours | None = None
    channel_ids: tuple[str, ...] = ()
    enabled: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    @property
    def cooldown(self) -> timedelta:
        return timedelta(seconds=self.cooldown_s)


def new_rule_id() -> str:
    return "ar_" + secrets.token_hex(8)


def check_rule(rule: AlertRule) -> AlertRule:
    """The rule with its text fields trimmed; InvalidArgument naming the first invalid field."""
    name = (rule.name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidArgument(f"name must be 1-{MAX_NAME} characters", field="name")
    if rule.condition not in CONDITIONS:
        raise InvalidArgument(f"condition must be one of {', '.join(CONDITIONS)}", field="condition")
    if rule.severity not in SEVERITIES:
        raise InvalidArgument(f"severity must be one of {', '.join(SEVERITIES)}", field="severity")
    if rule.query_id and not _ID.match(rule.query_id):
        raise InvalidArgument("invalid query_id", field="query_id")
    if not 0 <= rule.cooldown_s <= MAX_COOLDOWN_S:
        raise InvalidArgument(f"cooldown_s must be 0-{MAX_COOLDOWN_S}", field="cooldown_s")
    if not MIN_WINDOW_MIN <= rule.window_minutes <= MAX_WINDOW_MIN:
        raise InvalidArgument(f"window_minutes must be {MIN_WINDOW_MIN}-{MAX_WINDOW_MIN}",
                              field="window_minutes")
    if rule.min_volume < 0:
        raise InvalidArgument("min_volume must not be negative", field="min_volume")
    expression = (rule.expression or "").strip()
    if rule.condition == SPIKE and rule.metric not in SPIKE_METRICS:
        raise InvalidArgument(f"metric must be one of {', '.join(SPIKE_METRICS)}", field="metric")
    if rule.condition == NEGATIVE_SHARE and not 0.0 < rule.threshold < 1.0:
        raise InvalidArgument("threshold must be a share between 0 and 1 (exclusive)",
                              field="threshold")
    if rule.condition == MENTION_MATCH:
        if not expression:
            raise InvalidArgument("a mention_match rule needs an expression", field="expression")
        if len(expression) > MAX_EXPRESSION:
            raise InvalidArgument(f"expression is longer than {MAX_EXPRESSION} characters",
                                  field="expression")
        try:
            compile_query(expression)
        except InvalidArgument as exc:
            raise InvalidArgument(str(exc), field="expression") from exc
    elif expression:
        raise InvalidArgument("only mention_match rules take an expression", field="expression")
    if len(rule.channel_ids) > MAX_CHANNELS:
        raise InvalidArgument(f"at most {MAX_CHANNELS} channel_ids", field="channel_ids")
    for c in rule.channel_ids:
        if not _ID.match(c):
            raise InvalidArgument(f"invalid channel id {c!r}", field="channel_ids")
    if rule.quiet_hours is not None:
        rule.quiet_hours._bounds()
    return AlertRule(**{**rule.__dict__, "name": name, "expression": expression,
                        "channel_ids": tuple(dict.fromkeys(rule.channel_ids))})


# -- incidents ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A rule's condition holding for one scope now, with what shows it."""

    scope: str
    summary: str
    evidence_ids: tuple[str, ...] = ()
    # GET /v1/mentions query parameters that list the evidence.
    filters: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    # The summary in Indonesian ("" for a finding made before there was one: the English one shows).
    summary_id: str = ""


# -- texts ----------------------------------------------------------------------------------------
# Each condition's summary in English and Indonesian: (en, id). Numbers and user text (keywords,
# expressions, query ids) are the same in both.


def spike_texts(metric: str, observed: float, ratio: float, expected: float,
                query_id: str = "") -> tuple[str, str]:
    en = f"{metric} spike: {observed:.0f} mentions, {ratio:.1f}x the expected {expected:.0f}"
    what = "volume negatif" if metric == "negative" else "volume"
    scope = f" untuk kueri {query_id}" if query_id else ""
    id_ = (f"Lonjakan {what}{scope}: {observed:.0f} sebutan, {ratio:.1f} kali dari perkiraan "
           f"{expected:.0f}")
    return en, id_


def share_texts(share: float, volume: int, threshold: float) -> tuple[str, str]:
    en = f"negative share {share:.0%} of {volume} mentions (threshold {threshold:.0%})"
    id_ = f"Sentimen negatif {share:.0%} dari {volume} sebutan (ambang batas {threshold:.0%})"
    return en, id_


def topic_texts(keywords: Sequence[str], volume: int) -> tuple[str, str]:
    words = ", ".join(keywords[:5])
    return f"new topic: {words} ({volume} mentions)", f"Topik baru muncul: {words} ({volume} sebutan)"


def campaign_texts(posts: int, authors: int) -> tuple[str, str]:
    return (f"coordinated campaign: {posts} posts by {authors} authors",
            f"Kampanye terkoordinasi: {posts} unggahan oleh {authors} akun")


def match_texts(count: int, expression: str) -> tuple[str, str]:
    return (f"{count} new mention(s) match {expression!r}",
            f"{count} sebutan baru cocok dengan {expression!r}")


def title_texts(rule_name: str, firing: bool) -> tuple[str, str]:
    return (f"{'Alert' if firing else 'Resolved'}: {rule_name}",
            f"{'Peringatan' if firing else 'Sudah teratasi'}: {rule_name}")


def incident_key(tenant_id: str, rule_id: str, scope: str) -> str:
    return f"{tenant_id}:{rule_id}:{scope}"


def alert_id(key: str, seq: int) -> str:
    """The id of the ``seq``-th incident of a key (stable, so a retried insert is recognised)."""
    return "al_" + hashlib.sha256(f"{key}#{seq}".encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Alert:
    """One incident: fired once, resolved once the condition cleared."""

    id: str
    tenant_id: str
    rule_id: str
    rule_name: str
    condition: str
    key: str
    scope: str
    severity: str
    state: str
    summary: str
    fired_at: datetime
    resolved_at: datetime | None = None
    evidence_ids: tuple[str, ...] = ()
    filters: Mapping[str, str] = field(default_factory=dict)
    channel_ids: tuple[str, ...] = ()
    # When the firing (resp. resolving) notification may go out (quiet hours), and whether it did.
    notify_fired_at: datetime | None = None
    fired_notified: bool = False
    notify_resolved_at: datetime | None = None
    resolved_notified: bool = False
    summary_id: str = ""

    def notification_key(self, state: str) -> str:
        return f"alert:{self.id}:{state}"


def notify_at(rule: AlertRule, at: datetime) -> datetime:
    """When a notification raised at ``at`` may go out: held until the rule's quiet hours end."""
    return rule.quiet_hours.ends_after(at) if rule.quiet_hours is not None else at


def cooled_down(last_fired_at: datetime | None, now: datetime, cooldown: timedelta) -> bool:
    return last_fired_at is None or now - last_fired_at >= cooldown


def match_set(rules: Sequence[AlertRule]) -> list[tuple[AlertRule, CompiledQuery]]:
    """The enabled mention_match rules compiled (a rule whose expression no longer compiles is
    skipped rather than failing the ingest)."""
    out = []
    for r in rules:
        if r.enabled and r.condition == MENTION_MATCH:
            try:
                out.append((r, compile_query(r.expression)))
            except InvalidArgument:
                continue
    return out


def negative_share_finding(rule: AlertRule, volume: int, negative: int,
                           start: datetime, end: datetime) -> Finding | None:
    if volume <= 0 or volume < rule.min_volume:
        return None
    share = negative / volume
    if share <= rule.threshold:
        return None
    filters = {"from": _iso(start), "to": _iso(end), "sentiment": "negative"}
    if rule.query_id:
        filters["query_id"] = rule.query_id
    en, id_ = share_texts(share, volume, rule.threshold)
    return Finding(scope="share", summary=en, summary_id=id_, filters=filters,
                   details={"share": share, "volume": volume, "negative": negative})


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


__all__ = ["CAMPAIGN", "CONDITIONS", "EMERGING_TOPIC", "FIRING", "MENTION_MATCH", "NEGATIVE_SHARE",
           "RESOLVED", "SCHEDULED", "SEVERITIES", "SPIKE", "Alert", "AlertNotFound", "AlertRule",
           "AlertRuleNotFound", "Finding", "QuietHours", "alert_id", "campaign_texts", "check_rule",
           "cooled_down", "incident_key", "match_set", "match_texts", "negative_share_finding",
           "new_rule_id", "notify_at", "share_texts", "spike_texts", "title_texts", "topic_texts"]
