"""Live streams' pure parts: SSE framing, Last-Event-ID parsing, the per-tenant stream count."""

from __future__ import annotations

import pytest

from dengar_gateway.domain.streams import (
    StreamLimits,
    parse_event_id,
    sse_comment,
    sse_event,
)


def test_an_event_has_its_id_type_and_data_then_a_blank_line() -> None:
    assert sse_event('{"a":1}', event="mention", event_id="42") == (
        b'id: 42\nevent: mention\ndata: {"a":1}\n\n')
    assert sse_event("x") == b"data: x\n\n"
    assert sse_event("{}", event="open", event_id="0", retry_ms=5000) == (
        b"id: 0\nevent: open\nretry: 5000\ndata: {}\n\n")


@pytest.mark.parametrize(("data", "lines"), [
    ("one\ntwo", b"data: one\ndata: two\n\n"),
    ("one\r\ntwo\rthree", b"data: one\ndata: two\ndata: three\n\n"),
    ("", b"data: \n\n"),
])
def test_line_breaks_in_data_become_several_data_lines(data: str, lines: bytes) -> None:
    assert sse_event(data) == lines


def test_an_id_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError):
        sse_event("x", event_id="1\nevent: evil")


def test_comments_are_lines_starting_with_a_colon() -> None:
    assert sse_comment("heartbeat") == b": heartbeat\n\n"
    assert sse_comment() == b":\n\n"
    assert sse_comment("a\nb") == b": a\n: b\n\n"


@pytest.mark.parametrize(("value", "want"), [(None, None), ("", None), ("  ", None), ("0", "0"),
                                             (" 17 ", "17"), (str(2**64 - 1), str(2**64 - 1))])
def test_event_ids_parse(value: str | None, want: str | None) -> None:
    assert parse_event_id(value) == want


@pytest.mark.parametrize("value", ["abc", "-1", "1.0", "１２", str(2**64), "1" * 21, "0x1"])
def test_foreign_event_ids_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_event_id(value)


def test_the_limit_is_per_tenant_and_slots_come_back_once() -> None:
    limits = StreamLimits(max_per_tenant=2)
    s1, s2 = limits.acquire("acme"), limits.acquire("acme")
    assert s1 is not None and s2 is not None
    assert limits.acquire("acme") is None
    other = limits.acquire("globex")
    assert other is not None and limits.held("globex") == 1 and limits.total == 3
    s1.release()
    s1.release()  # idempotent: a second release must not free someone else's slot
    assert limits.held("acme") == 1
    s3 = limits.acquire("acme")
    assert s3 is not None and limits.acquire("acme") is None
    for slot in (s2, s3, other):
        slot.release()
    assert limits.total == 0 and limits.held("acme") == 0
