"""Number types of request bodies bounded by the proto field that carries them to a backend: a value
outside the wire type's range is the client's error (422), not a failed encode (500)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
