"""Validation of pushed posts, item by item, and their conversion to dengar.v1.Post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dengar.v1 import collector_pb2, common_pb2
from dengar_common.ids import mention_id
from dengar_common.postjson import ItemError, post_to_proto, validate_items
from dengar_common.times import parse_rfc3339
from dengar_gateway.entrypoints.mapping import ingest_result


def post(**overrides: Any) -> dict[str, Any]:
    base = {"platform": "x", "external_id": "1", "text": "hello", "created_at": "2024-05-01T12:00:00Z"}
    base.update(overrides)
    return base


def errors_of(item: Any) -> list[tuple[str, str]]:
    valid, errors = validate_items([item])
    assert not valid
    return [(e.field, e.message) for e in errors]


def test_a_full_valid_post() -> None:
    item = post(platform="Twitter", created_at="2024-05-01T19:00:00.123456789+07:00",
                author={"id": "u1", "handle": "ann", "display_name": "Ann", "followers": 10,
                        "verified": True, "location": "Jakarta"},
                engagement={"likes": 1, "reposts": 2, "replies": 3, "quotes": 4, "views": 5},
                url="https://x.com/ann/status/1", lang="pt-BR", in_reply_to="0", title="t",
                country="ID", metadata={"campaign": "spring"})
    valid, errors = validate_items([item])
    assert errors == []
    [(index, p)] = valid
    assert index == 0 and p.platform == "x"  # alias normalised
    assert p.created_at == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_timestamp_without_timezone_is_rejected() -> None:
    [(field, message)] = errors_of(post(created_at="2024-05-01T12:00:00"))
    assert field == "created_at" and "timezone" in message


@pytest.mark.parametrize("value", [1714564800, "1714564800", "2024-05-01", "yesterday", None,
                                   "2024-13-01T00:00:00Z"])
def test_non_rfc3339_timestamps_are_rejected(value: Any) -> None:
    [(field, _)] = errors_of(post(created_at=value))
    assert field == "created_at"


def test_unknown_platform() -> None:
    [(field, message)] = errors_of(post(platform="myspace"))
    assert field == "platform" and "unknown platform 'myspace'" in message


def test_text_limit_is_40000_characters() -> None:
    assert validate_items([post(text="é" * 40_000)])[1] == []
    [(field, message)] = errors_of(post(text="a" * 40_001))
    assert field == "text" and "40000" in message


def test_nested_field_errors_have_dotted_paths() -> None:
    errors = errors_of(post(engagement={"likes": -1}, author={"followers": "many"},
                            metadata={"k": 3}))
    assert {f for f, _ in errors} == {"engagement.likes", "author.followers", "metadata.k"}


def test_missing_and_unknown_fields() -> None:
    errors = dict(errors_of({"platform": "x", "lang_hint": "en"}))
    assert set(errors) == {"external_id", "text", "created_at", "lang_hint"}
    assert errors["lang_hint"] == "Extra inputs are not permitted"


@pytest.mark.parametrize("field,value", [("url", "javascript:alert(1)"), ("lang", "english!"),
                                         ("external_id", "")])
def test_field_formats(field: str, value: str) -> None:
    [(got, _)] = errors_of(post(**{field: value}))
    assert got == field


def test_each_item_is_judged_alone() -> None:
    items = [post(external_id="a"), "not an object", post(external_id="b", created_at="2024-05-01"),
             post(external_id="c")]
    valid, errors = validate_items(items)
    assert [i for i, _ in valid] == [0, 3]
    assert [(e.index, e.field) for e in errors] == [(1, ""), (2, "created_at")]


def test_post_to_proto() -> None:
    [(_, p)] = validate_items([post(platform="reddit", author={"handle": "ann"}, metadata={"a": "b"})])[0]
    now = datetime(2024, 6, 1, tzinfo=UTC)
    msg = post_to_proto(p, "acme", now)
    assert msg.tenant_id == "acme" and msg.platform == common_pb2.PLATFORM_REDDIT
    assert msg.id == mention_id("acme", "reddit", "1")
    assert msg.created_at.ToDatetime(tzinfo=UTC) == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert msg.collected_at.ToDatetime(tzinfo=UTC) == now
    assert msg.author.handle == "ann" and msg.HasField("author") and not msg.HasField("engagement")
    assert dict(msg.metadata) == {"a": "b"} and msg.source_id == "api"


def test_collector_errors_are_mapped_back_to_request_indexes() -> None:
    # Items 0 and 2 were invalid locally; 1, 3 and 4 were sent as 0, 1 and 2.
    response = collector_pb2.IngestPostsResponse(
        accepted=2, rejected=1, post_ids=["id1", "id4"],
        errors=[collector_pb2.IngestError(index=1, field="text", message="spam")])
    local = [ItemError(index=0, field="text", message="x"), ItemError(index=2, field="", message="y")]
    result = ingest_result([1, 3, 4], response, local, rejected_locally=2)
    assert (result.accepted, result.rejected, result.ids) == (2, 3, ["id1", "id4"])
    assert [(e.index, e.field) for e in result.errors] == [(0, "text"), (2, ""), (3, "text")]


def test_rfc3339_parsing_keeps_offsets() -> None:
    value = parse_rfc3339("2024-05-01T12:00:00.5-03:30")
    assert value.utcoffset() == -timedelta(hours=3, minutes=30)
    assert value.microsecond == 500000
