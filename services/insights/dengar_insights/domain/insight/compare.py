"""Period comparison: a period against the previous one of equal length (pure).

Everything but the terms comes from rollup totals (exact); the terms come from bounded samples of
the two periods' mentions, so their counts are sample counts. Every figure is a ``Delta`` with the
absolute change and the relative one (None when the previous value is 0: growth from nothing has
no ratio). Shares and net sentiment are fractions in [0, 1] and [-1, 1]; their absolute delta is in
the same unit (0.05 = 5 percentage points).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dengar_common.post_contract import SENTIMENT_LABELS
from dengar_insights.domain.rollups import Totals
from dengar_insights.domain.share import net_sentiment, share_of_voice


@dataclass(frozen=True)
class Delta:
    current: float
    previous: float
    absolute: float
    relative: float | None


def delta(current: float, previous: float) -> Delta:
    """current - previous, and (current - previous) / |previous| unless previous is 0."""
    return Delta(current=current, previous=previous, absolute=current - previous,
                 relative=(current - previous) / abs(previous) if previous else None)


@dataclass(frozen=True)
class Comparison:
    """This period [start, end) against [previous_start, start)."""

    start: datetime
    end: datetime
    previous_start: datetime
    volume: Delta
    # label -> count delta, and label -> share-of-the-period delta.
    sentiment: Mapping[str, Delta]
    sentiment_share: Mapping[str, Delta]
    net_sentiment: Delta
    # query id -> share-of-voice delta among the compared queries (empty without queries).
    share_of_voice: Mapping[str, Delta]
    share_of_voice_volume: Mapping[str, Delta]
    # aspect -> polarity -> count delta.
    aspects: Mapping[str, Mapping[str, Delta]]
    # term -> count delta (sample counts), the union of both periods' top terms.
    terms: Mapping[str, Delta]


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period of the same length that ends where [start, end) begins."""
    return start - (end - start), start


def compare(start: datetime, end: datetime, current: Totals, previous: Totals, *,
            queries_current: Sequence[tuple[str, Totals]] = (),
            queries_previous: Sequence[tuple[str, Totals]] = (),
            terms_current: Sequence[tuple[str, int]] = (),
            terms_previous: Sequence[tuple[str, int]] = ()) -> Comparison:
    """Compare two periods' totals; per-query totals give share of voice, term counts top terms.

    ``queries_current``/``queries_previous``: the same query ids, each with its totals.
    ``terms_*``: (term, count) of each period's top terms.
    """
    sent = {lab: delta(current.sentiment[lab], previous.sentiment[lab]) for lab in SENTIMENT_LABELS}
    share = {lab: delta(current.sentiment[lab] / current.volume if current.volume else 0.0,
                        previous.sentiment[lab] / previous.volume if previous.volume else 0.0)
             for lab in SENTIMENT_LABELS}
    net = delta(net_sentiment(current.sentiment["positive"], current.sentiment["negative"],
                              current.volume),
                net_sentiment(previous.sentiment["positive"], previous.sentiment["negative"],
                              previous.volume))
    cur_sov, _ = share_of_voice(queries_current)
    prev_sov = {v.query_id: v for v in share_of_voice(queries_previous)[0]}
    sov, sov_vol = {}, {}
    for v in cur_sov:
        before = prev_sov.get(v.query_id)
        sov[v.query_id] = delta(v.share, before.share if before else 0.0)
        sov_vol[v.query_id] = delta(v.volume, before.volume if before else 0)
    aspects: dict[str, dict[str, Delta]] = {}
    for name in sorted(set(current.aspects) | set(previous.aspects)):
        now, then = current.aspects.get(name, Counter()), previous.aspects.get(name, Counter())
        aspects[name] = {pol: delta(now[pol], then[pol]) for pol in sorted(set(now) | set(then))}
    tc, tp = dict(terms_current), dict(terms_previous)
    terms = {t: delta(tc.get(t, 0), tp.get(t, 0)) for t in dict.fromkeys([*tc, *tp])}
    return Comparison(start=start, end=end, previous_start=previous_period(start, end)[0],
                      volume=delta(current.volume, previous.volume), sentiment=sent,
                      sentiment_share=share, net_sentiment=net, share_of_voice=sov,
                      share_of_voice_volume=sov_vol, aspects=aspects, terms=terms)
