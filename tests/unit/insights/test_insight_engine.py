"""The insight engine use case over in-memory fakes of its ports (rollups and bounded samples)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dengar_common.errors import InvalidArgument
from dengar_insights.domain.insight.drivers import ASPECT, TERM, MentionFeatures
from dengar_insights.domain.insight.spikes import BucketCounts
from dengar_insights.domain.rollups import Totals, floor_time
from dengar_insights.service_layer.insight_engine import (
    BriefRequest,
    CompareRequest,
    InsightEngine,
    Limits,
    QueryRef,
    SpikesRequest,
)

T0 = datetime(2026, 11, 22, tzinfo=UTC)
SPIKE_AT = T0 + timedelta(days=8, hours=14)
BRAND, RIVAL = "q_kirimin", "q_rival"
QUERIES = (QueryRef(BRAND, "Kirimin", "brand"), QueryRef(RIVAL, "Paketku", "competitor"))

BACKGROUND = [
    ("Pesanan sudah diterima, terima kasih kurirnya ramah", "id", "positive", ("delivery", "positive")),
    ("Harga ongkir lumayan untuk pengiriman antar kota", "id", "neutral", ("price", "neutral")),
    ("Ordered a new phone case through the app, easy checkout", "en", "neutral", ("app", "neutral")),
    ("Great courier, parcel arrived on time and well packed", "en", "positive", ("delivery", "positive")),
]
SPIKE_TEXTS = [
    ("Paket belum sampai sudah seminggu, pengiriman telat parah", "id"),
    ("Kurir bilang paket hilang, pengiriman telat terus", "id"),
    ("My package still not delivered, delivery late again", "en"),
    ("Package lost and delivery late, nobody answers", "en"),
]


@dataclass
class Store:
    """Mentions in memory, with the rollup counters computed from them (as ingest keeps them)."""

    mentions: list[MentionFeatures] = field(default_factory=list)
    samples: list[tuple[datetime, datetime, int]] = field(default_factory=list)
    bucket_reads: list[tuple[datetime, datetime]] = field(default_factory=list)

    def _in(self, start: datetime, end: datetime, query_id: str | None) -> list[MentionFeatures]:
        return [m for m in self.mentions if start <= m.created_at < end
                and (query_id is None or query_id in m.query_ids)]

    async def buckets(self, tenant_id: str, interval: str, start: datetime, end: datetime,
                      query_id: str | None) -> list[BucketCounts]:
        self.bucket_reads.append((start, end))
        acc: dict[datetime, list[int]] = {}
        for m in self._in(start, end, query_id):
            c = acc.setdefault(floor_time(m.created_at, interval), [0, 0, 0])
            c[0] += 1
            c[1] += m.sentiment == "negative"
            c[2] += m.sentiment == "positive"
        return [BucketCounts(t, *c) for t, c in sorted(acc.items())]

    def _totals(self, ms: Sequence[MentionFeatures]) -> Totals:
        t = Totals()
        for m in ms:
            t.add({"volume": 1, "sentiment": {m.sentiment: 1},
                   "aspects": {a: {p: 1} for a, p in m.aspects},
                   "platform": {m.platform: 1}, "language": {m.language: 1}})
        return t

    async def totals(self, tenant_id: str, start: datetime, end: datetime, scope: str | None,
                     query_ids: Sequence[str] = ()) -> tuple[Totals, dict[str, Totals]]:
        return (self._totals(self._in(start, end, scope)),
                {q: self._totals(self._in(start, end, q)) for q in query_ids})

    async def sample(self, tenant_id: str, start: datetime, end: datetime, query_id: str | None,
                     limit: int) -> list[MentionFeatures]:
        self.samples.append((start, end, limit))
        return self._in(start, end, query_id)[:limit]

    async def by_ids(self, tenant_id: str, ids: Sequence[str]) -> dict[str, Any]:
        return {m.id: {"_id": m.id, "text": m.text} for m in self.mentions if m.id in set(ids)}


def _mention(i: int, at: datetime, text: str, lang: str, sentiment: str, aspect: tuple[str, str], *,
             query: str, platform: str = "x", author: str | None = None) -> MentionFeatures:
    return MentionFeatures(id=f"m{i}", created_at=at, text=text, sentiment=sentiment,
                           aspects=(aspect,), platform=platform, language=lang,
                           author=author or f"user{i % 97}", query_ids=(query,))


def planted_store(*, coordinated: bool = False) -> Store:
    store = Store()
    n = 0
    for hour in range(9 * 24):
        at = T0 + timedelta(hours=hour)
        for k in range(12):
            text, lang, sent, aspect = BACKGROUND[(hour + k) % len(BACKGROUND)]
            # Each post its own words (a order number), so that organic posts are no copies.
            store.mentions.append(_mention(n, at + timedelta(minutes=k * 4), f"{text} order{n}",
                                           lang, sent, aspect,
                                           query=BRAND if k % 2 else RIVAL,
                                           platform="instagram" if k % 3 else "x"))
            n += 1
    for k in range(60):
        text, lang = SPIKE_TEXTS[k % len(SPIKE_TEXTS)]
        store.mentions.append(_mention(n, SPIKE_AT + timedelta(seconds=50 * k), f"{text} resi{n}",
                                       lang, "negative",
                                       ("delivery", "negative"), query=BRAND))
        n += 1
    if coordinated:
        for k in range(7):
            store.mentions.append(_mention(
                n, T0 + timedelta(days=8, hours=3, minutes=5 * k),
                "Pindah ke Paketku sekarang, promo gratis ongkir seluruh Indonesia!", "id", "positive",
                ("price", "positive"), query=RIVAL, author=f"bot{k}"))
            n += 1
    return store


def engine(store: Store, **limits: Any) -> InsightEngine:
    return InsightEngine(store, store, limits=Limits(**limits))


async def test_a_planted_spike_comes_back_with_its_en_and_id_drivers_and_evidence() -> None:
    store = planted_store()
    result = await engine(store).spikes(SpikesRequest(
        tenant_id="acme", start=T0 + timedelta(days=8), end=T0 + timedelta(days=9), interval="hour",
        metric="negative"))
    [found] = result.spikes
    spike = found.explained.spike
    assert (spike.start, spike.end) == (SPIKE_AT, SPIKE_AT + timedelta(hours=1))
    assert spike.observed == 60 and spike.expected == 0 and result.confidence == "high"
    # The baseline is a seasonal cycle (a day) before the spike.
    assert (found.baseline_start, found.baseline_end) == (SPIKE_AT - timedelta(days=1), SPIKE_AT)
    drivers = {(d.kind, d.value): d for d in found.explained.drivers}
    assert (ASPECT, "delivery:negative") in drivers
    terms = {v for k, v in drivers if k == TERM}
    assert terms & {"telat", "pengiriman telat", "delivery late"}, terms
    lead = drivers[(ASPECT, "delivery:negative")]
    assert lead.count == 60 and lead.baseline_count == 0 and lead.lift is None
    assert 1 <= len(lead.evidence_ids) <= 3
    assert set(lead.evidence_ids) <= set(result.evidence)
    spike_ids = {m.id for m in store.mentions if m.created_at >= SPIKE_AT and m.sentiment == "negative"}
    assert set(lead.evidence_ids) <= spike_ids


async def test_evidence_per_driver_is_honoured() -> None:
    store = planted_store()
    result = await engine(store).spikes(SpikesRequest(
        tenant_id="acme", start=T0 + timedelta(days=8), end=T0 + timedelta(days=9), interval="hour",
        metric="volume", evidence_per_driver=1))
    [found] = result.spikes
    assert found.explained.drivers and all(len(d.evidence_ids) <= 1 for d in found.explained.drivers)


async def test_reads_are_bounded_by_the_window_not_the_store() -> None:
    store = planted_store()
    # Far more posts long before the analysed range must not be read.
    for k in range(3000):
        store.mentions.append(_mention(10**6 + k, T0 - timedelta(days=60, minutes=k), "old news", "en",
                                       "neutral", ("app", "neutral"), query=BRAND))
    start = T0 + timedelta(days=8)
    await engine(store, sample_cap=50).spikes(SpikesRequest(
        tenant_id="acme", start=start, end=T0 + timedelta(days=9), interval="hour", metric="negative"))
    assert all(s >= start - timedelta(days=7) for s, _ in store.bucket_reads)
    assert store.samples and all(limit == 50 for _, _, limit in store.samples)
    assert all(e - s <= timedelta(days=1) for s, e, _ in store.samples)


async def test_a_new_brand_gets_low_confidence_and_no_invented_spike() -> None:
    store = Store([_mention(i, T0 + timedelta(hours=i), "halo", "id", "neutral", ("app", "neutral"),
                            query=BRAND) for i in range(3)])
    result = await engine(store).spikes(SpikesRequest(
        tenant_id="acme", start=T0, end=T0 + timedelta(days=1), interval="hour"))
    assert result.spikes == () and result.confidence == "low" and result.unjudged > 0


@pytest.mark.parametrize(("change", "field"), [
    ({"end": T0}, "end_time"),
    ({"interval": "week"}, "interval"),
    ({"metric": "loudness"}, "metric"),
    ({"end": T0 + timedelta(days=60)}, "interval"),
    ({"evidence_per_driver": 4}, "evidence_per_driver"),
])
async def test_spike_requests_are_validated(change: dict[str, Any], field: str) -> None:
    req = dict(tenant_id="acme", start=T0, end=T0 + timedelta(days=1), interval="hour")
    with pytest.raises(InvalidArgument) as err:
        await engine(Store()).spikes(SpikesRequest(**{**req, **change}))
    assert err.value.field == field


@pytest.mark.parametrize(("change", "field"), [
    ({"end": T0 - timedelta(days=2)}, "end_time"),
    ({"start": T0 - timedelta(days=400)}, "start_time"),
    ({"lang": "fr"}, "lang"),
    ({"limit": 0}, "limit"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
])
async def test_brief_requests_are_validated(change: dict[str, Any], field: str) -> None:
    req = dict(tenant_id="acme", start=T0 - timedelta(days=1), end=T0)
    with pytest.raises(InvalidArgument) as err:
        await engine(Store()).brief(BriefRequest(**{**req, **change}))
    assert err.value.field == field


async def test_compare_gives_deltas_and_share_of_voice() -> None:
    store = planted_store()
    start, end = T0 + timedelta(days=8), T0 + timedelta(days=9)
    cmp = await engine(store).compare(CompareRequest("acme", start, end, queries=QUERIES))
    assert cmp.previous_start == T0 + timedelta(days=7)
    assert (cmp.volume.current, cmp.volume.previous) == (12 * 24 + 60, 12 * 24)
    assert cmp.volume.relative == pytest.approx(60 / 288)
    assert cmp.sentiment["negative"].absolute == 60 and cmp.sentiment["negative"].relative is None
    assert set(cmp.share_of_voice) == {BRAND, RIVAL}
    assert cmp.share_of_voice[BRAND].absolute > 0 > cmp.share_of_voice[RIVAL].absolute
    assert cmp.aspects["delivery"]["negative"].current == 60
    assert "telat" in cmp.terms and cmp.terms["telat"].previous == 0


async def test_brief_ranks_the_spike_first_with_names_in_both_languages() -> None:
    store = planted_store(coordinated=True)
    start, end = T0 + timedelta(days=8), T0 + timedelta(days=9)
    en = await engine(store).brief(BriefRequest("acme", start, end, lang="en", queries=QUERIES))
    top = en.cards[0]
    assert top.type == "spike", [c.type for c in en.cards]
    assert "Negative mentions of Kirimin rose" in top.narrative and "delivery" in top.narrative
    assert top.filters["query_id"] == BRAND and top.filters["sentiment"] == "negative"
    assert top.evidence_mention_ids
    types = [c.type for c in en.cards]
    assert "coordinated_duplicates" in types
    dup = next(c for c in en.cards if c.type == "coordinated_duplicates")
    assert dup.metrics["authors"] == 7 and "Paketku" in dup.narrative
    impacts = [c.impact for c in en.cards]
    assert impacts == sorted(impacts, reverse=True)

    id_ = await engine(store).brief(BriefRequest("acme", start, end, lang="id", queries=QUERIES))
    assert id_.lang == "id" and id_.cards[0].type == "spike"
    assert "Sebutan negatif tentang Kirimin naik" in id_.cards[0].narrative


async def test_brief_of_one_query_stays_in_it() -> None:
    store = planted_store(coordinated=True)
    start, end = T0 + timedelta(days=8), T0 + timedelta(days=9)
    brief = await engine(store).brief(BriefRequest("acme", start, end, query_id=BRAND, queries=QUERIES))
    assert brief.cards and all(c.filters.get("query_id") in (BRAND, None) for c in brief.cards)
    assert "coordinated_duplicates" not in [c.type for c in brief.cards]


async def test_a_week_brief_finds_the_hourly_burst_and_the_wave_that_lasts_days() -> None:
    store = planted_store()
    n = len(store.mentions)
    # Two days of four extra fee complaints an hour about the rival: no hour is unusual, the
    # days are.
    for hour in range(6 * 24, 8 * 24):
        for k in range(4):
            store.mentions.append(_mention(
                n, T0 + timedelta(hours=hour, minutes=7 + 13 * k),
                f"Biaya layanan Paketku naik lagi, mahal banget sekarang tiket{n}", "id", "negative",
                ("price", "negative"), query=RIVAL))
            n += 1
    start, end = T0 + timedelta(days=2), T0 + timedelta(days=9)
    brief = await engine(store).brief(BriefRequest("acme", start, end, queries=QUERIES, limit=20))
    spikes = [c for c in brief.cards if c.type == "spike"]
    burst = [c for c in spikes if c.filters.get("query_id") == BRAND]
    wave = [c for c in spikes if c.filters.get("query_id") == RIVAL]
    assert [c.metrics["interval"] for c in burst] == ["hour"], [c.narrative for c in spikes]
    assert [c.metrics["interval"] for c in wave] == ["day"], [c.narrative for c in spikes]
    assert wave[0].metrics["metric"] == "negative" and "Paketku" in wave[0].narrative
    assert wave[0].metrics["start"] == "2026-11-28T00:00:00Z"
    assert wave[0].metrics["end"] == "2026-11-30T00:00:00Z"
    assert any(d.kind == ASPECT and d.value == "price:negative" for d in wave[0].drivers)


async def test_windows_at_the_start_of_the_calendar_have_no_history_but_answer() -> None:
    # Found by the API fuzzer: the history before year 1 overflowed (a 502 at /v1/insights/brief).
    start = datetime(1, 1, 1, 21, tzinfo=UTC)
    brief = await engine(Store()).brief(BriefRequest("acme", start, start + timedelta(hours=1),
                                                     queries=QUERIES))
    assert not brief.cards
    spikes = await engine(Store()).spikes(SpikesRequest("acme", start, start + timedelta(hours=1)))
    assert not spikes.spikes
