"""Query parameter types shared by the read routers."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator

from dengar_common.times import rfc3339_query

# RFC 3339 with a timezone; in a URL, encode "+" as %2B (an unencoded one is tolerated).
QueryTime = Annotated[datetime, BeforeValidator(rfc3339_query)]


def query_error(name: str, message: str, value: Any = None) -> RequestValidationError:
    return RequestValidationError([{"loc": ("query", name), "msg": message, "type": "value_error",
                                    "input": value}])


def split_list(values: list[str] | None) -> list[str]:
    """Values of a parameter given repeated (?a=x&a=y), comma-separated (?a=x,y) or both."""
    out: list[str] = []
    for value in values or []:
        for part in value.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def parse_values(name: str, values: list[str], parse: Callable[[str], int]) -> list[int]:
    """Each of a parameter's values through ``parse`` (an enum parser such as
    ``sentiment_from_name``); its ValueError becomes a 422 naming the parameter and the value."""
    out = []
    for value in values:
        try:
            out.append(parse(value))
        except ValueError as exc:
            raise query_error(name, str(exc), value) from None
    return out


def check_range(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start >= end:
        raise query_error("to", "must be later than 'from'")


# Listening query ids (insights refuses more per request, and longer ids are not ids).
MAX_QUERY_IDS = 50
MAX_QUERY_ID_CHARS = 128


def query_ids(values: list[str] | None, name: str = "query_id") -> list[str]:
    """Repeated and/or comma-separated listening query ids, de-duplicated, in the order given."""
    ids = split_list(values)
    if len(ids) > MAX_QUERY_IDS:
        raise query_error(name, f"at most {MAX_QUERY_IDS} listening queries, got {len(ids)}", len(ids))
    for value in ids:
        if len(value) > MAX_QUERY_ID_CHARS:
            raise query_error(name, f"longer than {MAX_QUERY_ID_CHARS} characters", value)
    return ids


# A category id as insights makes them: "c_" and 16 hex digits.
CATEGORY_ID_PATTERN = r"^c_[0-9a-f]{16}$"
_CATEGORY_ID_RE = re.compile(CATEGORY_ID_PATTERN)


def category_ids(values: list[str] | None, name: str = "category_id") -> list[str]:
    """Repeated and/or comma-separated category ids, de-duplicated, in the order given."""
    ids = split_list(values)
    if len(ids) > MAX_QUERY_IDS:
        raise query_error(name, f"at most {MAX_QUERY_IDS} categories, got {len(ids)}", len(ids))
    for value in ids:
        if not _CATEGORY_ID_RE.match(value):
            raise query_error(name, "not a category id (c_ and 16 hex digits)", value)
    return ids
