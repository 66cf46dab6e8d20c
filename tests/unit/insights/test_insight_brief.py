"""Period comparison, coordinated duplicates, bilingual narratives and card ranking."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from dengar_insights.domain.insight.brief import (
    COORDINATED_DUPLICATES,
    RISING_ASPECT,
    SHARE_OF_VOICE_CHANGE,
    SPIKE,
    ExplainedSpike,
    build_brief,
    shift_card,
    spike_card,
)
from dengar_insights.domain.insight.compare import compare, delta, previous_period
from dengar_insights.domain.insight.drivers import Driver, MentionFeatures
from dengar_insights.domain.insight.duplicates import coordinated_duplicates
from dengar_insights.domain.insight.narrative import fmt_int, fmt_num, fmt_ratio, fmt_when
from dengar_insights.domain.insight.spikes import Spike
from dengar_insights.domain.rollups import Totals

NOV30 = datetime(2026, 11, 30, tzinfo=UTC)
DAY = timedelta(days=1)


def totals(volume: int, neg: int, pos: int, aspects: dict[str, dict[str, int]] | None = None) -> Totals:
    t = Totals(volume=volume, sentiment=Counter({"negative": neg, "positive": pos,
                                                 "neutral": volume - neg - pos}))
    t.aspects = {k: Counter(v) for k, v in (aspects or {}).items()}
    return t


def test_delta_relative_is_none_on_zero_base() -> None:
    assert delta(30, 10).relative == 2.0
    assert delta(5, 0).relative is None and delta(5, 0).absolute == 5
    assert delta(0, 4).relative == -1.0


def test_period_comparison() -> None:
    start, end = NOV30 - 7 * DAY, NOV30
    assert previous_period(start, end) == (NOV30 - 14 * DAY, start)
    cur = totals(200, 100, 40, {"delivery": {"negative": 80}, "price": {"negative": 5}})
    prev = totals(100, 20, 40, {"delivery": {"negative": 10}})
    c = compare(start, end, cur, prev,
                queries_current=[("kirimin", totals(150, 90, 20)), ("antaryuk", totals(50, 10, 20))],
                queries_previous=[("kirimin", totals(50, 10, 20)), ("antaryuk", totals(50, 10, 20))],
                terms_current=[("telat", 40), ("promo", 10)], terms_previous=[("promo", 12)])
    assert (c.volume.absolute, c.volume.relative) == (100, 1.0)
    assert c.sentiment["negative"].relative == 4.0
    assert c.sentiment_share["negative"].current == 0.5
    assert c.net_sentiment.previous == pytest.approx(0.2)
    assert c.net_sentiment.current == pytest.approx(-0.3)
    assert c.share_of_voice["kirimin"].current == 0.75 and c.share_of_voice["kirimin"].previous == 0.5
    assert c.share_of_voice["kirimin"].absolute == pytest.approx(0.25)
    assert c.aspects["delivery"]["negative"].relative == 7.0
    assert c.aspects["price"]["negative"].relative is None
    assert c.terms["telat"].relative is None and c.terms["promo"].absolute == -2


def fm(i: int, text: str, author: str, minutes: int, keys: tuple[str, ...] = ()) -> MentionFeatures:
    return MentionFeatures(id=f"d{i:03d}", created_at=NOV30 + timedelta(minutes=minutes), text=text,
                           author=author, neardup_keys=keys, query_ids=("gocepat",), platform="x")


PROMO = "Pakai kode GOCEPAT50 di GoCepat, diskon 50% ongkir sampai akhir bulan!"


def test_coordinated_duplicates_rule() -> None:
    campaign = [fm(i, PROMO, f"fresh{i}", minutes=10 * i) for i in range(8)]
    one_author = [fm(100 + i, "GoCepat mantap sekali hari ini buat makan siang kantor", "fan",
                     minutes=i) for i in range(10)]
    slow = [fm(200 + i, "Reminder: GoCepat tutup sementara untuk maintenance minggu ini", f"u{i}",
               minutes=600 * i) for i in range(8)]
    short = [fm(300 + i, "mantap!", f"s{i}", minutes=i) for i in range(10)]
    found = coordinated_duplicates(campaign + one_author + slow + short)
    assert len(found) == 1
    c = found[0]
    assert (c.authors, c.posts) == (8, 8)
    assert c.start == NOV30 and c.end == NOV30 + timedelta(minutes=70)
    assert "gocepat50" in c.common_terms
    # LSH keys link edited copies transitively.
    edited = [fm(i, f"{PROMO} edit {i}", f"a{i}", i, keys=(f"k{i}", f"k{i + 1}")) for i in range(6)]
    assert [c.posts for c in coordinated_duplicates(edited)] == [6]
    # ...but a chain of keys through texts that are not near-identical is no cluster (templated
    # organic posts that each share a phrase with the next).
    chained = [fm(i, "GoCepat " + " ".join(f"w{i}x{j}" for j in range(8)), f"c{i}", i,
                  keys=(f"k{i}", f"k{i + 1}")) for i in range(6)]
    assert coordinated_duplicates(chained) == []


def test_duplicate_evidence_carries_every_common_term() -> None:
    """The card's q filter is the common terms, so its evidence must be copies that carry them all
    (an edited early copy that lacks one would not be listed by GET /v1/mentions)."""
    edited = "Pakai GOCEPAT50 di GoCepat, diskon 50% ongkir sampai akhir bulan!"
    copies = [fm(i, edited if i in (1, 2) else PROMO, f"fresh{i}", minutes=i, keys=("k",))
              for i in range(10)]
    [c] = coordinated_duplicates(copies)
    assert "kode" in c.common_terms and c.mention_ids[:3] == ("d000", "d001", "d002")
    assert c.evidence_ids == ("d000", "d003", "d004")


def spike(metric: str = "negative", observed: float = 412, expected: float = 133,
          score: float = 12.0) -> Spike:
    return Spike(metric=metric, interval="day", start=NOV30, end=NOV30 + DAY, peak=NOV30,
                 observed=observed, expected=expected, score=score, severity="high",
                 confidence="high", volume=500)


DRIVERS = (
    Driver(kind="aspect", value="delivery:negative", count=380, baseline_count=100, lift=3.8,
           score=9.0, share=0.9, baseline_share=0.7, evidence_ids=("m1", "m2", "m3"),
           terms=("telat", "belum sampai")),
    Driver(kind="term", value="telat", count=200, baseline_count=30, lift=6.7, score=7.0, share=0.5,
           baseline_share=0.2),
    Driver(kind="platform", value="x", count=250, baseline_count=60, lift=4.2, score=3.0, share=0.61,
           baseline_share=0.45),
)


def test_spike_narrative_in_english_and_indonesian() -> None:
    es = ExplainedSpike(spike(observed=1412.0), DRIVERS, query_id="kirimin")
    en = spike_card(es, "en", "Kirimin")
    assert en.narrative == (
        "Negative mentions of Kirimin rose 10.6x on 30 Nov (1,412 against 133 expected), driven by "
        "delivery (+280%: 'telat' and 'belum sampai'). 61% of it came from X.")
    assert en.title == "Spike in negative mentions of Kirimin"
    idn = spike_card(es, "id", "Kirimin")
    assert idn.narrative == (
        "Sebutan negatif tentang Kirimin naik 10,6x pada 30 Nov (1.412, biasanya 133), terutama soal "
        "pengiriman (+280%: 'telat' dan 'belum sampai'). 61% di antaranya dari X.")
    assert idn.title == "Lonjakan sebutan negatif tentang Kirimin"
    assert en.filters == {"from": "2026-11-30T00:00:00Z", "to": "2026-12-01T00:00:00Z",
                          "query_id": "kirimin", "sentiment": "negative", "aspect": "delivery"}
    assert en.evidence_mention_ids == ("m1", "m2", "m3")


def test_a_spike_no_driver_explains_shows_its_window_s_typical_mentions() -> None:
    bare = ExplainedSpike(spike(observed=26.0, expected=5.0), (), query_id="gocepat",
                          evidence_ids=("w1", "w2"))
    card = spike_card(bare, "en", "GoCepat")
    assert card.narrative == "Negative mentions of GoCepat rose 5.2x on 30 Nov (26 against 5 expected)."
    assert card.evidence_mention_ids == ("w1", "w2")
    # The filters list the window's mentions of the spike's tone, which the evidence was taken from.
    assert card.filters == {"from": "2026-11-30T00:00:00Z", "to": "2026-12-01T00:00:00Z",
                            "query_id": "gocepat", "sentiment": "negative"}
    # A driver's evidence, when there is a driver, is what the card shows.
    led = ExplainedSpike(spike(observed=1412.0), DRIVERS, "kirimin", evidence_ids=("w1", "w2"))
    assert spike_card(led, "en", "Kirimin").evidence_mention_ids == ("m1", "m2", "m3")


def test_number_and_date_formats() -> None:
    assert fmt_int(1234567, "en") == "1,234,567" and fmt_int(1234567, "id") == "1.234.567"
    assert fmt_num(1234.5, "id") == "1.234,5" and fmt_ratio(3.14, "id") == "3,1x"
    assert fmt_when(datetime(2026, 5, 3, 12, tzinfo=UTC), datetime(2026, 5, 3, 15, tzinfo=UTC),
                    True, "id") == "pada 3 Mei 12:00\u201315:00 UTC"
    assert fmt_when(datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 8, 3, tzinfo=UTC), False,
                    "id") == "pada 1 Agu\u20132 Agu"


def test_sentiment_shift_narratives() -> None:
    s = Spike(metric="net_sentiment", interval="hour", start=NOV30 + timedelta(hours=12),
              end=NOV30 + timedelta(hours=15), peak=NOV30 + timedelta(hours=12), observed=-0.45,
              expected=0.12, score=-9.0, severity="high", confidence="high", volume=412)
    es = ExplainedSpike(s, DRIVERS, "kirimin")
    assert shift_card(es, "en", "Kirimin").narrative.startswith(
        "Net sentiment of Kirimin fell from +0.12 to -0.45 on 30 Nov 12:00\u201315:00 UTC "
        "(412 mentions), driven by delivery")
    assert shift_card(es, "id", "Kirimin").narrative.startswith(
        "Sentimen bersih Kirimin turun dari +0,12 menjadi -0,45 pada 30 Nov 12:00\u201315:00 UTC "
        "(412 sebutan), terutama soal pengiriman")


def test_brief_ranks_by_impact_and_builds_every_card_type() -> None:
    start, end = NOV30 - 6 * DAY, NOV30 + DAY
    c = compare(start, end, totals(400, 100, 100), totals(400, 100, 100),
                queries_current=[("kirimin", totals(300, 0, 0)), ("antaryuk", totals(100, 0, 0))],
                queries_previous=[("kirimin", totals(200, 0, 0)), ("antaryuk", totals(200, 0, 0))])
    rising = Driver(kind="aspect", value="price:negative", count=90, baseline_count=10, lift=9.0,
                    score=6.0, share=0.3, baseline_share=0.05, evidence_ids=("p1",),
                    terms=("biaya layanan",))
    clusters = coordinated_duplicates([fm(i, PROMO, f"fresh{i}", minutes=i) for i in range(6)])
    small = ExplainedSpike(spike(observed=30, expected=12, score=4.0), (), "antaryuk")
    big = ExplainedSpike(spike(), DRIVERS, "kirimin")
    names = {"kirimin": "Kirimin", "antaryuk": "AntarYuk", "gocepat": "GoCepat"}
    cards = build_brief(lang="en", start=start, end=end, spikes=[small, big], rising_aspects=[rising],
                        comparison=c, clusters=clusters, names=names)
    types = [card.type for card in cards]
    assert set(types) == {SPIKE, RISING_ASPECT, SHARE_OF_VOICE_CHANGE, COORDINATED_DUPLICATES}
    assert cards[0].type == SPIKE and "Kirimin" in cards[0].title
    # impact = size x unusualness: the big spike (279 excess x 12) leads; the small one
    # (18 x 4 = 72) still beats six copy-pasting accounts (6 posts x 6 authors = 36).
    assert cards[0].impact == pytest.approx(279 * 12)
    assert [(card.type, card.impact) for card in cards[-2:]] == [
        (SPIKE, pytest.approx(72.0)), (COORDINATED_DUPLICATES, 36.0)]
    assert "AntarYuk" in cards[-2].narrative
    impacts = [card.impact for card in cards]
    assert impacts == sorted(impacts, reverse=True)
    dup = next(card for card in cards if card.type == COORDINATED_DUPLICATES)
    assert dup.narrative.startswith("6 accounts posted near-identical text about GoCepat within 5 minutes")
    assert dup.filters["query_id"] == "gocepat" and "gocepat50" in dup.filters["q"]
    rise = next(card for card in cards if card.type == RISING_ASPECT)
    assert rise.narrative == ("Negative mentions about price rose from 10 to 90 (+800%) against the "
                              "previous period: 'biaya layanan'.")
    sov = [card for card in cards if card.type == SHARE_OF_VOICE_CHANGE]
    assert {card.metrics["query_id"] for card in sov} == {"kirimin", "antaryuk"}
    kir = next(card for card in sov if card.metrics["query_id"] == "kirimin")
    assert kir.narrative == ("Kirimin's share of voice rose from 50% to 75% (+25 points) against "
                             "the previous period.")
    idn = build_brief(lang="id", start=start, end=end, comparison=c, names=names)
    assert any("Pangsa percakapan Kirimin naik dari 50% menjadi 75% (+25 poin)" in card.narrative
               for card in idn)
    with pytest.raises(ValueError):
        build_brief(lang="fr", start=start, end=end)


def test_a_spike_that_is_mostly_a_coordinated_cluster_is_told_by_the_cluster_card() -> None:
    start, end = NOV30 - DAY, NOV30 + DAY
    clusters = coordinated_duplicates([fm(i, PROMO, f"fresh{i}", minutes=i) for i in range(12)])
    assert clusters and clusters[0].posts == 12
    campaign = ExplainedSpike(spike(metric="positive", observed=20, expected=4, score=9.0), (),
                              "gocepat")
    elsewhere = ExplainedSpike(spike(metric="negative", observed=20, expected=4, score=9.0), (),
                               "kirimin")
    larger = ExplainedSpike(spike(metric="positive", observed=80, expected=4, score=9.0), (),
                            "gocepat")
    cards = build_brief(lang="en", start=start, end=end, spikes=[campaign, elsewhere, larger],
                        clusters=clusters, names={"gocepat": "GoCepat", "kirimin": "Kirimin"})
    spikes = [(c.title, c.metrics["observed"]) for c in cards if c.type == SPIKE]
    # 12 copies are most of the 16 extra positive mentions, not of 76; another scope is untouched.
    assert sorted(spikes) == [("Spike in negative mentions of Kirimin", 20),
                              ("Spike in positive mentions of GoCepat", 80)]
    assert [c.type for c in cards].count(COORDINATED_DUPLICATES) == 1
