"""Mapping of each platform's documented payload to ``CollectedPost`` (pure: fixtures in, posts out)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dengar.v1 import common_pb2
from dengar_collector.adapters.connectors.base import Author, CollectedPost, MappingError, mapped
from dengar_collector.adapters.connectors.bluesky import map_post, web_url
from dengar_collector.adapters.connectors.hackernews import map_hit
from dengar_collector.adapters.connectors.mastodon import map_status, parse_link_header
from dengar_collector.adapters.connectors.reddit import map_thing
from dengar_collector.adapters.connectors.rss import map_item, parse_feed
from dengar_collector.adapters.connectors.text import (
    UnsafeXmlError,
    html_to_text,
    parse_datetime,
    parse_xml,
)
from dengar_collector.adapters.connectors.x import map_tweet
from dengar_collector.adapters.connectors.youtube import map_comment_thread, map_video
from dengar_collector.domain.ingest import validate_post
from dengar_collector.service_layer.post_proto import post_fields

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "connectors"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def valid(post: CollectedPost) -> CollectedPost:
    """Every mapped post must pass the collector's own ingest validation."""
    assert validate_post(post_fields(post.to_proto(source_id="test")), now=NOW) == []
    return post


# ----------------------------------------------------------------------------------------------- X

def test_x_tweet_with_author_metrics_and_reply() -> None:
    page = load("x/search_recent.json")
    users = {u["id"]: u for u in page["includes"]["users"]}
    post = valid(map_tweet(page["data"][0], users))
    assert post.external_id == "2123713236825015285"
    assert post.created_at == datetime(2026, 11, 20, 9, 41, 7, tzinfo=UTC)
    assert post.author == Author(id="1422957301", handle="rinawulan_", display_name="Rina Wulandari",
                                 followers=412, verified=False, location="Bekasi, Jawa Barat")
    assert (post.engagement.likes, post.engagement.replies, post.engagement.views) == (3, 1, 212)
    assert post.in_reply_to == "2123710485361590277" and not post.quote_of and not post.repost_of
    assert post.url == "https://x.com/rinawulan_/status/2123713236825015285"
    assert post.lang_hint == "id"  # X's legacy "in"
    assert post.metadata["conversation_id"] == "2123710485361590277"


def test_x_quote_retweet_verified_types_and_no_language() -> None:
    page = load("x/search_recent.json")
    users = {u["id"]: u for u in page["includes"]["users"]}
    quote, retweet, english, hashtags = (map_tweet(t, users) for t in page["data"][1:5])
    assert quote.quote_of == "2123697864700854281" and quote.author.verified  # verified_type "blue"
    assert quote.engagement.quotes == 2 and quote.engagement.reposts == 12
    assert retweet.repost_of == "2123602792412086275"
    assert english.author.verified and english.lang_hint == "en" and english.author.followers == 51230
    assert hashtags.lang_hint == ""  # "qht": hashtags only


def test_x_tweet_without_author_in_includes_still_maps() -> None:
    tweet = load("x/search_recent.json")["data"][0]
    post = map_tweet(tweet, {})
    assert post.author.id == "1422957301" and post.author.handle == ""
    assert post.url == "https://x.com/i/web/status/2123713236825015285"


@pytest.mark.parametrize("broken", [
    {"created_at": None}, {"text": None}, {"id": ""}, {"created_at": "yesterday"},
    {"public_metrics": {"like_count": -1}},
])
def test_x_malformed_tweets_raise_mapping_errors(broken: dict[str, Any]) -> None:
    tweet = {**load("x/search_recent.json")["data"][3], **broken}
    with pytest.raises((MappingError, KeyError, TypeError, ValueError)):
        map_tweet(tweet, {})


# ---------------------------------------------------------------------------------------- Mastodon

def test_mastodon_reply_html_to_text_and_local_handle() -> None:
    status = load("mastodon/tag_timeline.json")[0]
    post = valid(map_status(status, instance="mastodon.social"))
    assert post.external_id == "https://mastodon.social/users/dimasp/statuses/113520418275630211"
    assert post.text == ("@ayu sama, kemarin pesanan #gojek saya dibatalkan sepihak & saldo belum balik.\n\n"
                         "Sudah lapor CS, katanya 3–5 hari kerja.")
    assert post.author.handle == "dimasp@mastodon.social" and post.author.followers == 318
    assert post.in_reply_to == "113520391102884377"
    assert post.metadata["instance"] == "mastodon.social"
    assert post.metadata["in_reply_to_account_id"] == "109348810204311822"
    assert (post.engagement.likes, post.engagement.reposts) == (4, 1)
    assert post.lang_hint == "id"


def test_mastodon_hidden_link_parts_are_kept() -> None:
    post = map_status(load("mastodon/tag_timeline.json")[1], instance="mastodon.social")
    assert "https://engineering.example.com/posts/2026/order-service-sharding" in post.text
    assert post.author.handle == "lenab@fosstodon.org"
    # The canonical URI, not the local id: the same post seen on another instance has the same id.
    assert post.external_id == "https://fosstodon.org/users/lenab/statuses/113520376801122334"


def test_mastodon_reblog_quote_and_media_only() -> None:
    statuses = load("mastodon/tag_timeline.json")
    reblog = valid(map_status(statuses[2], instance="mastodon.social"))
    assert reblog.repost_of == "https://kopi.social/users/ayu/statuses/113520288198812345"
    assert reblog.text.startswith("Driver #gojek hari ini baik banget")
    assert reblog.author.handle == "kabarojol@mastodon.social" and reblog.lang_hint == "id"
    assert reblog.url == "https://kopi.social/@ayu/113520288198812345"
    quote = map_status(statuses[3], instance="mastodon.social")
    assert quote.quote_of == "https://mastodon.social/users/kabarojol/statuses/113519990012345678"
    assert quote.text.endswith("😭\nRp 12.000 buat es teh.")
    assert quote.metadata["spoiler_text"] == "rant, food" and quote.engagement.quotes == 1
    media = map_status(statuses[4], instance="mastodon.social")
    assert media.text.startswith("Tangkapan layar aplikasi Gojek")


def test_link_header() -> None:
    header = ('<https://m.example/api/v1/timelines/tag/x?max_id=10>; rel="next", '
              '<https://m.example/api/v1/timelines/tag/x?min_id=20>; rel="prev"')
    assert parse_link_header(header) == {"next": "https://m.example/api/v1/timelines/tag/x?max_id=10",
                                         "prev": "https://m.example/api/v1/timelines/tag/x?min_id=20"}
    assert parse_link_header("") == {}


# ----------------------------------------------------------------------------------------- Bluesky

def test_bluesky_post_counts_lang_and_url() -> None:
    posts = load("bluesky/search_posts.json")["posts"]
    post = valid(map_post(posts[0]))
    assert post.external_id == "at://did:plc:w4xbfzo7kqfes5zb7r6qv3rw/app.bsky.feed.post/3lbkq7y2sfc2x"
    assert post.url == "https://bsky.app/profile/rinawulan.bsky.social/post/3lbkq7y2sfc2x"
    assert (post.engagement.likes, post.engagement.reposts, post.engagement.replies,
            post.engagement.quotes) == (9, 1, 3, 0)
    assert post.lang_hint == "id" and post.author.id == "did:plc:w4xbfzo7kqfes5zb7r6qv3rw"
    assert post.created_at == datetime(2026, 11, 20, 9, 40, 51, 274000, tzinfo=UTC)


def test_bluesky_relations_and_verification() -> None:
    posts = load("bluesky/search_posts.json")["posts"]
    news, reply, quote = map_post(posts[1]), map_post(posts[2]), map_post(posts[3])
    assert news.author.verified and not news.quote_of
    assert reply.in_reply_to == "at://did:plc:w4xbfzo7kqfes5zb7r6qv3rw/app.bsky.feed.post/3lbkpw7atuk2a"
    assert reply.metadata["reply_root"] == reply.in_reply_to
    assert quote.quote_of == "at://did:plc:7c4m2ngq5wx3ppt7kzbyqqlb/app.bsky.feed.post/3lbkpq2vxcs2k"
    # An invalid handle falls back to the DID in the URL.
    assert quote.url == "https://bsky.app/profile/did:plc:ab3cdzo7kqfes5zb7r6qv9zz/post/3lbkpxkx3ok2d"


def test_at_uri_to_web_url() -> None:
    assert web_url("at://did:plc:abc/app.bsky.feed.post/3k", "a.bsky.social") == \
        "https://bsky.app/profile/a.bsky.social/post/3k"
    assert web_url("at://did:plc:abc/app.bsky.feed.like/3k") == ""
    assert web_url("https://bsky.app/x") == ""


# ------------------------------------------------------------------------------------------ Reddit

def test_reddit_self_post_link_post_removed_and_crosspost() -> None:
    children = load("reddit/new_posts.json")["data"]["children"]
    selfpost, link, removed, crosspost = (valid(map_thing(c)) for c in children)
    assert selfpost.external_id == "t3_1gvf3kd" and selfpost.title == "GoPay double charge, CS nggak respon"
    assert selfpost.text.startswith("Udah 3 hari saldo GoPay")
    assert selfpost.url == "https://www.reddit.com/r/indonesia/comments/1gvf3kd/gopay_double_charge_cs_nggak_respon/"
    assert (selfpost.engagement.likes, selfpost.engagement.replies) == (57, 23)
    assert selfpost.author == Author(id="t2_8x2k1m4q", handle="kopi_susu_gula_aren",
                                     display_name="kopi_susu_gula_aren")
    assert selfpost.created_at == datetime(2026, 11, 20, 9, 35, 51, tzinfo=UTC)
    assert link.title == "Grab & Gojek naikkan biaya layanan mulai Desember" and link.text == ""
    assert link.metadata["link_url"].startswith("https://tekno.kompas.com/")
    assert removed.text == "" and removed.title  # the title of a removed post is still a mention
    assert crosspost.repost_of == "t3_1gvenq1"


def test_reddit_comments() -> None:
    children = load("reddit/new_comments.json")["data"]["children"]
    reply, buried = (valid(map_thing(c)) for c in children)
    assert reply.in_reply_to == "t3_1gvf3kd" and reply.metadata["link_id"] == "t3_1gvf3kd"
    assert reply.url.endswith("/lxy9k2a/")
    assert buried.engagement.likes == 0 and buried.in_reply_to == "t1_lxy8zzz"


def test_reddit_removed_comment_and_unknown_kind_are_errors() -> None:
    comment = load("reddit/new_comments.json")["data"]["children"][0]
    removed = {"kind": "t1", "data": {**comment["data"], "body": "[removed]"}}
    with pytest.raises(MappingError, match="removed"):
        map_thing(removed)
    with pytest.raises(MappingError, match="unsupported"):
        map_thing({"kind": "t5", "data": {**comment["data"]}})


# ----------------------------------------------------------------------------------------- YouTube

def test_youtube_video_with_details() -> None:
    search = load("youtube/search_list.json")["items"]
    details = {v["id"]: v for v in load("youtube/videos_list.json")["items"]}
    video = valid(map_video(search[0], details["dQ4n2Kx7pLs"]))
    assert video.external_id == "dQ4n2Kx7pLs"
    assert video.title == "REVIEW JUJUR: GoFood vs GrabFood 2026 'biaya layanan' makin mahal?"
    assert video.text.endswith("04:30 Biaya layanan")
    assert (video.engagement.views, video.engagement.likes, video.engagement.replies) == (15233, 811, 164)
    assert video.lang_hint == "id" and video.author.id == "UCx1y2z3GojekReviewID"
    assert video.url == "https://www.youtube.com/watch?v=dQ4n2Kx7pLs"
    live = map_video(search[2], details["LiVe0jek123"])
    assert live.metadata["live"] == "live" and live.text == "" and live.title


def test_youtube_video_without_details_uses_the_search_snippet() -> None:
    video = map_video(load("youtube/search_list.json")["items"][0], None)
    assert video.title == "REVIEW JUJUR: GoFood vs GrabFood 2026 'biaya layanan' makin mahal?"
    assert video.engagement.views == 0


def test_youtube_comment_thread() -> None:
    thread = load("youtube/comment_threads.json")["items"][0]
    comment = valid(map_comment_thread(thread))
    assert comment.external_id == "UgzQ7t1cM0n3pX2r9sB4AaABAg" and comment.in_reply_to == "dQ4n2Kx7pLs"
    assert comment.text == "Biaya layanan 4rb itu beneran kerasa kalau pesan tiap hari & sendirian 😭"
    assert comment.author.handle == "@sitinurhaliza_id" and comment.author.id == "UCq1w2e3r4t5y6u7i8o9p0aS"
    assert (comment.engagement.likes, comment.engagement.replies) == (23, 2)
    assert comment.url == "https://www.youtube.com/watch?v=dQ4n2Kx7pLs&lc=UgzQ7t1cM0n3pX2r9sB4AaABAg"


# ------------------------------------------------------------------------------------- Hacker News

def test_hackernews_comment_story_and_ask() -> None:
    comment, story, ask = (valid(map_hit(h)) for h in load("hackernews/search_by_date.json")["hits"])
    assert comment.in_reply_to == "42187355" and comment.metadata["story_id"] == "42187311"
    assert comment.text.startswith("The interesting part is that Gojek runs its own payment rails")
    assert "\n\nSee their postmortem: https://example.com/postmortem" in comment.text
    assert story.title == "Gojek's 3-hour outage: a database failover gone wrong"
    assert (story.engagement.likes, story.engagement.replies) == (213, 48)
    assert story.url == "https://news.ycombinator.com/item?id=42187311"
    assert story.metadata["link_url"] == "https://engineering.example.com/gojek-outage"
    assert ask.text.startswith("We're comparing Gojek and Grab APIs") and ask.author.handle == "ayu_k"


# --------------------------------------------------------------------------------------------- RSS

def test_rss_items() -> None:
    root = parse_xml((FIXTURES / "rss/feed.xml").read_bytes())
    feed, items = parse_feed(root, "https://kabar.example.id/tekno/feed.xml")
    assert feed.title == "Kabar Teknologi & Startup" and feed.lang == "id"
    posts = [valid(map_item(i, feed, fallback_time=NOW)) for i in items]
    first = posts[0]
    assert first.external_id == "kabar-tekno-88213"
    assert first.text == ("Layanan Gojek kembali normal pukul 12.30 WIB setelah gangguan & lonjakan keluhan "
                          "pengguna.\n\nGoTo menyebut penyebabnya adalah failover basis data.")
    assert first.created_at == datetime(2026, 11, 20, 9, 40, tzinfo=UTC)
    assert first.author.display_name == "Siti Rahma" and first.engagement.replies == 12
    assert first.metadata["categories"] == "Startup, Gojek" and first.lang_hint == "id"
    assert posts[1].author.display_name == "Budi Hartono"
    # No guid: the link, made absolute against the feed URL.
    assert posts[2].external_id == "https://kabar.example.id/tekno/2026/11/19/opini-ojol"


def test_atom_entries() -> None:
    root = parse_xml((FIXTURES / "rss/atom.xml").read_bytes())
    feed, items = parse_feed(root, "https://weekly.example.com/atom.xml")
    first, second = (valid(map_item(i, feed, fallback_time=NOW)) for i in items)
    assert feed.title == "Delivery Apps Weekly" and feed.lang == "en"
    assert first.external_id == "tag:weekly.example.com,2026-11-20:/grab-vs-gojek"
    assert first.title == "Grab beats Gojek on delivery time"
    assert first.text == "We placed 40 orders in Jakarta this week.\n\nGrab averaged 24 minutes."
    assert first.url == "https://weekly.example.com/2026/11/20/grab-vs-gojek"
    assert first.created_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert first.author.display_name == "Priya Nair" and first.metadata["categories"] == "benchmarks"
    assert second.text == "Biaya layanan naik di dua aplikasi." and second.lang_hint == "id"


def test_undated_item_gets_the_feed_date_and_is_flagged() -> None:
    doc = (b"<rss><channel><title>T</title><lastBuildDate>Fri, 20 Nov 2026 08:00:00 GMT</lastBuildDate>"
           b"<item><guid>g1</guid><title>No date</title></item></channel></rss>")
    feed, items = parse_feed(parse_xml(doc), "https://f.example/rss")
    post = map_item(items[0], feed, fallback_time=NOW)
    assert post.created_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert post.metadata["date_estimated"] == "true"


BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><rss>&lol2;</rss>')
EXTERNAL = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b"<rss><channel><title>&xxe;</title></channel></rss>")
RSS091 = (b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
          b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>'
          b"<title>Old</title><item><title>Hi</title><link>https://old.example/1</link></item>"
          b"</channel></rss>")


@pytest.mark.parametrize("use_defusedxml", [True, False], ids=["defusedxml", "expat-prescan"])
def test_xml_entities_are_refused_but_a_plain_doctype_is_fine(use_defusedxml: bool) -> None:
    for doc in (BOMB, EXTERNAL):
        with pytest.raises(UnsafeXmlError):
            parse_xml(doc, use_defusedxml=use_defusedxml)
    root = parse_xml(RSS091, use_defusedxml=use_defusedxml)
    assert root.find("channel/item/title").text == "Hi"


# ------------------------------------------------------------------------------------------ shared

@pytest.mark.parametrize("html,text", [
    ("<p>a</p><p>b</p>", "a\n\nb"),
    ("line<br>break<br/>again", "line\nbreak\nagain"),
    ("Tom &amp; Jerry &#8211; &lt;3", "Tom & Jerry – <3"),
    ("<div>x<script>alert(1)</script><style>p{}</style>y</div>", "xy"),
    ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
    ("  plain   text  ", "plain   text"),
    ("<p>  spaced \n  out  </p>", "spaced\nout"),
])
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize("value,expected", [
    ("2026-11-20T09:41:07.000Z", datetime(2026, 11, 20, 9, 41, 7, tzinfo=UTC)),
    ("2026-11-20T16:41:07+07:00", datetime(2026, 11, 20, 9, 41, 7, tzinfo=UTC)),
    ("Fri, 20 Nov 2026 16:40:00 +0700", datetime(2026, 11, 20, 9, 40, tzinfo=UTC)),
    ("2026-11-20 09:41:07", datetime(2026, 11, 20, 9, 41, 7, tzinfo=UTC)),
    (1795167351.0, datetime(2026, 11, 20, 9, 35, 51, tzinfo=UTC)),
])
def test_parse_datetime(value: object, expected: datetime) -> None:
    parsed = parse_datetime(value)
    assert parsed == expected and parsed.tzinfo is not None


@pytest.mark.parametrize("value", ["", None, "soon", True, {"a": 1}])
def test_parse_datetime_rejects(value: object) -> None:
    with pytest.raises(MappingError):
        parse_datetime(value)


def test_mapped_keeps_the_page_and_names_the_bad_item() -> None:
    def mapper(item: dict[str, Any]) -> CollectedPost:
        return CollectedPost(platform="x", external_id=item["id"], text=item["text"],
                             created_at=parse_datetime(item["at"]))

    items = [{"id": "1", "text": "ok", "at": "2026-11-20T00:00:00Z"}, {"id": "2", "text": "no date"},
             {"id": "3", "text": "", "at": "2026-11-20T00:00:00Z"}]
    posts, errors = mapped("x", items, mapper, id_of=lambda i: i["id"])
    assert [p.external_id if p else None for p in posts] == ["1", None, None]
    assert [(e.index, e.external_id) for e in errors] == [(1, "2"), (2, "3")]
    assert errors[0].reason == "missing field 'at'" and "neither text nor title" in errors[1].reason


def test_collected_post_to_proto() -> None:
    post = CollectedPost(platform="bluesky", external_id="at://d/app.bsky.feed.post/1", text="hi",
                         created_at=datetime(2026, 11, 20, 16, 0, tzinfo=UTC), title="",
                         metadata={"did": "d"})
    proto = post.to_proto(source_id="src-1", query_ids=["q1"])
    assert proto.platform == common_pb2.PLATFORM_BLUESKY
    assert proto.created_at.ToDatetime(tzinfo=UTC) == post.created_at
    assert proto.source_id == "src-1" and list(proto.query_ids) == ["q1"] and proto.metadata["did"] == "d"
    with pytest.raises(MappingError):
        CollectedPost(platform="x", external_id="1", text="t", created_at=datetime(2026, 1, 1))
