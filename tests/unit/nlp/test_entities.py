from __future__ import annotations

import time

import pytest

from dengar_nlp.domain.entities import EntityMatcher, EntitySpec, alias_key


@pytest.fixture(scope="module")
def matcher() -> EntityMatcher:
    return EntityMatcher(
        [
            EntitySpec("gojek", "brand", "Gojek", ("GO-JEK", "#gojek", "@gojekindonesia", "Gojek Indonesia")),
            EntitySpec("gopay", "product", "GoPay", ("Go Pay",)),
            EntitySpec("cafe-batik", "brand", "Café Batik"),
            EntitySpec("grab", "brand", "Grab"),
            EntitySpec("ovo", "brand", "OVO"),
        ]
    )


def ids(matcher: EntityMatcher, text: str) -> list[tuple[str, str]]:
    return [(m.entity_id, m.surface) for m in matcher.find(text)]


def test_case_and_separator_variants(matcher: EntityMatcher) -> None:
    assert ids(matcher, "Gojek, GO-JEK, gojek, Go_Jek") == [
        ("gojek", "Gojek"), ("gojek", "GO-JEK"), ("gojek", "gojek"), ("gojek", "Go_Jek"),
    ]  # fmt: skip


def test_diacritics_both_ways(matcher: EntityMatcher) -> None:
    assert ids(matcher, "ngopi di cafe batik lalu CAFÉ BATIK lagi") == [
        ("cafe-batik", "cafe batik"),
        ("cafe-batik", "CAFÉ BATIK"),
    ]


def test_indonesian_suffixes_match_but_other_words_do_not(matcher: EntityMatcher) -> None:
    found = matcher.find("gojeknya telat, gopayku kosong, gojek-nya lagi, gojekan, grabbed, ovomaltine")
    assert [(m.entity_id, m.surface) for m in found] == [
        ("gojek", "gojek"), ("gopay", "gopay"), ("gojek", "gojek"),
    ]  # fmt: skip
    # The span covers the brand only, not the enclitic.
    assert found[0].start == 0 and found[0].end == 5


def test_english_possessive_and_punctuation(matcher: EntityMatcher) -> None:
    assert ids(matcher, "Grab's driver (OVO).") == [("grab", "Grab"), ("ovo", "OVO")]


def test_hashtags_and_handles(matcher: EntityMatcher) -> None:
    assert ids(matcher, "#Gojek #gojekmurah @GojekIndonesia") == [
        ("gojek", "#Gojek"),
        ("gojek", "@GojekIndonesia"),
    ]


def test_longest_alias_wins(matcher: EntityMatcher) -> None:
    assert ids(matcher, "Gojek Indonesia rilis fitur") == [("gojek", "Gojek Indonesia")]


def test_spans_point_into_original_text(matcher: EntityMatcher) -> None:
    text = "Straße 😂 İi — Café Batik & Gojek"
    for m in matcher.find(text):
        assert text[m.start : m.end] == m.surface


def test_shared_alias_reports_every_owner() -> None:
    m = EntityMatcher([EntitySpec("a", "brand", "Apple"), EntitySpec("b", "product", "apple")])
    assert {(x.entity_id, x.kind) for x in m.find("apple")} == {("a", "brand"), ("b", "product")}


def test_bad_config_and_input() -> None:
    with pytest.raises(ValueError):
        EntityMatcher([EntitySpec("x", "person", "X")])
    with pytest.raises(ValueError):
        EntityMatcher([EntitySpec("", "brand", "X")])
    empty = EntityMatcher([])
    assert empty.find("gojek") == []
    with pytest.raises(ValueError):
        empty.find(None)  # type: ignore[arg-type]  # bad on purpose
    assert alias_key(" GO-JEK ") == "gojek"


def test_lone_surrogates_and_long_text(matcher: EntityMatcher) -> None:
    raw = b"\xff gojek \xfe".decode("utf-8", "surrogateescape")
    assert ids(matcher, raw) == [("gojek", "gojek")]
    assert ids(matcher, "\ufffdgojek\ufffd") == [("gojek", "gojek")]
    long_text = "pakai gojek dan grab 😂 " * 450
    t0 = time.perf_counter()
    assert len(matcher.find(long_text)) == 900
    assert time.perf_counter() - t0 < 1.0
