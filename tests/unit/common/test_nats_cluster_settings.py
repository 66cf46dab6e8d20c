"""A NATS cluster in the settings: several server URLs and the streams' replication factor."""

from __future__ import annotations

import pytest

from dengar_common.bus import server_urls
from dengar_common.settings import CommonSettings, ConfigError, load_settings


def test_a_comma_separated_nats_url_lists_every_node() -> None:
    assert server_urls("nats://a:4222, nats://b:4222,nats://c:4222") == [
        "nats://a:4222", "nats://b:4222", "nats://c:4222"]
    assert server_urls("nats://127.0.0.1:4222") == ["nats://127.0.0.1:4222"]
    with pytest.raises(ValueError):
        server_urls(" , ")


def test_stream_replicas_default_to_one_and_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(CommonSettings).nats_stream_replicas == 1
    monkeypatch.setenv("DENGAR_NATS_STREAM_REPLICAS", "3")
    assert load_settings(CommonSettings).nats_stream_replicas == 3
    monkeypatch.setenv("DENGAR_NATS_STREAM_REPLICAS", "0")
    with pytest.raises(ConfigError, match="DENGAR_NATS_STREAM_REPLICAS"):
        load_settings(CommonSettings)
