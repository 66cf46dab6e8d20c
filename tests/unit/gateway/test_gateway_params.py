"""The query-parameter helpers shared by the read routers."""

from __future__ import annotations

import pytest
from fastapi.exceptions import RequestValidationError

from dengar_common.enums import platform_from_name, sentiment_from_name
from dengar_gateway.entrypoints.params import parse_values, split_list


def test_parse_values_maps_each_value_in_order() -> None:
    assert parse_values("platform", ["reddit", "X"], platform_from_name) == [
        platform_from_name("reddit"), platform_from_name("x")]
    assert parse_values("sentiment", [], sentiment_from_name) == []


def test_parse_values_names_the_parameter_and_the_value_at_fault() -> None:
    with pytest.raises(RequestValidationError) as err:
        parse_values("sentiment", split_list(["negative,angry"]), sentiment_from_name)
    [error] = err.value.errors()
    assert (error["loc"], error["input"]) == (("query", "sentiment"), "angry")
