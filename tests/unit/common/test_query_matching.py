"""Listening queries against English and Indonesian posts: words, phrases, wildcards, hashtags,
mentions, proximity, filters, and the indexed QuerySet."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dengar.v1 import common_pb2
from dengar_collector.service_layer.post_proto import match_doc, post_fields
from dengar_common.query import ListeningQuery, MatchDoc, QuerySet, compile_query


def matches(query: str, text: str = "", **fields: str) -> bool:
    return compile_query(query).matches(MatchDoc.build(text, **fields))


@pytest.mark.parametrize("query,text,expected", [
    # Case and diacritics
    ("delivery", "DELIVERY was late", True),
    ("cafe", "Ngopi di Café Batavia", True),
    ("café", "ngopi di cafe batavia", True),
    ("CAFÉ", "ngopi di cafe\u0301 batavia", True),  # decomposed é
    ("gojek", "Ｇｏｊｅｋ lagi promo", True),  # full-width letters
    ("strasse", "Straße", True),
    # Whole words only
    ("cat", "this category is empty", False),
    ("cat", "my cat, again!", True),
    ("ojol", "ojolnya telat banget", False),
    ("ojol", "ojol-nya telat banget", True),  # "-" separates words
    ("ojol*", "ojolnya telat banget", True),
    ("gojek", "gojek's driver was kind", True),
    ("gojek", "GoJekIndonesia update", False),
    ("anak", "anak-anak senang", True),
    ('"anak anak"', "anak-anak senang", True),
    # Emoji and punctuation separate words
    ("telat", "gojek😡telat lagi", True),
    ('"gojek telat"', "gojek😡😡telat lagi", True),
    ('"kirimin telat"', "Kirimin... telat lagi!!", True),
    # Wildcards
    ("deliv*", "it was delivered today", True),
    ("deliv*", "undelivered again", False),
    ("deliv*", "deli sandwiches", False),
    ("pengirim*", "pengirimannya lama", True),
    # Phrases
    ('"late delivery"', "Late delivery again", True),
    ('"late delivery"', "delivery late again", False),
    ('"late delivery"', "late, very late delivery", True),
    ('"late deliv*"', "so late delivered", True),
    # Operators
    ("gojek -promo", "gojek promo hari ini", False),
    ("gojek -promo", "gojek telat hari ini", True),
    ("(gojek OR grab) AND (telat OR lambat)", "Grab lambat banget", True),
    ("(gojek OR grab) AND (telat OR lambat)", "Grab cepat banget", False),
    ('"or"', "this or that", True),
])
def test_words_phrases_and_operators(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


@pytest.mark.parametrize("query,text,expected", [
    ("gojek", "Mudik pakai #Gojek", True),  # a hashtag carries its word
    ("#gojek", "Mudik pakai #Gojek", True),
    ("#gojek", "Mudik pakai gojek", False),  # but a word is no hashtag
    ("#gojek", "Mudik pakai @gojek", False),
    ("@gocepat", "Halo @GoCepat paket saya mana?", True),
    ("gocepat", "Halo @GoCepat paket saya mana?", True),
    ("@gocepat", "Halo #gocepat", False),
    ("@gocepat", "email cs@gocepat.co.id", False),  # an e-mail address is no mention
    ("gocepat", "email cs@gocepat.co.id", True),
    ("#mudik*", "arus #Mudik2025 padat", True),
    ("#mudik*", "arus mudik2025 padat", False),
    ("#mudik", "##mudik", True),
    ('"#mudik aman"', "#mudik aman ya", True),
    ('"#mudik aman"', "mudik aman ya", False),
])
def test_hashtags_and_mentions(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


@pytest.mark.parametrize("query,text,expected", [
    ("late NEAR/3 delivery", "late delivery", True),
    ("late NEAR/0 delivery", "late delivery", True),
    ("late NEAR/0 delivery", "delivery late", True),
    ("late NEAR/3 delivery", "the delivery was very late", True),  # 2 words between, either order
    ("late NEAR/1 delivery", "the delivery was very late", False),
    ("late NEAR/2 delivery", "late, but the delivery", True),
    ("late ONEAR/3 delivery", "delivery was late", False),
    ("late ONEAR/3 delivery", "late again, delivery", True),
    ('"late" NEAR/3 deliv*', "deliveries were late", True),
    ('"sangat lambat" NEAR/2 (gocepat OR #gocepat)', "#GoCepat pengirimannya sangat lambat", True),
    ('"sangat lambat" NEAR/0 (gocepat OR #gocepat)', "#GoCepat pengirimannya sangat lambat", False),
    ("(telat OR lambat) NEAR/4 (gojek OR grab)", "Grab hari ini telat lagi", True),
    # The two sides must be different occurrences.
    ("gojek NEAR/3 gojek", "gojek telat", False),
    ("gojek NEAR/3 gojek", "gojek telat gojek", True),
    ("gojek NEAR/3 #gojek", "#gojek telat", False),
])
def test_proximity(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_title_and_text_are_searched_but_not_joined() -> None:
    assert matches("gojek", "", title="Gojek naik tarif") is True
    assert matches('"tarif baru"', "baru diumumkan", title="Gojek naik tarif") is False
    assert matches("tarif NEAR/3 baru", "baru diumumkan", title="Gojek naik tarif") is False
    assert matches("tarif NEAR/3 gojek", "baru diumumkan", title="Gojek naik tarif") is True
    assert matches("gojek AND diumumkan", "baru diumumkan", title="Gojek naik tarif") is True


@pytest.mark.parametrize("query,fields,expected", [
    ("gojek lang:id", {"lang": "id"}, True),
    ("gojek lang:id", {"lang": "in"}, True),  # Twitter's legacy code for Indonesian
    ("gojek lang:id", {"lang": "id-ID"}, True),
    ("gojek lang:id", {"lang": "en"}, False),
    ("gojek lang:id", {}, False),  # no language reported
    ("gojek -lang:en", {}, True),
    ("gojek lang:en-us", {"lang": "en_US"}, True),
    ("gojek lang:en-us", {"lang": "en"}, False),
    ("gojek platform:x", {"platform": "x"}, True),
    ("gojek platform:twitter", {"platform": "x"}, True),
    ("gojek platform:x", {"platform": "twitter"}, True),
    ("gojek platform:reddit", {"platform": "x"}, False),
    ("gojek author:gocepat_id", {"author": "@GoCepat_ID"}, True),
    ("gojek author:@GOCEPAT_ID", {"author": "gocepat_id"}, True),
    ("gojek author:gocepat", {"author": "gocepat_id"}, False),
    ("gojek has:link", {"url": "https://x.com/a/1"}, True),
    ("gojek has:link", {}, False),
    ("gojek -has:link", {}, True),
])
def test_field_filters(query: str, fields: dict[str, str], expected: bool) -> None:
    assert matches(query, "gojek telat", **fields) is expected


def test_links_count_for_has_link_but_are_not_words() -> None:
    assert matches("gojek has:link", "gojek promo https://t.co/AbC123") is True
    assert matches("gojek has:link", "gojek promo www.gojek.com/promo") is True
    assert matches("gojek has:link", "gojek promo gojek.com") is False  # no scheme, no www.
    assert matches("abc123", "gojek promo https://t.co/AbC123") is False
    assert matches("promo", "gojek https://gojek.com/promo") is False
    assert matches("gojek has:link", "promo", title="Gojek https://gojek.com") is True


def test_author_only_queries_are_allowed() -> None:
    assert matches("author:gocepat_id", "apa saja", author="GoCepat_ID") is True


@pytest.mark.parametrize("to_doc", [lambda p: MatchDoc.from_post(post_fields(p)), match_doc],
                         ids=["from_post", "match_doc"])
def test_from_post_reads_the_proto_fields(to_doc: Callable[[common_pb2.Post], MatchDoc]) -> None:
    post = common_pb2.Post(platform=common_pb2.PLATFORM_X, text="Paket @GoCepat_ID telat lagi 😡",
                           title="", lang_hint="in", url="")
    post.author.handle = "Budi"
    doc = to_doc(post)
    assert (doc.platform, doc.lang, doc.author, doc.has_link) == ("x", "id", "budi", False)
    assert doc.words == ("paket", "gocepat_id", "telat", "lagi")
    assert doc.raw == ("paket", "@gocepat_id", "telat", "lagi")
    query = compile_query('@gocepat_id telat platform:twitter lang:id author:budi')
    assert query.matches(doc)


# --- QuerySet -------------------------------------------------------------------------------------


QUERIES = {
    "gocepat": ("(gocepat OR #gocepat OR @gocepat_id) -loker", "brand"),
    "kirimin": ('kirimin OR "kirim in" OR kirimin*', "competitor"),
    "late": ('(telat OR lambat OR late) NEAR/3 (paket* OR deliv*)', "topic"),
    "owned": ("author:gocepat_id", "brand"),
    "mudik": ("(#mudik OR mudik) lang:id", "topic"),
}


def test_queryset_returns_matching_ids_in_order() -> None:
    qs = QuerySet.from_expressions(QUERIES)
    doc = MatchDoc.build("Paketnya telat, @GoCepat_ID vs Kiriminaja? #mudik", lang="id")
    assert qs.match(doc) == ["gocepat", "kirimin", "late", "mudik"]
    assert qs.match(MatchDoc.build("info loker gocepat", author="gocepat_id")) == ["owned"]
    assert qs.match(MatchDoc.build("nothing to see")) == []
    assert [q.id for q in qs] == list(QUERIES) and len(qs) == 5
    assert qs.role("kirimin") == "competitor"


def test_queryset_only_evaluates_anchored_candidates() -> None:
    qs = QuerySet.from_expressions({**QUERIES, "odd": ("NOT (NOT gojek)", "topic")})
    ids = [q.id for q in qs]

    def candidates(text: str, **fields: str) -> list[str]:
        return [ids[i] for i in qs.candidates(MatchDoc.build(text, **fields))]

    # A query without any positive anchor is evaluated on every post.
    assert candidates("nothing to see") == ["odd"]
    assert candidates("kirimin hari ini") == ["kirimin", "odd"]
    assert candidates("kiriminaja hari ini") == ["kirimin", "odd"]
    # Filters anchor queries that have no word to anchor on.
    assert candidates("nothing", author="@GoCepat_ID") == ["owned", "odd"]
    # A word anchor is preferred to a weak filter, so lang:id alone does not make "mudik" a candidate.
    assert candidates("nothing", lang="id") == ["odd"]


def test_queryset_rejects_duplicates_and_unknown_roles() -> None:
    q = compile_query("gojek")
    with pytest.raises(ValueError, match="duplicate"):
        QuerySet([ListeningQuery("a", q), ListeningQuery("a", q)])
    with pytest.raises(ValueError, match="role"):
        QuerySet([ListeningQuery("a", q, "fan")])  # type: ignore[arg-type]  # bad on purpose
