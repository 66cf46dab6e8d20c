"""The insight engine against the real store: posts in through ingest, spikes/compare/brief out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from insights_helpers import Env, enriched, ts

from dengar.v1 import common_pb2, insights_pb2
from dengar_common.ids import mention_id

NEG, POS = common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_POSITIVE
START = datetime(2026, 11, 20, tzinfo=UTC)
SPIKE_AT = START + timedelta(hours=30)
BRAND, RIVAL = "q_brand00000000001", "q_rival00000000002"
COMPLAINTS = ["Paket belum sampai, pengiriman telat parah {n}",
              "Pengiriman telat lagi, kurir hilang kabar {n}",
              "My package is not delivered, delivery late again {n}",
              "Delivery late and nobody answers the chat {n}"]


@pytest.fixture
async def planted(env: Env) -> Env:
    n = 0
    for hour in range(36):
        for k in range(2):
            n += 1
            env_post = enriched("acme", f"bg{n}", text=f"Kurir ramah, pesanan diterima baik nomor{n}",
                                sentiment=POS, aspects=(("delivery", POS),),
                                created_at=START + timedelta(hours=hour, minutes=20 * k),
                                query_ids=(BRAND if k else RIVAL,))
            await env.send(env_post)
    for k in range(20):
        await env.send(enriched(
            "acme", f"sp{k}", text=COMPLAINTS[k % 4].format(n=f"resi{k}"), sentiment=NEG,
            language="id" if k % 4 < 2 else "en", aspects=(("delivery", NEG),),
            created_at=SPIKE_AT + timedelta(minutes=2 * k), query_ids=(BRAND,)))
    # Another tenant with the same query id: never part of acme's answers.
    for k in range(12):
        await env.send(enriched("beta", f"b{k}", text="Pengiriman telat parah", sentiment=NEG,
                                aspects=(("delivery", NEG),), created_at=SPIKE_AT, query_ids=(BRAND,)))
    await env.settle()
    return env


def spikes_request(tenant: str = "acme", **kw: object) -> insights_pb2.GetSpikesRequest:
    return insights_pb2.GetSpikesRequest(
        tenant_id=tenant, start_time=ts(START + timedelta(hours=24)),
        end_time=ts(START + timedelta(hours=36)), interval=insights_pb2.INTERVAL_HOUR,
        metric=insights_pb2.SPIKE_METRIC_NEGATIVE, **kw)  # type: ignore[arg-type]  # loose kwargs


async def test_planted_spike_with_en_and_id_drivers_and_evidence(planted: Env) -> None:
    for query_id in ("", BRAND):
        resp = await planted.stub.GetSpikes(spikes_request(query_id=query_id))
        [spike] = resp.spikes
        assert spike.start_time.ToDatetime(tzinfo=UTC) == SPIKE_AT
        # Volume: the 20 complaints and the hour's background posts of the scope.
        assert spike.observed == 20 and spike.expected == 0
        assert spike.volume == (22 if not query_id else 21)
        drivers = {(d.kind, d.value): d for d in spike.drivers}
        aspect = drivers[("aspect", "delivery:negative")]
        assert aspect.count == 20 and aspect.baseline_count == 0 and not aspect.HasField("lift")
        terms = {v for k, v in drivers if k == "term"}
        assert "telat" in terms or "pengiriman telat" in terms, terms
        assert terms & {"delivery late", "late", "delivery"}, terms
        assert 1 <= len(aspect.evidence) <= 3
        assert [m.id for m in aspect.evidence] == list(aspect.evidence_mention_ids)
        for m in aspect.evidence:
            assert m.tenant_id == "acme" and m.post.external_id.startswith("sp")
    # The rival's counters hold none of it.
    rival = await planted.stub.GetSpikes(spikes_request(query_id=RIVAL))
    assert list(rival.spikes) == []


async def test_another_tenant_sees_only_its_own(planted: Env) -> None:
    resp = await planted.stub.GetSpikes(spikes_request("beta"))
    for spike in resp.spikes:
        for d in spike.drivers:
            assert all(m.tenant_id == "beta" for m in d.evidence)
    assert all(s.observed == 12 for s in resp.spikes)
    empty = await planted.stub.GetSpikes(spikes_request("gamma"))
    assert list(empty.spikes) == [] and empty.confidence == "low"


async def test_compare_and_brief(planted: Env) -> None:
    queries = [insights_pb2.QueryRef(id=BRAND, name="Kirimin", role="brand"),
               insights_pb2.QueryRef(id=RIVAL, name="Paketku", role="competitor")]
    day2 = (ts(START + timedelta(hours=24)), ts(START + timedelta(hours=48)))
    cmp = await planted.stub.ComparePeriods(insights_pb2.ComparePeriodsRequest(
        tenant_id="acme", start_time=day2[0], end_time=day2[1], queries=queries))
    assert (cmp.volume.current, cmp.volume.previous) == (24 + 20, 48)
    assert cmp.sentiment["negative"].current == 20 and not cmp.sentiment["negative"].HasField("relative")
    assert set(cmp.share_of_voice) == {BRAND, RIVAL}
    assert cmp.share_of_voice[BRAND].absolute > 0

    for lang, phrase in (("en", "Negative mentions of Kirimin rose"),
                         ("id", "Sebutan negatif tentang Kirimin naik")):
        brief = await planted.stub.GetBrief(insights_pb2.GetBriefRequest(
            tenant_id="acme", start_time=day2[0], end_time=day2[1], lang=lang, queries=queries))
        top = brief.cards[0]
        assert brief.lang == lang and top.type == "spike", [c.type for c in brief.cards]
        assert phrase in top.narrative, top.narrative
        assert top.filters["query_id"] == BRAND and top.evidence_mention_ids
        assert top.metrics["observed"].number_value == 20


@pytest.mark.parametrize(("change", "field"), [
    ({"end_time": ts(START)}, "end_time"),
    ({"metric": 42}, "metric"),
    ({"interval": 9}, "interval"),
    ({"start_time": ts(START - timedelta(days=400))}, "interval"),
])
async def test_spike_requests_are_validated(env: Env, change: dict[str, object], field: str) -> None:
    req = spikes_request()
    for k, v in change.items():
        if isinstance(v, int):
            setattr(req, k, v)
        else:
            getattr(req, k).CopyFrom(v)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.GetSpikes(req)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(err.value.trailing_metadata() or ())["dengar-error-field"] == field


async def test_brief_lang_is_validated(env: Env) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.GetBrief(insights_pb2.GetBriefRequest(
            tenant_id="acme", start_time=ts(START), end_time=ts(START + timedelta(days=1)), lang="fr"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(err.value.trailing_metadata() or ())["dengar-error-field"] == "lang"


async def test_a_spike_no_driver_explains_still_shows_evidence(env: Env) -> None:
    # The same everyday posts, two an hour, then twenty of them in one hour: more mentions, but
    # nothing in them that the baseline lacks (no term, aspect, platform or language driver).
    texts = ["Pesanan sudah diterima, terima kasih kurir", "Makan siang hari ini pesan lewat aplikasi"]
    for hour in range(36):
        for k in range(2):
            await env.send(enriched("acme", f"bg{hour}-{k}", text=texts[k], sentiment=POS,
                                    created_at=START + timedelta(hours=hour, minutes=20 * k),
                                    query_ids=(BRAND,)))
    for k in range(20):
        await env.send(enriched("acme", f"sp{k}", text=texts[k % 2], sentiment=POS,
                                created_at=SPIKE_AT + timedelta(minutes=2 * k), query_ids=(BRAND,)))
    await env.settle()
    brief = await env.stub.GetBrief(insights_pb2.GetBriefRequest(
        tenant_id="acme", start_time=ts(START + timedelta(hours=24)),
        end_time=ts(START + timedelta(hours=48)), lang="en",
        queries=[insights_pb2.QueryRef(id=BRAND, name="Kirimin", role="brand")]))
    spikes = [c for c in brief.cards if c.type == "spike"]
    assert spikes, [(c.type, c.narrative) for c in brief.cards]
    top = spikes[0]
    assert "driven by" not in top.narrative and not top.drivers, top.narrative
    ids = list(top.evidence_mention_ids)
    assert 1 <= len(ids) <= 3
    window = {mention_id("acme", "x", f"sp{k}") for k in range(20)} | {
        mention_id("acme", "x", f"bg30-{k}") for k in range(2)}
    assert set(ids) <= window, ids
