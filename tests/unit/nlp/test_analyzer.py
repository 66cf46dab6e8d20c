"""The Analyzer end to end on the shipped models (self-written texts only)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from dengar_nlp.adapters.onnx_models import load_analyzer
from dengar_nlp.domain.results import EMOTION_LABELS, SENTIMENT_LABELS, Analysis
from dengar_nlp.domain.text import prepare_text
from dengar_nlp.service_layer.analyzer import Analyzer

MODELS = Path(__file__).resolve().parents[3] / "services" / "nlp" / "models"


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Analyzer:
    entities = tmp_path_factory.mktemp("entities") / "entities.json"
    entities.write_text(json.dumps([
        {"id": "gojek", "kind": "brand", "name": "Gojek", "aliases": ["GoJek", "@gojekindonesia"]},
        {"id": "gopay", "kind": "product", "name": "GoPay", "aliases": []},
    ]), encoding="utf-8")
    return load_analyzer(MODELS, threads=2, entities_file=entities)


def _check_shape(a: Analysis) -> None:
    assert a.sentiment.label in SENTIMENT_LABELS
    assert set(a.sentiment.scores) == set(SENTIMENT_LABELS)
    assert sum(a.sentiment.scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert a.emotion.label in (*EMOTION_LABELS, "")
    assert sum(a.emotion.scores.values()) == pytest.approx(1.0, abs=1e-4)
    for asp in a.aspects:
        assert asp.polarity in SENTIMENT_LABELS
        assert 0.0 <= asp.confidence <= 1.0
    assert a.model_version.startswith("dengar-nlp-")
    a.to_dict(include_embedding=True)  # serialisable


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I love this phone, the camera is absolutely amazing!", "positive"),
        ("Worst customer service ever. Three weeks and still no refund. Never again.", "negative"),
        ("Pelayanannya ramah, cepat, dan sangat membantu. Terima kasih banyak!", "positive"),
        ("Kecewa berat, barangnya rusak dan penjualnya tidak mau tanggung jawab.", "negative"),
        ("anjir keren parah sih, suka bgt sama produknya 😍😍", "positive"),
        ("parah bgt, udh bayar mahal2 malah dpt barang zonk. kapok!!", "negative"),
    ],
)
def test_obvious_sentiment(analyzer: Analyzer, text: str, label: str) -> None:
    (a,) = analyzer.analyze([text])
    _check_shape(a)
    assert a.sentiment.label == label, a.sentiment


def test_indonesian_slang_language(analyzer: Analyzer) -> None:
    (a,) = analyzer.analyze(["wkwk gaes, harganya mahal bgt sih, mending beli yg lain aja"])
    assert a.language == "id"
    assert a.sentiment.label == "negative"
    assert any(x.name == "price" for x in a.aspects)


def test_mixed_polarity_aspects(analyzer: Analyzer) -> None:
    (a,) = analyzer.analyze(["makanannya enak tapi pengirimannya telat banget"])
    got = {x.name: x.polarity for x in a.aspects}
    assert got.get("product_quality") == "positive", a.aspects
    assert got.get("delivery") == "negative", a.aspects


def test_english_aspects(analyzer: Analyzer) -> None:
    (a,) = analyzer.analyze(["The app keeps crashing and customer service never answers my emails."])
    got = {x.name: x.polarity for x in a.aspects}
    assert got.get("app") == "negative" and got.get("customer_service") == "negative", a.aspects


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \n"])
def test_empty_text_has_a_defined_result(analyzer: Analyzer, text: str) -> None:
    (a,) = analyzer.analyze([text], include_embedding=True)
    _check_shape(a)
    assert a.language == "und" and a.language_confidence == 0.0
    assert a.sentiment.label == "neutral"
    assert a.sentiment.scores == pytest.approx(dict.fromkeys(SENTIMENT_LABELS, 1 / 3))
    assert a.emotion.label == ""
    assert a.aspects == () and a.entities == () and a.neardup_keys == ()
    assert a.embedding is not None and a.embedding.shape == (384,) and not a.embedding.any()


def test_emoji_only(analyzer: Analyzer) -> None:
    (a,) = analyzer.analyze(["😂😂😂🔥👍🏽"])
    _check_shape(a)
    assert a.language == "und"
    assert a.signals.emojis == ("😂", "😂", "😂", "🔥", "👍🏽")


def test_very_long_post(analyzer: Analyzer) -> None:
    text = ("pelayanannya lambat tapi harganya murah. " * 300)[:10_000]
    t0 = time.perf_counter()
    (a,) = analyzer.analyze([text])
    assert time.perf_counter() - t0 < 10.0
    _check_shape(a)
    assert len(text) == 10_000 and a.language == "id"


@pytest.mark.parametrize("errors", ["replace", "surrogateescape"])
def test_invalid_utf8(analyzer: Analyzer, errors: str) -> None:
    raw = b"caf\xe9 ini enak \xff\xfe banget \xed\xa0\x80 @gojekindonesia http://x.co/\xc3"
    text = raw.decode("utf-8", errors=errors)
    (a,) = analyzer.analyze([text], include_embedding=True)
    _check_shape(a)
    assert a.signals.mentions == ("gojekindonesia",)
    assert [e.id for e in a.entities] == ["gojek"]
    assert a.embedding is not None and np.isfinite(a.embedding).all()
    prepared = prepare_text(text)
    assert "\ufffd" not in prepared and not any("\ud800" <= c <= "\udfff" for c in prepared)


def test_mixed_languages_and_signals(analyzer: Analyzer) -> None:
    text = "Meeting hari ini di-cancel lagi, so sad banget 😭 #kerjaan @bosku https://news.detik.com/x"
    (a,) = analyzer.analyze([text])
    _check_shape(a)
    assert a.language in {"id", "en"}
    assert a.signals.hashtags == ("kerjaan",)
    assert a.signals.domains == ("detik.com",)
    assert len(a.neardup_keys) == 32


def test_entities(analyzer: Analyzer) -> None:
    (a,) = analyzer.analyze(["Gojek-nya telat terus, saldo GoPay kepotong dua kali"])
    assert [(e.id, e.surface) for e in a.entities] == [("gojek", "Gojek"), ("gopay", "GoPay")]
    assert "payment" in {x.name for x in a.aspects}


TEXTS = [
    "I love this phone, the camera is absolutely amazing!",
    "makanannya enak tapi pengirimannya telat banget",
    "",
    "😂😂😂",
    "Flight delayed 3 hours and nobody at the gate told us anything. #fail",
    "wis suwe ora mangan sate, enak tenan",
    "harganya cuma 5 ribu, murah meriah",
]


def test_deterministic(analyzer: Analyzer) -> None:
    assert analyzer.analyze(TEXTS) == analyzer.analyze(TEXTS)


def test_batch_equals_single(analyzer: Analyzer) -> None:
    batch = analyzer.analyze(TEXTS, include_embedding=True)
    for text, b in zip(TEXTS, batch, strict=True):
        (single,) = analyzer.analyze([text], include_embedding=True)
        assert single == b
        assert single.embedding is not None and b.embedding is not None
        np.testing.assert_array_equal(single.embedding, b.embedding)


def _same(a: list[Analysis], b: list[Analysis]) -> None:
    assert a == b
    for x, y in zip(a, b, strict=True):
        assert x.embedding is not None and y.embedding is not None
        np.testing.assert_array_equal(x.embedding, y.embedding)


@pytest.mark.parametrize("threads", [2, 3])
def test_posts_in_parallel_give_the_results_of_one_analysis_at_a_time(threads: int) -> None:
    # The default (parallelism="posts") splits a batch over `threads` chunks analysed at once; it must
    # not change any post's result against the pre-issue-13 path, whatever the chunk boundaries.
    batch = [*TEXTS, "", *TEXTS[::-1], "ok"]
    serial = load_analyzer(MODELS, threads=2, parallelism="operators")
    parallel = load_analyzer(MODELS, threads=threads)
    assert (serial.workers, parallel.workers) == (1, threads)
    try:
        _same(parallel.analyze(batch, include_embedding=True), serial.analyze(batch, include_embedding=True))
        # Fewer posts than workers, and a worker pool that was closed and starts again.
        parallel.close()
        _same(parallel.analyze(TEXTS[:1], include_embedding=True),
              serial.analyze(TEXTS[:1], include_embedding=True))
        _same(parallel.analyze(batch, include_embedding=True), serial.analyze(batch, include_embedding=True))
    finally:
        parallel.close()


def test_parallelism_and_workers_are_checked() -> None:
    with pytest.raises(ValueError, match="parallelism"):
        load_analyzer(MODELS, parallelism="cores")  # type: ignore[arg-type]  # a bad value on purpose
    with pytest.raises(ValueError, match="workers"):
        Analyzer(encoder=None, language_identifier=None, heads={}, workers=0)  # type: ignore[arg-type]  # no models: fails first


def test_embedding_only_when_asked(analyzer: Analyzer) -> None:
    (a,) = analyzer.analyze(["hello world"])
    assert a.embedding is None
    (b,) = analyzer.analyze(["hello world"], include_embedding=True)
    assert b.embedding is not None and float(np.linalg.norm(b.embedding)) == pytest.approx(1.0, abs=1e-3)


def test_empty_batch(analyzer: Analyzer) -> None:
    assert analyzer.analyze([]) == []


@pytest.mark.parametrize("bad", [[None], ["ok", 3], [b"bytes"]])
def test_non_str_items_raise_type_error(analyzer: Analyzer, bad: list[object]) -> None:
    with pytest.raises(TypeError):
        analyzer.analyze(bad)  # type: ignore[arg-type]  # bad on purpose


@pytest.mark.parametrize("bad", ["a single string", b"bytes", None, 42])
def test_non_sequence_raises_type_error(analyzer: Analyzer, bad: object) -> None:
    with pytest.raises(TypeError):
        analyzer.analyze(bad)  # type: ignore[arg-type]  # bad on purpose


def test_model_version_is_stable(analyzer: Analyzer) -> None:
    again = load_analyzer(MODELS, threads=1)
    assert again.model_version == analyzer.model_version
    assert again.analyze(TEXTS) == analyzer.analyze(TEXTS)


def test_protobuf_conversion(analyzer: Analyzer) -> None:
    from dengar_nlp.entrypoints.protoconv import to_enrichment

    for text, a in zip(TEXTS, analyzer.analyze(TEXTS, include_embedding=True), strict=True):
        enr = to_enrichment(a, include_embedding=True)
        assert enr.model_version == analyzer.model_version
        assert len(enr.embedding) == 384
        # The compact form always travels (empty for a text with nothing to embed); the float32
        # vector only when asked for.
        compact = to_enrichment(a)
        assert len(compact.embedding_i8) == (384 if text.strip() else 0) and not compact.embedding
        assert compact.embedding_i8 == enr.embedding_i8
    [empty] = analyzer.analyze([""], include_embedding=True)
    assert to_enrichment(empty).embedding_i8 == b""


def test_indonesian_emotion_sanity_set(analyzer: Analyzer) -> None:
    # 40 self-written Indonesian sentences (10 per emotion); the emotion head saw only English tweets.
    # Measured 32/40 on the fast (bundled) set, 36/40 on the quality one (METRICS.md); the bar is a
    # little lower so that a retrain can move a case or two, but a head that no longer transfers across
    # languages fails.
    items = json.loads((Path(__file__).parent / "fixtures" / "emotion_id_sanity.json").read_text("utf-8"))
    assert len(items) == 40 and {i["label"] for i in items} == set(EMOTION_LABELS)
    results = analyzer.analyze([i["text"] for i in items])
    correct = sum(r.emotion.label == i["label"] for r, i in zip(results, items, strict=True))
    assert correct >= 30, f"{correct}/40"
