from __future__ import annotations

import pytest

from dengar_nlp.domain.signals import Signals, extract_emojis, extract_signals, registrable_domain


def test_hashtags_mentions_cashtags_urls() -> None:
    s = extract_signals(
        "RT @Budi_S: Promo #GojekDiskon #gojekdiskon cek https://www.gojek.co.id/promo?x=1). "
        "$GOTO naik, $BBCA juga, bukan $100 atau #1"
    )
    assert s.hashtags == ("gojekdiskon",)
    assert s.mentions == ("budi_s",)
    assert s.urls == ("https://www.gojek.co.id/promo?x=1",)
    assert s.domains == ("gojek.co.id",)
    assert s.cashtags == ("GOTO", "BBCA")


def test_no_tags_inside_urls_or_emails_or_entities() -> None:
    s = extract_signals("mail a@b.com, see https://mastodon.social/@someone/1#frag and it&#39;s fine")
    assert s.mentions == ()
    assert s.hashtags == ()
    assert s.domains == ("mastodon.social",)


def test_fediverse_and_dotted_handles() -> None:
    s = extract_signals("cc @user@mastodon.social dan @jkt48.official.")
    assert s.mentions == ("user@mastodon.social", "jkt48.official")


def test_bare_domains_and_trailing_punctuation() -> None:
    s = extract_signals(
        "baca detik.com. atau bit.ly/abc, www.bbc.co.uk/news… (https://en.wikipedia.org/wiki/A_(b))"
    )
    assert s.urls == ("detik.com", "bit.ly/abc", "www.bbc.co.uk/news", "https://en.wikipedia.org/wiki/A_(b)")
    assert s.domains == ("detik.com", "bit.ly", "bbc.co.uk", "wikipedia.org")


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://news.detik.com/x", "detik.com"),
        ("http://m.tokopedia.co.id", "tokopedia.co.id"),
        ("https://www.ui.ac.id/", "ui.ac.id"),
        ("https://shop.example.com.my/a", "example.com.my"),
        ("http://192.168.1.1:8080/x", "192.168.1.1"),
        ("https://localhost/x", None),
        ("http://[::1", None),
    ],
)
def test_registrable_domain(url: str, domain: str | None) -> None:
    assert registrable_domain(url) == domain


def test_emoji_graphemes() -> None:
    scotland = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    text = f"gila 😂😂😂 👨‍👩‍👧‍👦 👍🏽👍 🇮🇩🇲🇾 🏳️‍🌈 {scotland} 1️⃣ ❤ ❤️"
    assert extract_emojis(text) == [
        "😂", "😂", "😂", "👨‍👩‍👧‍👦", "👍🏽", "👍", "🇮🇩", "🇲🇾", "🏳️‍🌈",
        scotland, "1️⃣", "❤", "❤️",
    ]  # fmt: skip


def test_text_symbols_are_not_emoji() -> None:
    # © and ™ are text unless asked for emoji presentation; U+FE0E asks for text.
    assert extract_emojis("©2024 Dengar™ ☺︎ #1") == []
    assert extract_emojis("©️") == ["©️"]


def test_empty_and_bad_input() -> None:
    assert extract_signals("") == Signals()
    assert extract_signals("   \n") == Signals()
    with pytest.raises(ValueError):
        extract_signals(None)  # type: ignore[arg-type]  # bad on purpose


def test_lone_surrogates_and_replacement_chars() -> None:
    raw = b"halo \xff\xfe #promo \xf0\x9f\x98 @budi https://x.co/\xff \xf0\x9f\x98\x82".decode(
        "utf-8", "surrogateescape"
    )
    s = extract_signals(raw)
    assert s.hashtags == ("promo",)
    assert s.mentions == ("budi",)
    assert s.emojis == ("😂",)
    replaced = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    assert extract_signals(replaced).hashtags == ("promo",)


def test_long_text() -> None:
    text = ("promo #diskon @toko https://toko.id/a 😂 $GOTO " * 400)[:10_000]
    s = extract_signals(text)
    assert s.hashtags == ("diskon",)
    assert len(s.emojis) > 100
