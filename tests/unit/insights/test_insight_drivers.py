"""Drivers on planted English and Indonesian texts, small-count damping, evidence."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from dengar_insights.domain.insight.drivers import (
    ASPECT,
    AUTHOR,
    PLATFORM,
    TERM,
    MentionFeatures,
    explain,
    features_from_doc,
    log_odds_z,
    rank_drivers,
    text_terms,
)

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)

BACKGROUND = [
    "makan siang pesan lewat kirimin enak banget",
    "promo kirimin hari ini lumayan hemat",
    "kirimin driver ramah, makasih pak",
    "ordered lunch with kirimin, tasty as usual",
    "kirimin app looks nice after the update",
    "nasi padang via kirimin mantap",
]
COMPLAINTS = [
    "paket kirimin belum sampai dari tadi pagi",
    "kirimin telat banget, pesanan belum sampai",
    "udah dua jam belum sampai, kirimin kenapa",
    "kurir kirimin telat lagi, paket hilang",
    "my kirimin order is late again, still not delivered",
    "kirimin delivery late, paket hilang katanya",
]


def mention(i: int, text: str, *, negative: bool = False, platform: str = "x",
            author: str | None = None, minutes: int = 0) -> MentionFeatures:
    aspects = (("delivery", "negative"),) if negative else (("product_quality", "positive"),)
    return MentionFeatures(id=f"m{i:04d}", created_at=T0 + timedelta(minutes=minutes), text=text,
                           sentiment="negative" if negative else "positive", aspects=aspects,
                           platform=platform, language="id", author=author or f"user{i}")


def windows() -> tuple[list[MentionFeatures], list[MentionFeatures]]:
    baseline = [mention(i, BACKGROUND[i % 6]) for i in range(60)]
    baseline += [mention(100 + i, COMPLAINTS[i % 6], negative=True) for i in range(4)]
    window = [mention(200 + i, BACKGROUND[i % 6]) for i in range(60)]
    window += [mention(300 + i, COMPLAINTS[i % 6], negative=True,
                       platform="x" if i % 3 else "reddit") for i in range(60)]
    return window, baseline


def test_text_terms_keep_phrases_with_negations_but_not_stop_words() -> None:
    terms = text_terms("Paket saya belum sampai, kurirnya telat banget!")
    assert "belum sampai" in terms and "telat" in terms and "paket" in terms
    assert "belum" not in terms and "saya" not in terms and "banget" not in terms
    assert "telat banget" not in terms  # "banget" is a stop word: no phrase with it
    assert "not delivered" in text_terms("still not delivered")


def test_planted_complaints_drive_the_window() -> None:
    window, baseline = windows()
    drivers = explain(window, baseline)
    by_kind: dict[str, list[str]] = {}
    for d in drivers:
        by_kind.setdefault(d.kind, []).append(d.value)
    assert by_kind[ASPECT][0] == "delivery:negative"
    top_terms = by_kind[TERM][:5]
    assert "belum sampai" in top_terms and "telat" in top_terms and "paket hilang" in top_terms
    # The brand name is everywhere in both windows: no driver.
    assert "kirimin" not in by_kind[TERM]
    # Stable background vocabulary is no driver either.
    assert "promo" not in by_kind[TERM] and "enak" not in by_kind[TERM]
    delivery = next(d for d in drivers if d.value == "delivery:negative")
    assert (delivery.count, delivery.baseline_count) == (60, 4)
    assert delivery.lift == 15.0
    assert 1 <= len(delivery.evidence_ids) <= 3
    assert all(e.startswith("m03") for e in delivery.evidence_ids)
    assert {"telat", "belum sampai"} & set(delivery.terms)


def test_evidence_is_typical_and_distinct() -> None:
    window, baseline = windows()
    d = next(d for d in explain(window, baseline) if d.value == "belum sampai")
    texts = [next(m.text for m in window if m.id == e) for e in d.evidence_ids]
    assert len(set(texts)) == len(texts)
    assert all("belum sampai" in t for t in texts)


def test_small_counts_are_damped() -> None:
    window = {TERM: Counter({"rare": 3, "outage": 120, "filler": 500})}
    baseline = {TERM: Counter({"outage": 40, "filler": 500})}
    z = log_odds_z(window[TERM], baseline[TERM])
    assert z["outage"] > z["rare"] > 0
    ranked = [d.value for d in rank_drivers(window, baseline)]
    assert ranked[0] == "outage"
    # Two mentions are below min_count however much they "grew".
    assert [d.value for d in rank_drivers({TERM: {"x": 2}}, {TERM: {}})] == []


def test_values_that_shrank_or_held_are_no_drivers() -> None:
    drivers = rank_drivers({PLATFORM: {"x": 50, "reddit": 50}}, {PLATFORM: {"x": 50, "reddit": 50}})
    assert drivers == []
    drivers = rank_drivers({PLATFORM: {"x": 90, "reddit": 10}}, {PLATFORM: {"x": 50, "reddit": 50}})
    assert [(d.value, d.count, d.baseline_count) for d in drivers] == [("x", 90, 50)]


def test_one_loud_author_is_a_driver() -> None:
    window, baseline = windows()
    window += [mention(500 + i, f"kirimin scam {i}", author="loud", minutes=i) for i in range(20)]
    authors = [d for d in explain(window, baseline) if d.kind == AUTHOR]
    assert [d.value for d in authors] == ["loud"]


def test_features_from_a_stored_document() -> None:
    doc = {"_id": "abc", "created_at": T0, "text": "Paket belum sampai", "title": "",
           "sentiment": {"label": "negative"}, "platform": "x", "language": "id",
           "aspects": [{"name": "delivery", "polarity": "negative", "confidence": 0.9}],
           "hashtags": ["#Kirimin"], "author": {"id": "u1", "handle": "budi"},
           "entities": [{"id": "kirimin", "kind": "brand", "surface": "Kirimin"}],
           "neardup_keys": ["mh1-128-00-aa"], "query_ids": ["q1"], "engagement_score": 7}
    m = features_from_doc(doc)
    assert m.values(ASPECT) == ("delivery:negative",)
    assert m.values("hashtag") == ("kirimin",)
    assert m.values(AUTHOR) == ("budi",)
    assert m.values("entity") == ("kirimin",)
    assert m.values("neardup") == ("mh1-128-00-aa",)
    assert "belum sampai" in m.values(TERM)
    assert m.engagement == 7 and m.query_ids == ("q1",)


def test_longer_baseline_is_scaled_to_the_window() -> None:
    # A 1-hour window against a 24-hour baseline: 30 of 40 posts say "error" now, 24 of 480 did.
    window = {TERM: {"error": 30, "makan": 10}}
    baseline = {TERM: {"error": 24, "makan": 456}}
    (d,) = rank_drivers(window, baseline, baseline_scale=1 / 24)
    assert (d.value, d.count, d.baseline_count) == ("error", 30, 1)
    assert d.lift == 30.0
