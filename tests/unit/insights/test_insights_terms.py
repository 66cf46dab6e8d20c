from __future__ import annotations

import pytest

from dengar_insights.domain.terms import MAX_TERM_LEN, MAX_TERMS, fold, query_terms, terms_of, tokens


def test_lowercase_and_diacritics_are_folded() -> None:
    assert fold("Café CRÈME Ñandú") == "cafe creme nandu"
    assert tokens("Crème BRÛLÉE!") == ["creme", "brulee"]


def test_compatibility_forms_become_plain_letters() -> None:
    # Full-width letters and ligatures, as pasted from some keyboards and PDFs.
    assert tokens("ＡＢＣ ﬁne") == ["abc", "fine"]


def test_indonesian_text() -> None:
    text = "Pengirimannya LAMBAT banget, anak-anak kecewa. Gak akan beli lagi di @TokoKita #KecewaBerat"
    terms = terms_of(text)
    assert terms[:3] == ["pengirimannya", "lambat", "banget"]
    assert "anak" in terms and "anak-anak" not in terms
    assert {"tokokita", "kecewaberat", "gak"} <= set(terms)
    # Terms are distinct even when a word repeats.
    assert terms.count("anak") == 1


def test_hashtags_mentions_and_underscores() -> None:
    assert terms_of("#MakanSiang bareng @budi_s") == ["makansiang", "bareng", "budi_s"]
    assert terms_of("___ __") == []


def test_emoji_are_single_terms_and_modifiers_are_dropped() -> None:
    terms = terms_of("Mantap 🔥🔥 👍🏽 ❤️")
    assert terms == ["mantap", "🔥", "👍", "❤"]
    assert query_terms("🔥") == ["🔥"]


@pytest.mark.parametrize("query", ["", "   ", "!!! ???"])
def test_queries_without_words_have_no_terms(query: str) -> None:
    assert query_terms(query) == []


def test_query_and_document_normalise_alike() -> None:
    doc = set(terms_of("Résumé ditolak: KECEWA"))
    assert set(query_terms("resume kecéwa")) <= doc


def test_bounds() -> None:
    assert tokens("a" * 500) == ["a" * MAX_TERM_LEN]
    many = " ".join(f"w{i}" for i in range(MAX_TERMS + 50))
    assert len(terms_of(many)) == MAX_TERMS
