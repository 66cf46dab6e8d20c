"""The demo stream: deterministic, varied, bilingual, valid, and the planted stories really stand out."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from dengar_cli.demo import (
    CAMPAIGN_CODE,
    WIB,
    demo_brands,
    demo_incidents,
    generate_demo,
    generate_demo_posts,
)
from dengar_common.enums import PLATFORMS

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
N = 3000


@pytest.fixture(scope="module")
def stream():
    return generate_demo(N, seed=7, now=NOW)


def _ts(post: dict) -> datetime:
    return datetime.fromisoformat(post["created_at"])


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    a = generate_demo_posts(300, seed=5, now=NOW)
    assert a == generate_demo_posts(300, seed=5, now=NOW)
    b = generate_demo_posts(300, seed=6, now=NOW)
    assert {p["text"] for p in a} != {p["text"] for p in b}


def test_content_and_ids_do_not_depend_on_the_clock() -> None:
    # Re-feeding a seed later re-sends the same posts, so the platform de-duplicates them.
    a = generate_demo_posts(200, seed=5, now=NOW)
    b = generate_demo_posts(200, seed=5, now=NOW + timedelta(hours=30))
    key = {p["external_id"]: p["text"] for p in a}
    assert key == {p["external_id"]: p["text"] for p in b}
    assert a[0]["created_at"] != b[0]["created_at"]


def test_exact_count_and_globally_unique_external_ids(stream) -> None:
    assert len(stream.posts) == len(stream.truth) == N
    assert len({p["external_id"] for p in stream.posts}) == N


@pytest.mark.parametrize("n", [0, 1, 7, 40])
def test_small_streams(n: int) -> None:
    assert len(generate_demo_posts(n, now=NOW)) == n


def test_negative_count_is_an_error() -> None:
    with pytest.raises(ValueError):
        generate_demo_posts(-1)


def test_texts_are_varied(stream) -> None:
    texts = [p["text"] for p in stream.posts]
    assert len(set(texts)) / len(texts) > 0.9
    assert len(set(texts)) > 2500
    # Not just slot swaps of one sentence: many different openings too.
    assert len({" ".join(t.lower().split()[:3]) for t in texts}) > 800


def test_language_mix(stream) -> None:
    langs = Counter(t["lang"] for t in stream.truth)
    share = {k: v / N for k, v in langs.items()}
    assert 0.55 < share["id"] < 0.85
    assert 0.15 < share["en"] < 0.40
    assert langs["jv"] > 0 and langs["su"] > 0
    assert sum(t["code_mixed"] for t in stream.truth) / N > 0.05
    texts = " ".join(p["text"].lower() for p in stream.posts)
    for slang in ("gak", "bgt", "wkwk", "udah", "literally"):
        assert slang in texts
    assert re.search(r"[\U0001F300-\U0001FAFF]", texts)


def test_platforms_and_cities_are_spread(stream) -> None:
    platforms = Counter(p["platform"] for p in stream.posts)
    assert set(platforms) == {"x", "mastodon", "bluesky", "reddit", "youtube", "news"}
    assert platforms.most_common(1)[0][0] == "x"
    cities = Counter(p["metadata"]["city"] for p in stream.posts)
    assert cities.most_common(1)[0][0] == "Jakarta"
    assert {"Surabaya", "Bandung", "Medan"} <= set(cities)


def test_shapes_are_valid_rest_items(stream) -> None:
    start = NOW - timedelta(days=7)
    for p in stream.posts:
        assert set(p) <= {"platform", "external_id", "text", "created_at", "author", "engagement", "url",
                          "lang", "country", "metadata", "title"}
        assert p["platform"] in PLATFORMS
        assert 0 < len(p["external_id"]) <= 256 and p["external_id"].isprintable()
        assert p["text"].strip() and len(p["text"]) <= 40_000
        assert len(p.get("title", "")) <= 1000
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p["created_at"])
        assert start <= _ts(p) <= NOW
        a = p["author"]
        assert set(a) == {"id", "handle", "display_name", "followers", "verified", "location"}
        assert a["id"] and a["handle"] and isinstance(a["followers"], int) and a["followers"] >= 0
        assert isinstance(a["verified"], bool)
        e = p["engagement"]
        assert set(e) == {"likes", "reposts", "replies", "quotes", "views"}
        assert all(isinstance(v, int) and v >= 0 for v in e.values())
        assert p["url"].startswith("https://")
        assert p["lang"] in {"", "id", "en"}
        assert p["country"] == "ID"
        assert set(p["metadata"]) == {"city", "brand"}
        assert all(isinstance(v, str) and v for v in p["metadata"].values())
    # Oldest first, like a stream.
    assert [p["created_at"] for p in stream.posts] == sorted(p["created_at"] for p in stream.posts)


def test_incident_labels_never_leak_into_posts(stream) -> None:
    names = {i.name for i in stream.incidents}
    words = {"outage", "campaign", "incident", "scenario", "wave", "buzz"}
    for p in stream.posts:
        meta = " ".join([*p["metadata"].keys(), *p["metadata"].values()]).lower()
        assert not any(w in meta for w in words | names)
        assert not any(name in p["text"] or name in p["url"] for name in names)


def test_followers_have_a_heavy_tail(stream) -> None:
    people = sorted(p["author"]["followers"] for p in stream.posts if p["platform"] != "news")
    median = people[len(people) // 2]
    assert people[-1] > 1000 * median
    assert sum(f > 50_000 for f in people) < 0.1 * len(people)


def test_daily_rhythm(stream) -> None:
    hours = Counter(_ts(p).astimezone(WIB).hour for p, t in zip(stream.posts, stream.truth, strict=True)
                    if t["scenario"] == "background")
    evening = hours[19] + hours[20] + hours[21]
    night = hours[2] + hours[3] + hours[4]
    assert evening > 4 * night


def _window(stream, name: str):
    return next(i for i in stream.incidents if i.name == name)


def test_outage_is_a_burst_of_negatives_in_greater_jakarta(stream) -> None:
    inc = _window(stream, "delivery_outage")
    jabodetabek = set(inc.cities)

    def negatives_per_hour(inside: bool) -> float:
        hours = (inc.end - inc.start).total_seconds() / 3600
        total_hours = 7 * 24 - hours
        count = sum(1 for p, t in zip(stream.posts, stream.truth, strict=True)
                    if t["brand"] == "kirimin" and t["sentiment"] == "negative" and t["city"] in jabodetabek
                    and (inc.start <= _ts(p) <= inc.end) is inside)
        return count / (hours if inside else total_hours)

    assert negatives_per_hour(True) > 10 * negatives_per_hour(False)
    in_window = [t for p, t in zip(stream.posts, stream.truth, strict=True)
                 if t["brand"] == "kirimin" and t["city"] in jabodetabek and inc.start <= _ts(p) <= inc.end]
    assert sum(t["sentiment"] == "negative" for t in in_window) / len(in_window) > 0.7
    outage_posts = [t for t in stream.truth if t["scenario"] == "delivery_outage"]
    assert sum(t["city"] == "Jakarta" for t in outage_posts) / len(outage_posts) > 0.75


def test_price_wave_turns_antaryuk_negative(stream) -> None:
    inc = _window(stream, "price_wave")

    def negative_share(before: bool) -> float:
        sel = [t for p, t in zip(stream.posts, stream.truth, strict=True)
               if t["brand"] == "antaryuk" and (_ts(p) < inc.start) is before
               and (before or _ts(p) <= inc.end)]
        return sum(t["sentiment"] == "negative" for t in sel) / len(sel)

    assert negative_share(False) > negative_share(True) + 0.15
    texts = [p["text"].lower() for p, t in zip(stream.posts, stream.truth, strict=True)
             if t["scenario"] == "price_wave"]
    assert sum("biaya" in x or "fee" in x for x in texts) / len(texts) > 0.5


def test_copy_paste_campaign_is_many_accounts_one_text(stream) -> None:
    inc = _window(stream, "copy_paste_campaign")
    posts = [p for p in stream.posts if CAMPAIGN_CODE in p["text"]]
    assert len(posts) >= 0.02 * N
    assert len({p["author"]["handle"] for p in posts}) >= 20
    assert all(inc.start <= _ts(p) <= inc.end for p in posts)
    assert all(p["author"]["followers"] < 100 for p in posts)
    # Near-identical: the same long core with small trimmings.
    core = "Pakai kode GCMAKAN50 di GoCepat Makan dapet potongan 50% sampai 25rb"
    assert all(core in p["text"] for p in posts)


def test_product_buzz_is_positive(stream) -> None:
    inc = _window(stream, "product_buzz")
    buzz = [p for p in stream.posts if "plus" in p["text"].lower() and "kirimin" in p["text"].lower()]
    assert len(buzz) > 0.03 * N
    assert sum(inc.start <= _ts(p) <= inc.end for p in buzz) / len(buzz) > 0.9
    labels = Counter(t["sentiment"] for t in stream.truth if t["scenario"] == "product_buzz")
    assert labels["positive"] > 3 * (labels["negative"] + labels["neutral"])


def test_incidents_lie_inside_the_window() -> None:
    for inc in demo_incidents(NOW):
        assert NOW - timedelta(days=7) < inc.start < inc.end < NOW


def test_brands() -> None:
    brands = demo_brands()
    assert [b["role"] for b in brands].count("brand") == 1
    assert len(brands) == 3
    for b in brands:
        assert set(b) == {"id", "name", "aliases", "role"}
        assert b["name"] in b["aliases"]


def test_demo_queries_compile_and_find_their_brand(stream) -> None:
    from dengar_cli.demo import demo_queries
    from dengar_common.query import MatchDoc, compile_query

    queries = {q["name"]: (q["role"], compile_query(q["expression"])) for q in demo_queries()}
    assert {role for role, _ in queries.values()} == {"brand", "competitor", "topic"}
    for b in demo_brands():
        role, query = queries[b["name"]]
        assert role == b["role"]
        about = [p for p, t in zip(stream.posts, stream.truth, strict=True) if t.get("brand") == b["id"]]
        assert about
        matched = [p for p in about if query.matches(MatchDoc.build(p["text"], title=p.get("title", "")))]
        assert len(matched) / len(about) > 0.95, (b["name"], len(matched), len(about))
    _, delivery = queries["Delivery problems"]
    assert delivery.matches(MatchDoc.build("pesanan GoCepat telat 40 menit"))
    assert delivery.matches(MatchDoc.build("my lunch order never arrived"))
    assert not delivery.matches(MatchDoc.build("delivery was quick today"))


def _digest(obj: object) -> str:
    import hashlib
    import json

    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def test_stream_is_pinned() -> None:
    # Hashes of the stream as generated before the template text moved to data/demo_templates.json:
    # any change to the text, its order or the draws from the generator shows up here.
    posts = generate_demo_posts(3000, seed=7, now=NOW)
    assert posts[0]["text"] == "update aplikasi AntarYuk dulu ah, katanya ada fitur tip driver"
    assert posts[1234]["text"] == ("sebenernya biaya layanan AntarYuk Rp4.500 masih lebih murah dari Kirimin "
                                   "sih kalo diitung-itung")
    assert _digest(posts) == "7c329b4f81d5431c3c2ce90c939825ea2e325885958f95dfc1116a82daaa085d"
    assert _digest(generate_demo(3000, seed=7, now=NOW).truth) == (
        "eea67e9b5e3148d0bb11ce8780633101c16de31543f130c6691298acc56fe25b")
    assert _digest(generate_demo_posts(500, seed=1, now=NOW)) == (
        "5994dcf4c4fd0b93185fd2f2d50b8db8f0b82211bd284c201e2ccc5db2d5dc00")
