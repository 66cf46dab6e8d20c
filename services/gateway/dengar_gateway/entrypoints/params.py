"""Query parameter types shared by the read routers."""

from __future__ import annotations

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


def check_range(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start >= end:
        raise query_error("to", "must be later than 'from'")
