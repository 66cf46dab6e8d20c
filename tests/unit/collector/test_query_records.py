"""Listening-query records: names, roles, page sizes and page tokens."""

from __future__ import annotations

import pytest

from dengar_collector.domain.ingest import RequestError
from dengar_collector.domain.listening_query import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    QueryInputError,
    check_role,
    check_tenant,
    clean_name,
    decode_page_token,
    encode_page_token,
    name_key,
    new_query_id,
    page_size,
)


def test_names_are_trimmed_and_compared_without_case_or_extra_spaces() -> None:
    assert clean_name("  GoCepat   brand ") == "GoCepat brand"
    assert name_key("GoCepat   Brand") == name_key("gocepat brand")
    for bad in ("", "   ", "x" * 201, "a\x00b"):
        with pytest.raises(QueryInputError) as info:
            clean_name(bad)
        assert info.value.field == "name"


def test_roles_and_tenants() -> None:
    assert check_role("competitor") == "competitor"
    with pytest.raises(QueryInputError):
        check_role("rival")
    check_tenant("acme-1")
    for bad in ("", "Acme", "a.b", "x" * 64):
        with pytest.raises(RequestError):
            check_tenant(bad)


def test_ids_look_like_q_and_16_hex() -> None:
    qid = new_query_id()
    assert qid.startswith("q_") and len(qid) == 18 and int(qid[2:], 16) >= 0
    assert new_query_id() != qid


def test_page_size_defaults_and_caps() -> None:
    assert (page_size(0), page_size(7), page_size(10_000)) == (DEFAULT_PAGE_SIZE, 7, MAX_PAGE_SIZE)
    with pytest.raises(QueryInputError):
        page_size(-1)


def test_page_tokens_round_trip_and_are_bound_to_the_role_filter() -> None:
    token = encode_page_token("gocepat brand", "brand")
    assert decode_page_token(token, "brand") == "gocepat brand"
    assert decode_page_token(encode_page_token("ä/ö", None), None) == "ä/ö"
    with pytest.raises(QueryInputError, match="role"):
        decode_page_token(token, None)
    for garbage in ("garbage", "e30", "!!!", token[:-3], "x" * 5000):
        with pytest.raises(QueryInputError):
            decode_page_token(garbage, "brand")
