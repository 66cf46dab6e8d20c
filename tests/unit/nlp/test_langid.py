from __future__ import annotations

import numpy as np
import pytest

from dengar_nlp.adapters.langid_onnx import DEFAULT_MODEL_DIR, load_language_identifier
from dengar_nlp.domain.langid import (
    UND,
    LanguageIdentifier,
    clean_for_langid,
    featurize,
    indonesian_slang_hits,
    malay_lexicon_score,
)


@pytest.fixture(scope="module")
def ident() -> LanguageIdentifier:
    return load_language_identifier(DEFAULT_MODEL_DIR)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("the delivery was late again and nobody answered my calls", "en"),
        ("lol this is so true 😂", "en"),
        ("gak nyangka pelayanannya separah ini, kecewa banget sama aplikasinya", "id"),
        ("wkwk emang bener sih, harganya mahal bgt", "id"),
        ("anjir macet parah", "id"),
        ("sumpah gue ngakak 😂😂", "id"),
        ("aku wis ora kuat maneh, dalane macet banget", "jv"),
        ("abdi mah teu resep kana rasana, mahal teuing", "su"),
        ("korang dah tengok filem baru tu? best gila", "ms"),
        ("saya mahu tanya pasal cuti sekolah bulan depan kerana anak saya", "ms"),
        ("ich habe keine Zeit, vielleicht morgen", "other"),
        ("東京は今日とても暑いです", "other"),
        ("Привет, как дела?", "other"),
    ],
)
def test_languages(ident: LanguageIdentifier, text: str, lang: str) -> None:
    result = ident.identify(text)
    assert result.language == lang, result
    assert 0.0 < result.confidence <= 1.0


@pytest.mark.parametrize(
    "text", ["", "   ", "😂😂😂", "👍🏽", "ok", "123 456", "https://t.co/abc @budi", "#"]
)
def test_und_for_texts_without_language(ident: LanguageIdentifier, text: str) -> None:
    result = ident.identify(text)
    assert result.language == UND
    assert result.confidence == 0.0


def test_bad_input_raises_value_error(ident: LanguageIdentifier) -> None:
    with pytest.raises(ValueError):
        ident.identify(None)  # type: ignore[arg-type]  # bad on purpose
    with pytest.raises(ValueError):
        ident.identify_many(["ok", b"bytes"])  # type: ignore[list-item]  # bad on purpose


def test_broken_unicode_and_long_text(ident: LanguageIdentifier) -> None:
    raw = b"makanannya enak \xff\xfe banget, \xf0\x9f\x98 mantap".decode("utf-8", "surrogateescape")
    assert ident.identify(raw).language == "id"
    replaced = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    assert ident.identify(replaced).language == "id"
    long_text = ("the service was great and the staff were friendly " * 250)[:10_000]
    assert ident.identify(long_text).language == "en"


def test_mixed_language_gives_a_defined_answer(ident: LanguageIdentifier) -> None:
    result = ident.identify("meeting nya jam berapa ya? I think we should reschedule")
    assert result.language in {"en", "id"}


def test_batch_matches_single(ident: LanguageIdentifier) -> None:
    texts = ["gak jelas banget", "", "what a game", "😂", "abdi teu terang"]
    assert ident.identify_many(texts) == [ident.identify(t) for t in texts]


def test_fancy_unicode_letters_are_normalised() -> None:
    assert clean_for_langid("𝐛𝐚𝐠𝐮𝐬 ＢＡＮＧＥＴ https://x.co @a RT") == "bagus banget rt"
    assert clean_for_langid("RT @a: mantappp!!!") == "mantapp"


def test_features_are_deterministic_and_bounded() -> None:
    ids1, vals1 = featurize(["halo dunia", ""], 1 << 10)
    ids2, vals2 = featurize(["halo dunia", ""], 1 << 10)
    assert np.array_equal(ids1, ids2) and np.array_equal(vals1, vals2)
    assert ids1.max() <= 1 << 10 and ids1.min() >= 0
    assert np.isclose(np.linalg.norm(vals1[0]), 1.0)
    assert np.all(vals1[1] == 0)


def test_indonesian_slang_hits() -> None:
    assert indonesian_slang_hits("gue otw wkwkwk") == 3
    assert indonesian_slang_hits("aku wis tekan omah") == 0


def test_malay_lexicon_prefers_indonesian_slang() -> None:
    assert malay_lexicon_score("awak nak pergi mana kerana") > 2
    assert malay_lexicon_score("gak tau deh kok gitu banget") < 0


def test_domain_works_with_any_scorer() -> None:
    # A stub scorer: the rules (und, script, Malay lexicon, folding to "other") need no model.
    labels = ["en", "id", "min", "xx"]

    def scorer(ids: np.ndarray, vals: np.ndarray) -> np.ndarray:
        out = np.tile(np.array([0.1, 0.6, 0.2, 0.1]), (ids.shape[0], 1))
        return out

    stub = LanguageIdentifier(scorer, labels, 1 << 8, class_prior={})
    assert stub.identify("apa saja").language == "id"
    assert stub.identify("awak nak pergi mana kerana").language == "ms"
    assert stub.identify("").language == UND
    other = LanguageIdentifier(
        lambda i, v: np.tile([0.1, 0.2, 0.4, 0.3], (i.shape[0], 1)), labels, 256, class_prior={}
    )
    result = other.identify("horas bah")
    assert result.language == "other" and result.detail == "min"
    with pytest.raises(ValueError):
        LanguageIdentifier(scorer, [], 256)
