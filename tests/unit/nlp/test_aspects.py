from __future__ import annotations

import numpy as np
import pytest

from dengar_nlp.domain.aspects import (
    ASPECT_NAMES,
    KEYWORD_CONFIDENCE,
    TAXONOMY,
    AspectLexicon,
    default_lexicon,
    detect_aspects,
    plan_aspects,
    resolve_aspects,
    split_clauses,
)


def _texts(text: str) -> list[str]:
    return [c.text for c in split_clauses(text)]


# --- taxonomy ------------------------------------------------------------------------------------


def test_taxonomy_is_bilingual_and_complete() -> None:
    required = {"customer_service", "price", "product_quality", "delivery", "booking", "app", "staff",
                "availability", "cleanliness", "safety"}
    assert required <= set(ASPECT_NAMES)
    assert len(set(ASPECT_NAMES)) == len(ASPECT_NAMES)
    for a in TAXONOMY:
        assert a.label_en and a.label_id and a.description_en and a.description_id
        assert len(a.keywords) >= 5
        assert len(a.prototypes) >= 10


def test_every_prototype_is_found_by_some_keyword_or_is_deliberately_implicit() -> None:
    # Seed phrases are training positives; most should also trip the lexicon of their own aspect.
    lex = default_lexicon()
    for a in TAXONOMY:
        hit = sum(a.name in lex.aspects(p) for p in a.prototypes)
        assert hit >= len(a.prototypes) // 2, (a.name, hit)


# --- clauses -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("makanannya enak tapi pengirimannya telat banget",
         ["makanannya enak", "pengirimannya telat banget"]),
        ("The food was great, but the service was slow.", ["The food was great", "the service was slow"]),
        ("Although the room was clean the wifi never worked", ["the room was clean the wifi never worked"]),
        ("harganya murah. kualitasnya jelek!", ["harganya murah", "kualitasnya jelek"]),
        ("enak sih, namun agak mahal; parkir susah", ["enak sih", "agak mahal", "parkir susah"]),
        ("bagus tp mahal bgt", ["bagus tp mahal bgt"]),  # two one-word pieces are glued back together
        ("barangnya bagus tp pengirimannya lama", ["barangnya bagus", "pengirimannya lama"]),
        ("harganya cuma 5 ribu", ["harganya cuma 5 ribu"]),  # "cuma" = "only" here: no one-word clause
        ("Well, I think the price is fair", ["Well, I think the price is fair"]),
        ("kamarnya bersih padahal murah banget", ["kamarnya bersih", "murah banget"]),
        ("Butter chicken is tasty", ["Butter chicken is tasty"]),  # "but" only as a whole word
    ],
)
def test_split_clauses(text: str, clauses: list[str]) -> None:
    assert _texts(text) == clauses


def test_clause_offsets_point_into_the_text() -> None:
    text = "  Pelayanannya ramah,   TAPI antriannya panjang sekali!! "
    for c in split_clauses(text):
        assert text[c.start : c.end] == c.text
        assert c.text == c.text.strip()


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "...", "😂😂😂", "!!!,,,"])
def test_split_clauses_of_nothing(text: str) -> None:
    clauses = split_clauses(text)
    assert all(c.text for c in clauses)
    assert len(clauses) <= 1


def test_split_clauses_is_bounded() -> None:
    text = ". ".join(f"kalimat nomor {i} di sini" for i in range(200))
    clauses = split_clauses(text, max_clauses=16)
    assert len(clauses) == 16
    assert clauses[-1].end == len(text)


def test_split_clauses_rejects_non_str() -> None:
    with pytest.raises(ValueError):
        split_clauses(None)  # type: ignore[arg-type]  # bad on purpose


# --- keyword lexicon -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pengirimannya telat banget", {"delivery"}),
        ("Harganya MAHAAAL", {"price"}),  # case, enclitic and elongation
        ("the waiter was rude", {"staff"}),
        ("aplikasinya error terus", {"app"}),
        ("refund belum masuk", {"payment"}),
        ("stoknya habis terus", {"availability"}),
        ("kamarnya kotor dan bau", {"cleanliness"}),
        ("akun saya dibobol", {"safety"}),
        ("suasananya nyaman, musiknya pas", {"ambience"}),
        ("wifinya mati", {"facilities"}),
        ("customer service never called back", {"customer_service"}),
        ("Café décor", {"ambience"}),  # diacritics do not matter
        ("CAFE DECOR", {"ambience"}),
    ],
)
def test_keywords(text: str, expected: set[str]) -> None:
    assert default_lexicon().aspects(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I apped my way through",  # no partial words
        "the deliveryman",  # glued to other letters
        "hargai orang lain",  # "harga" + "i" is another word
        "in order to win",  # bare "order" is not a keyword
        "watching tv tonight",  # bare "tv" is not a keyword in English
        "stock market is down",
    ],
)
def test_keywords_respect_word_boundaries(text: str) -> None:
    assert default_lexicon().aspects(text) == set()


def test_keyword_spans_point_into_original_text() -> None:
    text = "Ongkirnya MAHAAAL, tapi kurirnya ramah"
    hits = default_lexicon().find(text)
    assert [(h.aspect, text[h.start : h.end]) for h in hits] == [
        ("price", "Ongkirnya"), ("price", "MAHAAAL"), ("delivery", "kurirnya")]


def test_lexicon_from_custom_taxonomy() -> None:
    lex = AspectLexicon([TAXONOMY[0]])
    assert lex.aspects("pelayanannya buruk, harganya mahal") == {"customer_service"}


# --- decision rule -------------------------------------------------------------------------------


def test_detect_aspects_threshold_or_keyword() -> None:
    names = ("price", "delivery", "app")
    probs = np.array([0.7, 0.1, 0.49])
    thresholds = np.array([0.5, 0.5, 0.5])
    found = detect_aspects(probs, thresholds, names, {"delivery"})
    assert found == {"price": pytest.approx(0.7), "delivery": KEYWORD_CONFIDENCE}
    assert detect_aspects(probs, thresholds, names, set()) == {"price": pytest.approx(0.7)}


LABELS = ("negative", "neutral", "positive")
NAMES = ASPECT_NAMES
NO_MODEL = np.zeros(len(ASPECT_NAMES))
NEVER = np.ones(len(ASPECT_NAMES))  # thresholds no probability reaches: keywords only


def test_plan_encodes_only_keyword_clauses_of_multi_clause_posts() -> None:
    plan = plan_aspects("makanannya enak tapi pengirimannya telat banget. Lain kali beli lagi deh",
                        NO_MODEL, NEVER, NAMES)
    assert set(plan.detected) == {"product_quality", "delivery"}
    assert [c.text for c in plan.clauses] == ["makanannya enak", "pengirimannya telat banget",
                                              "Lain kali beli lagi deh"]
    assert plan.carriers == {"product_quality": (0,), "delivery": (1,)}
    assert plan.encode == (0, 1)  # the third clause carries no aspect: not embedded


def test_plan_single_clause_or_no_aspect_encodes_nothing() -> None:
    assert plan_aspects("pengirimannya telat banget", NO_MODEL, NEVER, NAMES).encode == ()
    plan = plan_aspects("cuacanya cerah, aku jalan-jalan ke taman", NO_MODEL, NEVER, NAMES)
    assert plan.detected == {} and plan.encode == ()


def test_plan_model_detection_without_keyword_uses_post_polarity() -> None:
    probs = NO_MODEL.copy()
    probs[NAMES.index("app")] = 0.9
    thresholds = np.full(len(NAMES), 0.5)
    text = "it keeps freezing on startup, but the phone itself is fine"
    plan = plan_aspects(text, probs, thresholds, NAMES)
    assert "app" in plan.detected and "app" not in plan.carriers
    post = np.array([0.7, 0.2, 0.1])
    (name, pol, conf), *_ = resolve_aspects(plan, post, np.zeros((len(plan.encode), 3)), LABELS)
    assert (name, pol, conf) == ("app", "negative", pytest.approx(0.9))


def test_resolve_mixed_polarity_post() -> None:
    plan = plan_aspects("makanannya enak tapi pengirimannya telat banget", NO_MODEL, NEVER, NAMES)
    post = np.array([0.55, 0.15, 0.30])  # the post as a whole leans negative
    clauses = np.array([[0.05, 0.05, 0.90], [0.90, 0.08, 0.02]])
    got = {n: p for n, p, _ in resolve_aspects(plan, post, clauses, LABELS)}
    assert got == {"product_quality": "positive", "delivery": "negative"}
    # Post-only polarity (clause_weight 0) cannot tell them apart: that is what clauses are for.
    post_only = {n: p for n, p, _ in resolve_aspects(plan, post, clauses, LABELS, clause_weight=0.0)}
    assert post_only == {"product_quality": "negative", "delivery": "negative"}


def test_resolve_orders_by_confidence_then_taxonomy() -> None:
    probs = NO_MODEL.copy()
    probs[NAMES.index("price")] = 0.95
    plan = plan_aspects("harganya mahal, kurirnya lama", probs, NEVER, NAMES)
    out = resolve_aspects(plan, np.array([0.8, 0.1, 0.1]), np.full((len(plan.encode), 3), 1 / 3), LABELS)
    assert [n for n, _, _ in out] == ["price", "delivery"]
    assert out[0][2] == pytest.approx(0.95) and out[1][2] == KEYWORD_CONFIDENCE
