"""Fuzzing the public API with schemathesis: every operation of the gateway's own OpenAPI, with data
that fits the schema (positive) and data that does not (negative), sent to a running platform.

A finding is a 5xx, or a response that the OpenAPI does not describe: an undocumented status, a
content type the operation does not declare for it, a body that breaks its schema, or a documented
response header that is missing or malformed. Shared by the bounded test in `make test` and the
longer `make fuzz` (``DENGAR_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

logger = logging.getLogger(__name__)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]

# Never ends by itself: a live stream is answered with events until the client leaves, so a
# request/response fuzzer cannot read it. Its errors are checked by the stream tests.
SKIPPED = {("GET", "/v1/stream/mentions")}


@dataclass
class Findings:
    """What the fuzzer found, one line per distinct failure (operation, check and message)."""

    lines: dict[str, str] = field(default_factory=dict)
    calls: int = 0
    by_status: dict[int, int] = field(default_factory=dict)

    def add(self, label: str, case: Case, exc: BaseException) -> None:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        key = f"{label}: {first}"
        if key not in self.lines:
            self.lines[key] = f"{key}\n    {case.as_curl_command()}\n    {str(exc)[:1500]}"


def load_schema(api_url: str) -> Any:
    return schemathesis.openapi.from_url(f"{api_url}/openapi.json", timeout=30)


def _call(case: Case, api_url: str, headers: dict[str, str], session: requests.Session
          ) -> schemathesis.Response:
    # The per-key rate limit answers a fast fuzzer with 429s; waiting keeps the calls useful.
    for _ in range(20):
        response = case.call(base_url=api_url, headers=headers, session=session, timeout=60)
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("retry-after", ["1"])[0]))
    return response


def fuzz(api_url: str, headers: dict[str, str], *, examples: int,
         modes: Iterable[GenerationMode] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
         select: Callable[[str, str], bool] = lambda method, path: True) -> Findings:
    """Runs ``examples`` generated cases per operation and mode; returns what broke the contract."""
    schema = load_schema(api_url)
    findings = Findings()
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        method, path = operation.method.upper(), operation.path
        if (method, path) in SKIPPED or not select(method, path):
            continue
        for mode in modes:
            _fuzz_operation(operation, mode, api_url, headers, session, examples, findings)
    return findings


def _fuzz_operation(operation: APIOperation, mode: GenerationMode, api_url: str, headers: dict[str, str],
                    session: requests.Session, examples: int, findings: Findings) -> None:
    label = f"{operation.method.upper()} {operation.path} [{mode.value}]"

    @settings(max_examples=examples, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        response = _call(case, api_url, headers, session)
        findings.calls += 1
        findings.by_status[response.status_code] = findings.by_status.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, FailureGroup) as exc:  # each failed check is a finding; fuzz on
            findings.add(label, case, exc)

    try:
        run()
    except Unsatisfiable:
        pass  # nothing to negate: an operation without parameters or body
    except Exception as exc:
        findings.lines[f"{label}: the fuzzer failed"] = f"{label}: {exc!r}"[:2000]
