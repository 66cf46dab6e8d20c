"""What a key without the admin scope sees of a source's config."""

from __future__ import annotations

import pytest

from dengar_gateway.domain.redact import MASK, redact_config, redact_url


@pytest.mark.parametrize("url,shown", [
    ("https://feeds.example.com/private.xml?token=s3cr3t&lang=id",
     "https://feeds.example.com/private.xml?token=***&lang=***"),
    ("https://alice:pw@feeds.example.com:8443/x.rss", "https://***@feeds.example.com:8443/x.rss"),
    ("https://feeds.example.com/x.rss?abc123", "https://feeds.example.com/x.rss?***"),
    ("https://feeds.example.com/x.rss#key=abc", "https://feeds.example.com/x.rss"),
    ("https://mastodon.social", "https://mastodon.social"),
    ("http://[::1]:9/feed?k=v", "http://[::1]:9/feed?k=***"),
    ("gojek OR grab", "gojek OR grab"),
])
def test_urls_lose_user_info_query_values_and_fragments(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_secret_looking_names_are_masked_at_any_depth() -> None:
    config = {"feed_url": "https://f.example/rss?apikey=AAA", "query": "acme", "api_key": "BBB",
              "headers": {"X-Auth-Token": "CCC", "Accept": "text/xml"}, "auth_url": "https://www.reddit.com",
              "client_secret": 12345, "password": "", "backfill_hours": 24, "urls": ["https://u:p@h/x"],
              "session": {"id": "DDD"}}
    shown = redact_config(config)
    text = repr(shown)
    for secret in ("AAA", "BBB", "CCC", "DDD", "12345", "u:p"):
        assert secret not in text
    assert shown["query"] == "acme" and shown["backfill_hours"] == 24
    assert shown["auth_url"] == "https://www.reddit.com"  # a URL field, not a secret
    assert shown["headers"] == {"X-Auth-Token": MASK, "Accept": "text/xml"}
    assert shown["feed_url"] == "https://f.example/rss?apikey=***"
    assert config["api_key"] == "BBB"  # a copy; the original is untouched
