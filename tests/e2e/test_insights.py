"""End to end: the insight brief finds the demo stream's planted stories, through REST only.

The generated demo week (a smaller stream than `make run`'s, with the same planted stories) goes in
through `POST /v1/posts` for a tenant with the demo's listening queries. The brief of that week must
show the delivery outage (a negative spike of Kirimin driven by delivery words), the fee-hike wave
(AntarYuk, driven by the price aspect or the fee's own words) and the copy-paste campaign (a
coordinated-duplicates card), in English and Indonesian, each card's `filters` listing its evidence
through `GET /v1/mentions`. The top authors (by volume, reach and engagement) and top posts are
exactly those of the posts sent, and the campaign is listed by `/v1/insights/campaigns` too; the
emerging topics of the week (from the vectors the NLP service computed) include the campaign as a
topic of its brand, with ids that hold across calls. A second tenant sees none of it, and the
first tenant's query id is a 404 for it on every insight route; posts of its own by the same
accounts count only for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from e2e_wait import wait_counted

from dengar_cli.demo import demo_queries, generate_demo_posts
from dengar_cli.platform import Platform
from dengar_cli.run_local import demo_period

pytestmark = pytest.mark.e2e

# Two thirds of the demo: enough for each planted story to stand out, at two thirds of the cost.
N_POSTS = 2000
SEED = 7
# The demo week is placed relative to a "now", and which of its stories stand out depends on where
# its hours fall (the fee rise, spread over four days, is not a spike at every alignment): a fixed
# "now" makes the brief the same whenever the suite runs.
DEMO_NOW = datetime(2026, 12, 2, 23, 20, tzinfo=UTC)
OUTAGE_WORDS = ("delivery", "nyampe", "sampai", "telat", "arrived", "order", "pesanan", "kirimindown",
                "late", "down")
FEE_WORDS = ("price", "biaya", "layanan", "fee", "harga", "naik", "4.500", "rp4", "mahal")


def _score(e: dict[str, int]) -> int:
    """domain/mention.engagement_score, from the engagement of a post as sent."""
    return int(e.get("likes", 0) + 2 * e.get("reposts", 0) + e.get("replies", 0) + e.get("quotes", 0))


def _check_voices(a: httpx.Client, posts: list[dict[str, Any]], period: dict[str, str],
                  gocepat: str) -> None:
    """Top authors, top posts and campaigns of tenant A against the posts it sent."""
    per_author: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in posts:
        per_author.setdefault((p["platform"], p["author"]["id"]), []).append(p)
    measures = {
        "volume": ("mentions", {k: len(v) for k, v in per_author.items()}),
        "reach": ("followers", {k: max(p["author"]["followers"] for p in v) for k, v in per_author.items()}),
        "engagement": ("engagement", {k: sum(_score(p["engagement"]) for p in v)
                                      for k, v in per_author.items()}),
    }
    for rank_by, (name, expected) in measures.items():
        r = a.get("/v1/insights/authors", params={**period, "rank_by": rank_by, "limit": 20})
        assert r.status_code == 200, r.text
        authors = r.json()["authors"]
        assert len(authors) == 20 and all((x["platform"], x["id"]) in per_author for x in authors)
        values = [x[name] for x in authors]
        assert values == sorted(values, reverse=True) and values[0] == max(expected.values()), rank_by
        for x in authors:
            assert x[name] == expected[(x["platform"], x["id"])], (rank_by, x)
            assert x["mentions"] == sum(x["sentiment"].values()) == len(per_author[(x["platform"], x["id"])])
            assert 1 <= len(x["sample_mention_ids"]) <= 3

    r = a.get("/v1/insights/posts", params={**period, "limit": 5})
    assert r.status_code == 200, r.text
    scores = [_score(m["engagement"]) for m in r.json()["posts"]]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True)
    assert scores[0] == max(_score(p["engagement"]) for p in posts)

    r = a.get("/v1/insights/campaigns", params=period)
    assert r.status_code == 200, r.text
    found = [c for c in r.json()["campaigns"] if "gcmakan50" in c["sample_text"].casefold()]
    assert found, r.json()
    c = found[0]
    assert gocepat in c["query_ids"] and c["authors"] >= 10 and c["first_post"]["mention_id"]
    assert set(c["evidence_mention_ids"]) <= _listed(a, c["filters"])


def _words(card: dict[str, Any]) -> str:
    parts = [card["narrative"]]
    for d in card["drivers"]:
        parts += [str(d["value"]), *(str(t) for t in d.get("terms") or ())]
    return " ".join(parts).casefold()


def _listed(c: httpx.Client, filters: dict[str, str]) -> set[str]:
    ids: set[str] = set()
    params: dict[str, str | int] = {**filters, "limit": 200}
    for _ in range(20):
        r = c.get("/v1/mentions", params=params)
        assert r.status_code == 200, (filters, r.text)
        ids |= {m["id"] for m in r.json()["data"]}
        cursor = r.json().get("next_cursor")
        if not cursor:
            break
        params["cursor"] = cursor
    return ids


def test_brief_finds_the_planted_stories_isolated(
        platform: Platform, new_tenant: Callable[[str, str], str],
        api: Callable[[str], httpx.Client]) -> None:
    key_a, key_b = new_tenant("Insight Demo", "insighta"), new_tenant("Insight Other", "insightb")
    start, end = demo_period(DEMO_NOW)
    with api(key_a) as a, api(key_b) as b:
        queries = {}
        for q in demo_queries():
            r = a.post("/v1/queries", json=q)
            assert r.status_code == 201, r.text
            queries[q["name"]] = r.json()["id"]
        posts = [p for p in generate_demo_posts(N_POSTS, seed=SEED, now=DEMO_NOW)
                 if start <= datetime.fromisoformat(p["created_at"]) < end]
        for i in range(0, len(posts), 500):
            r = a.post("/v1/posts", json={"posts": posts[i:i + 500]})
            assert r.status_code == 202, r.text
        assert wait_counted(a, start, end, len(posts)) >= len(posts)

        period = {"from": start.isoformat(), "to": end.isoformat()}
        briefs = {}
        for lang in ("en", "id"):
            r = a.get("/v1/insights/brief", params={**period, "lang": lang, "limit": 10})
            assert r.status_code == 200, r.text
            briefs[lang] = r.json()["cards"]
        cards = briefs["en"]
        summary = "\n".join(f"{c['type']} | {c['title']} | {c['narrative']} | "
                            f"{[(d['kind'], d['value']) for d in c['drivers'][:6]]}" for c in cards)
        assert all(c["narrative"] for b in briefs.values() for c in b), summary
        assert [c["type"] for c in briefs["id"]] == [c["type"] for c in cards]
        assert briefs["id"][0]["narrative"] != cards[0]["narrative"]

        kirimin, antaryuk, gocepat = queries["Kirimin"], queries["AntarYuk"], queries["GoCepat"]
        outage = [c for c in cards if c["type"] == "spike" and c["metrics"]["metric"] == "negative"
                  and c["filters"].get("query_id") == kirimin]
        assert outage, summary
        assert sum(w in _words(outage[0]) for w in OUTAGE_WORDS) >= 2, outage[0]
        fee = [c for c in cards if c["filters"].get("query_id") == antaryuk
               or "AntarYuk" in c["title"] or "antaryuk" in _words(c)]
        # The planted fee rise: a spike or rising aspect of AntarYuk driven by fee words. How many of
        # them lead depends on where the demo week's hours fall (the span found is one to three
        # days), so one is enough; the driver must still be about the fee.
        fee = [c for c in fee if c["type"] in ("spike", "rising_aspect")
               and any(w in _words(c) for w in FEE_WORDS)]
        assert fee, summary
        campaign = [c for c in cards if c["type"] == "coordinated_duplicates"
                    and "gcmakan50" in c["narrative"].casefold()]
        assert campaign, summary
        assert campaign[0]["filters"].get("query_id") == gocepat
        assert int(campaign[0]["metrics"]["authors"]) >= 10

        # Each card's filters list its evidence through GET /v1/mentions.
        for c in cards:
            if c["evidence_mention_ids"]:
                listed = _listed(a, c["filters"])
                assert set(c["evidence_mention_ids"]) <= listed, (c["title"], c["filters"])

        r = a.get("/v1/insights/spikes", params={**period, "interval": "hour", "metric": "negative",
                                                 "query_id": kirimin})
        assert r.status_code == 200, r.text
        assert r.json()["spikes"] and any(d["evidence"] for s in r.json()["spikes"] for d in s["drivers"])
        r = a.get("/v1/insights/compare", params={**period, "query_id": kirimin})
        assert r.status_code == 200, r.text
        r = a.get("/v1/insights/compare", params=period)
        assert r.status_code == 200, r.text
        assert r.json()["volume"]["current"] >= len(posts) * 0.9

        # Emerging topics: the period's mentions by meaning (their vectors came from the NLP
        # service); the copy-paste campaign is a topic of GoCepat; ids hold on a second call.
        r = a.get("/v1/insights/topics", params={**period, "limit": 10})
        assert r.status_code == 200, r.text
        topics = r.json()
        assert topics["volume"] >= len(posts) * 0.9 and topics["previous_volume"] == 0, topics["volume"]
        assert 2 <= len(topics["topics"]) <= 10
        assert all(t["status"] == "new" and t["keywords"] and t["representatives"]
                   for t in topics["topics"]), topics["topics"]
        some = topics["topics"][0]["representatives"][0]["id"]
        assert a.get(f"/v1/mentions/{some}").status_code == 200
        again = a.get("/v1/insights/topics", params={**period, "limit": 10}).json()
        assert [t["id"] for t in again["topics"]] == [t["id"] for t in topics["topics"]]
        r = a.get("/v1/insights/topics", params={**period, "query_id": gocepat})
        assert r.status_code == 200, r.text
        summary = [(t["volume"], t["keywords"][:5]) for t in r.json()["topics"]]
        assert any(k.startswith("gcmakan") for t in r.json()["topics"] for k in t["keywords"][:5]), summary
        assert a.get("/v1/insights/topics", params={**period, "limit": 0}).status_code == 422

        # Tenant B: none of A's data, and A's query id is a 404 like a missing one.
        r = b.get("/v1/insights/brief", params=period)
        assert r.status_code == 200 and r.json()["cards"] == [], r.text
        r = b.get("/v1/insights/spikes", params={**period, "interval": "hour", "metric": "volume"})
        assert r.status_code == 200 and r.json()["spikes"] == [], r.text
        r = b.get("/v1/insights/compare", params=period)
        assert r.status_code == 200 and r.json()["volume"]["current"] == 0, r.text
        r = b.get("/v1/insights/topics", params=period)
        assert r.status_code == 200 and r.json()["topics"] == [] and r.json()["volume"] == 0, r.text
        for path, extra in (("spikes", {"interval": "hour"}), ("compare", {}), ("brief", {}),
                            ("topics", {})):
            r = b.get(f"/v1/insights/{path}", params={**period, **extra, "query_id": kirimin})
            assert r.status_code == 404, (path, r.text)
            missing = b.get(f"/v1/insights/{path}", params={**period, **extra, "query_id": "q_missing"})
            assert missing.status_code == 404, (path, missing.text)

        # Top voices, top posts, campaigns: A's match the posts it sent; B sees none of them.
        _check_voices(a, posts, period, gocepat)
        for path in ("authors", "posts", "campaigns"):
            r = b.get(f"/v1/insights/{path}", params=period)
            assert r.status_code == 200, r.text
            assert not r.json()[path], (path, r.text)
            r = b.get(f"/v1/insights/{path}", params={**period, "query_id": gocepat})
            assert r.status_code == 404, (path, r.text)
        # B's own posts by A's busiest accounts: a campaign of B's, counted for B alone.
        top = a.get("/v1/insights/authors", params={**period, "limit": 6}).json()["authors"]
        at = start + timedelta(days=1)
        own = [{"platform": x["platform"], "external_id": f"b-{k}",
                "created_at": (at + timedelta(minutes=k)).isoformat(),
                "text": "Semua wajib ikut tagar boikot tokobaru hari ini juga ya teman teman",
                "author": {"id": x["id"], "handle": x["handle"]}} for k, x in enumerate(top)]
        r = b.post("/v1/posts", json={"posts": own})
        assert r.status_code == 202, r.text
        assert wait_counted(b, start, end, len(own)) >= len(own)
        r = b.get("/v1/insights/authors", params={**period, "limit": 100})
        assert {(x["platform"], x["id"], x["mentions"]) for x in r.json()["authors"]} == {
            (x["platform"], x["id"], 1) for x in top}
        r = b.get("/v1/insights/posts", params={**period, "limit": 100})
        assert sorted(m["external_id"] for m in r.json()["posts"]) == sorted(p["external_id"] for p in own)
        own_ids = {m["id"] for m in r.json()["posts"]}
        r = b.get("/v1/insights/campaigns", params=period)
        [campaign] = r.json()["campaigns"]
        assert campaign["authors"] == len(own) and set(campaign["evidence_mention_ids"]) <= own_ids
        assert campaign["first_post"]["mention_id"] in own_ids
        # And A's answers stay A's.
        r = a.get("/v1/insights/authors", params={**period, "limit": 6})
        assert [x["mentions"] for x in r.json()["authors"]] == [x["mentions"] for x in top]
        r = a.get("/v1/insights/posts", params={**period, "limit": 100})
        assert not own_ids & {m["id"] for m in r.json()["posts"]}
