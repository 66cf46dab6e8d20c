"""The insight brief: ranked cards, each with a bilingual narrative, metrics, drivers, evidence and
the ``GET /v1/mentions`` filters that reproduce its evidence.

Card types: ``spike`` (a count spike with its drivers), ``sentiment_shift`` (a net-sentiment shift),
``rising_aspect`` (an aspect:polarity that grew against the previous period), ``share_of_voice_change``
and ``coordinated_duplicates``.

Ranking is by impact = size x unusualness, with unusualness capped at ``Z_CAP`` (20) so that one
bucket with a tiny spread cannot outrank a large event:

* spike: excess mentions (observed - expected) x score;
* sentiment_shift: volume x |net shift| x |score| (the mentions whose tone moved);
* rising_aspect: (count - previous count) x its Fightin' Words z;
* share_of_voice_change: |share delta| x the period's compared volume x the two-proportion z;
* coordinated_duplicates: posts x distinct authors (a rule hit, not a test; authors stand in for
  how unlikely the copies are to be organic).

Ties are broken by type order above, then title.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from dengar_insights.domain.insight.compare import Comparison
from dengar_insights.domain.insight.drivers import ASPECT, PLATFORM, TERM, Driver
from dengar_insights.domain.insight.duplicates import DuplicateCluster
from dengar_insights.domain.insight.narrative import (
    ID,
    PLATFORM_NAMES,
    SENTIMENT_WORDS,
    aspect_label,
    check_lang,
    fmt_growth,
    fmt_int,
    fmt_pct,
    fmt_ratio,
    fmt_signed,
    fmt_when,
    quoted,
)
from dengar_insights.domain.insight.spikes import NEGATIVE, NET_SENTIMENT, POSITIVE, Spike
from dengar_insights.domain.rollups import HOUR

SPIKE = "spike"
SENTIMENT_SHIFT = "sentiment_shift"
RISING_ASPECT = "rising_aspect"
SHARE_OF_VOICE_CHANGE = "share_of_voice_change"
COORDINATED_DUPLICATES = "coordinated_duplicates"
CARD_TYPES = (SPIKE, SENTIMENT_SHIFT, RISING_ASPECT, SHARE_OF_VOICE_CHANGE, COORDINATED_DUPLICATES)

Z_CAP = 20.0
# A share-of-voice change is a card when it moved at least this much and is this unusual.
MIN_SOV_SHIFT = 0.05
MIN_SOV_Z = 3.0

Metric = float | int | str | None


@dataclass(frozen=True)
class ExplainedSpike:
    """A spike (or net-sentiment shift) and what drove it, for one query or the whole tenant."""

    spike: Spike
    drivers: tuple[Driver, ...] = ()
    query_id: str | None = None
    # Typical mentions of the spike's window (of its tone, for a polar spike): the evidence of a card
    # that no driver explains, so that it still shows what the extra mentions said.
    evidence_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Card:
    type: str
    title: str
    narrative: str
    impact: float
    metrics: Mapping[str, Metric]
    drivers: tuple[Driver, ...]
    evidence_mention_ids: tuple[str, ...]
    # Query parameters of GET /v1/mentions that list the evidence (lists as comma-separated).
    filters: Mapping[str, str]


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cap(z: float) -> float:
    return min(abs(z), Z_CAP)


def _filters(start: datetime, end: datetime, query_id: str | None,
             **extra: str | None) -> dict[str, str]:
    f = {"from": rfc3339(start), "to": rfc3339(end)}
    if query_id:
        f["query_id"] = query_id
    f.update({k: v for k, v in extra.items() if v})
    return f


def _driver_filter(d: Driver | None) -> dict[str, str | None]:
    """Filters that select a driver's mentions, where GET /v1/mentions has a filter for its kind."""
    if d is None:
        return {}
    if d.kind == ASPECT:
        name, _, pol = d.value.partition(":")
        return {"aspect": name, "sentiment": pol or None}
    if d.kind == TERM:
        return {"q": d.value}
    if d.kind == PLATFORM:
        return {"platform": d.value}
    if d.kind == "language":
        return {"lang": d.value}
    if d.kind == "hashtag":
        return {"q": d.value}
    if d.kind == "category":
        return {"category_id": d.value}
    return {}


def _metric_phrase(metric: str, subject: str | None, lang: str) -> str:
    if lang == ID:
        base = {NEGATIVE: "Sebutan negatif", POSITIVE: "Sebutan positif"}.get(metric, "Sebutan")
        return f"{base} tentang {subject}" if subject else base
    base = {NEGATIVE: "Negative mentions", POSITIVE: "Positive mentions"}.get(metric, "Mentions")
    return f"{base} of {subject}" if subject else base


def _lead_driver(drivers: Sequence[Driver], metric: str) -> Driver | None:
    """The driver a narrative names: an aspect with the spike's polarity first, else a term;
    one with evidence (which the card's filters list) when there is one."""
    pol = metric if metric in (NEGATIVE, POSITIVE) else None
    for evidenced in (True, False):
        for d in drivers:
            if evidenced and not d.evidence_ids:
                continue
            if d.kind == ASPECT and (pol is None or d.value.endswith(f":{pol}")):
                return d
        lead = next((d for d in drivers if d.kind == TERM and (d.evidence_ids or not evidenced)),
                    None)
        if lead is not None:
            return lead
    return None


def _driven_by(lead: Driver | None, drivers: Sequence[Driver], lang: str) -> str:
    if lead is None:
        return ""
    intro = "terutama soal" if lang == ID else "driven by"
    if lead.kind == ASPECT:
        name = lead.value.partition(":")[0]
        terms = list(lead.terms) or [d.value for d in drivers if d.kind == TERM]
        inner = fmt_growth(lead.lift, lang) + (f": {quoted(terms, lang)}" if terms else "")
        return f", {intro} {aspect_label(name, lang)} ({inner})"
    terms = [d.value for d in drivers if d.kind == TERM]
    return f", {intro} {quoted(terms, lang)}"


def _platform_sentence(drivers: Sequence[Driver], lang: str) -> str:
    p = next((d for d in drivers if d.kind == PLATFORM and d.share >= 0.5), None)
    if p is None:
        return ""
    name = PLATFORM_NAMES.get(p.value, p.value)
    if lang == ID:
        return f" {fmt_pct(p.share, lang)} di antaranya dari {name}."
    return f" {fmt_pct(p.share, lang)} of it came from {name}."


def spike_card(es: ExplainedSpike, lang: str, subject: str | None = None,
               tz: tzinfo = UTC) -> Card:
    """A card for a count spike (volume, negative or positive)."""
    check_lang(lang)
    s = es.spike
    lead = _lead_driver(es.drivers, s.metric)
    when = fmt_when(s.start, s.end, s.interval == HOUR, lang, tz)
    phrase = _metric_phrase(s.metric, subject, lang)
    if lang == ID:
        title = f"Lonjakan {phrase[0].lower()}{phrase[1:]}"
        text = (f"{phrase} naik {fmt_ratio(s.ratio, lang)} {when} ({fmt_int(s.observed, lang)}, "
                f"biasanya {fmt_int(s.expected, lang)})")
    else:
        title = f"Spike in {phrase[0].lower()}{phrase[1:]}"
        text = (f"{phrase} rose {fmt_ratio(s.ratio, lang)} {when} ({fmt_int(s.observed, lang)} "
                f"against {fmt_int(s.expected, lang)} expected)")
    text += _driven_by(lead, es.drivers, lang) + "." + _platform_sentence(es.drivers, lang)
    sentiment = s.metric if s.metric in (NEGATIVE, POSITIVE) else None
    extra = {"sentiment": sentiment, **_driver_filter(lead)}
    if sentiment:
        extra["sentiment"] = sentiment
    return Card(type=SPIKE, title=title, narrative=text,
                impact=max(s.excess, 0.0) * _cap(s.score),
                metrics=_spike_metrics(s), drivers=es.drivers,
                evidence_mention_ids=lead.evidence_ids if lead else es.evidence_ids,
                filters=_filters(s.start, s.end, es.query_id, **extra))


def _spike_metrics(s: Spike) -> dict[str, Metric]:
    return {"metric": s.metric, "interval": s.interval, "start": rfc3339(s.start),
            "end": rfc3339(s.end), "observed": s.observed, "expected": s.expected,
            "ratio": s.ratio if s.metric != NET_SENTIMENT else None, "score": s.score,
            "severity": s.severity, "confidence": s.confidence, "volume": s.volume}


def shift_card(es: ExplainedSpike, lang: str, subject: str | None = None,
               tz: tzinfo = UTC) -> Card:
    """A card for a net-sentiment shift."""
    check_lang(lang)
    s = es.spike
    fell = s.observed < s.expected
    metric = NEGATIVE if fell else POSITIVE
    lead = _lead_driver(es.drivers, metric)
    when = fmt_when(s.start, s.end, s.interval == HOUR, lang, tz)
    frm, to = fmt_signed(s.expected, lang), fmt_signed(s.observed, lang)
    if lang == ID:
        who = f" {subject}" if subject else ""
        title = f"Pergeseran sentimen{who}"
        text = (f"Sentimen bersih{who} {'turun' if fell else 'naik'} dari {frm} menjadi {to} "
                f"{when} ({fmt_int(s.volume, lang)} sebutan)")
    else:
        who = f" of {subject}" if subject else ""
        title = f"Sentiment shift{' for ' + subject if subject else ''}"
        text = (f"Net sentiment{who} {'fell' if fell else 'rose'} from {frm} to {to} {when} "
                f"({fmt_int(s.volume, lang)} mentions)")
    text += _driven_by(lead, es.drivers, lang) + "."
    extra = {**_driver_filter(lead), "sentiment": metric}
    return Card(type=SENTIMENT_SHIFT, title=title, narrative=text,
                impact=s.volume * abs(s.observed - s.expected) * _cap(s.score),
                metrics=_spike_metrics(s), drivers=es.drivers,
                evidence_mention_ids=lead.evidence_ids if lead else es.evidence_ids,
                filters=_filters(s.start, s.end, es.query_id, **extra))


def rising_aspect_card(d: Driver, start: datetime, end: datetime, lang: str,
                       subject: str | None = None, query_id: str | None = None) -> Card:
    """A card for an aspect:polarity driver of this period against the previous one."""
    check_lang(lang)
    name, _, pol = d.value.partition(":")
    label = aspect_label(name, lang)
    pol_word = SENTIMENT_WORDS[lang].get(pol, pol)
    terms = f": {quoted(list(d.terms), lang)}" if d.terms else ""
    growth = fmt_growth(d.lift, lang)
    if lang == ID:
        whose = f" untuk {subject}" if subject else ""
        title = f"Meningkat: sebutan {pol_word} soal {label}"
        text = (f"Sebutan {pol_word} soal {label}{whose} naik dari {fmt_int(d.baseline_count, lang)} "
                f"menjadi {fmt_int(d.count, lang)} ({growth}) dibanding periode sebelumnya{terms}.")
    else:
        whose = f" for {subject}" if subject else ""
        title = f"Rising: {pol_word} mentions about {label}"
        text = (f"{pol_word.capitalize()} mentions about {label}{whose} rose from "
                f"{fmt_int(d.baseline_count, lang)} to {fmt_int(d.count, lang)} ({growth}) "
                f"against the previous period{terms}.")
    return Card(type=RISING_ASPECT, title=title, narrative=text,
                impact=max(d.count - d.baseline_count, 0) * _cap(d.score),
                metrics={"aspect": name, "polarity": pol, "count": d.count,
                         "baseline_count": d.baseline_count, "lift": d.lift, "score": d.score},
                drivers=(d,), evidence_mention_ids=d.evidence_ids,
                filters=_filters(start, end, query_id, aspect=name, sentiment=pol or None))


def _two_proportion_z(p1: float, n1: float, p0: float, n0: float) -> float:
    if n1 <= 0 or n0 <= 0:
        return 0.0
    p = (p1 * n1 + p0 * n0) / (n1 + n0)
    se = math.sqrt(max(p * (1 - p), 1e-9) * (1 / n1 + 1 / n0))
    return (p1 - p0) / se


def share_of_voice_cards(cmp: Comparison, lang: str,
                         names: Mapping[str, str] | None = None) -> list[Card]:
    """A card per query whose share of voice moved by at least MIN_SOV_SHIFT, unusually."""
    check_lang(lang)
    names = names or {}
    n1 = sum(d.current for d in cmp.share_of_voice_volume.values())
    n0 = sum(d.previous for d in cmp.share_of_voice_volume.values())
    cards = []
    for qid, d in cmp.share_of_voice.items():
        z = _two_proportion_z(d.current, n1, d.previous, n0)
        if abs(d.absolute) < MIN_SOV_SHIFT or abs(z) < MIN_SOV_Z:
            continue
        name = names.get(qid, qid)
        up = d.absolute > 0
        pts = fmt_int(abs(d.absolute) * 100, lang)
        sign = "+" if up else "-"
        if lang == ID:
            title = f"Pangsa percakapan: {name}"
            text = (f"Pangsa percakapan {name} {'naik' if up else 'turun'} dari "
                    f"{fmt_pct(d.previous, lang)} menjadi {fmt_pct(d.current, lang)} ({sign}{pts} poin) "
                    f"dibanding periode sebelumnya.")
        else:
            title = f"Share of voice: {name}"
            text = (f"{name}'s share of voice {'rose' if up else 'fell'} from "
                    f"{fmt_pct(d.previous, lang)} to {fmt_pct(d.current, lang)} ({sign}{pts} points) "
                    f"against the previous period.")
        cards.append(Card(type=SHARE_OF_VOICE_CHANGE, title=title, narrative=text,
                          impact=abs(d.absolute) * n1 * _cap(z),
                          metrics={"query_id": qid, "share": d.current, "previous_share": d.previous,
                                   "delta": d.absolute, "score": z},
                          drivers=(), evidence_mention_ids=(),
                          filters=_filters(cmp.start, cmp.end, qid)))
    return cards


def _span_words(span: timedelta, lang: str) -> str:
    minutes = max(1, math.ceil(span.total_seconds() / 60))
    if minutes < 120:
        return f"{minutes} menit" if lang == ID else f"{minutes} minute{'s' if minutes > 1 else ''}"
    hours = math.ceil(minutes / 60)
    return f"{hours} jam" if lang == ID else f"{hours} hours"


def _snippet(text: str, n: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[:n - 1].rstrip() + "\u2026"


def cluster_filters(c: DuplicateCluster, query_id: str | None = None) -> dict[str, str]:
    """The GET /v1/mentions filters that list a cluster's evidence: its span (the end widened
    to the next second, as ``to`` is exclusive) and its common terms."""
    return _filters(c.start, c.end + timedelta(seconds=1), query_id,
                    q=" ".join(c.common_terms) or None)


def duplicates_card(c: DuplicateCluster, lang: str, subject: str | None = None,
                    query_id: str | None = None, tz: tzinfo = UTC) -> Card:
    """A card for a coordinated near-duplicate cluster."""
    check_lang(lang)
    end = c.end + timedelta(seconds=1)
    when = fmt_when(c.start, end, False, lang, tz)
    span = _span_words(c.end - c.start, lang)
    if lang == ID:
        about = f" tentang {subject}" if subject else ""
        title = f"Unggahan terkoordinasi{about}"
        text = (f"{fmt_int(c.authors, lang)} akun memposting teks yang hampir sama{about} dalam "
                f"{span} {when} ({fmt_int(c.posts, lang)} unggahan): '{_snippet(c.sample_text)}'.")
    else:
        about = f" about {subject}" if subject else ""
        title = f"Coordinated posting{about}"
        text = (f"{fmt_int(c.authors, lang)} accounts posted near-identical text{about} within "
                f"{span} {when} ({fmt_int(c.posts, lang)} posts): '{_snippet(c.sample_text)}'.")
    return Card(type=COORDINATED_DUPLICATES, title=title, narrative=text,
                impact=float(c.posts * min(c.authors, Z_CAP)),
                metrics={"posts": c.posts, "authors": c.authors, "start": rfc3339(c.start),
                         "end": rfc3339(c.end), "cluster": c.key},
                drivers=(), evidence_mention_ids=c.evidence_ids,
                filters=cluster_filters(c, query_id))


def _is_campaign(es: ExplainedSpike, c: DuplicateCluster) -> bool:
    s = es.spike
    return (s.start <= c.end and c.start < s.end and c.posts >= 0.5 * s.excess
            and (es.query_id is None or es.query_id in c.query_ids))


def rank_cards(cards: Sequence[Card], limit: int | None = None) -> list[Card]:
    """Cards by impact, highest first (ties: type order, then title)."""
    order = {t: i for i, t in enumerate(CARD_TYPES)}
    ranked = sorted(cards, key=lambda c: (-c.impact, order.get(c.type, 99), c.title))
    return ranked if limit is None else ranked[:limit]


def build_brief(*, lang: str, start: datetime, end: datetime,
                spikes: Sequence[ExplainedSpike] = (), shifts: Sequence[ExplainedSpike] = (),
                rising_aspects: Sequence[Driver] = (), comparison: Comparison | None = None,
                clusters: Sequence[DuplicateCluster] = (), query_id: str | None = None,
                names: Mapping[str, str] | None = None, limit: int | None = 10,
                tz: tzinfo = UTC) -> list[Card]:
    """The ranked cards of one period [start, end), for one query or the whole tenant.

    ``spikes``: count spikes with drivers; ``shifts``: net-sentiment shifts with drivers;
    ``rising_aspects``: aspect drivers of this period against the previous one (with evidence);
    ``comparison``: for share-of-voice cards (needs per-query totals); ``clusters``: coordinated
    near-duplicates (a count spike of the same scope that the cluster's posts make up at least
    half the excess of gets no card of its own: the cluster's card tells it); ``names``: query
    id -> brand name used in sentences.
    """
    check_lang(lang)
    names = names or {}
    cards: list[Card] = []
    # A count spike that is mostly one coordinated cluster of its scope is that cluster's card.
    spikes = [es for es in spikes if not any(_is_campaign(es, c) for c in clusters)]
    for es in spikes:
        subject = names.get(es.query_id or query_id or "")
        cards.append(spike_card(es, lang, subject, tz))
    for es in shifts:
        subject = names.get(es.query_id or query_id or "")
        cards.append(shift_card(es, lang, subject, tz))
    subject = names.get(query_id or "")
    for d in rising_aspects:
        if d.kind == ASPECT:
            cards.append(rising_aspect_card(d, start, end, lang, subject, query_id))
    if comparison is not None:
        cards.extend(share_of_voice_cards(comparison, lang, names))
    for c in clusters:
        qid = query_id or (c.query_ids[0] if len(c.query_ids) == 1 else None)
        cards.append(duplicates_card(c, lang, names.get(qid or ""), qid, tz))
    return rank_cards(cards, limit)
