"""Fuzzing the public API against its own OpenAPI on the real platform (all services, NATS and the
store), with a key holding every scope: no 5xx, and every response as documented.

Bounded here (``DENGAR_FUZZ_EXAMPLES`` cases per operation and mode, 5 by default: about a minute
and a half on two cores); `make fuzz` runs many more.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from api_fuzz import fuzz

from dengar_cli.platform import Platform

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("DENGAR_FUZZ_EXAMPLES", "5"))


def test_every_operation_answers_as_documented(platform: Platform, new_tenant: Callable[[str, str], str]
                                               ) -> None:
    key = new_tenant("Fuzzer", "fuzzer")
    findings = fuzz(platform.api_url, {"Authorization": f"Bearer {key}"}, examples=EXAMPLES)
    # The fuzzer really reached the operations: successes as well as refusals.
    assert findings.calls > 50, findings.by_status
    assert sum(n for status, n in findings.by_status.items() if 200 <= status < 300) > 10, findings.by_status
    assert not findings.lines, "\n\n".join(findings.lines.values())
