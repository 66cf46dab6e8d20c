"""RFC 9457 problem details: every error the API returns is ``application/problem+json``.

Problems without semantics beyond their status use ``type: about:blank`` and the status phrase
as title, as the RFC recommends; the others get a ``urn:dengar:problem:<slug>`` type that clients
can switch on.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dc_field
from http import HTTPStatus
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from dengar_common.errors import DomainError
from dengar_common.grpcerrors import RemoteError
from dengar_common.telemetry import current_trace_id

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:dengar:problem:"


class FieldError(BaseModel):
    location: str = Field(description="Where the value was: body, query, path or header.")
    field: str = Field(description="Dotted path of the value inside its location.")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``). A backend's error may add
    ``field``, ``position``, ``expected`` (where in a value) and ``reason`` (a slug) members."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    # A reached quota (409 over a count, 429 over a rate or concurrency): its limit and the
    # tenant's current usage.
    limit: int | None = None
    current: int | None = None


class ApiProblem(Exception):
    """Raised anywhere in request handling; rendered as a problem document."""

    def __init__(self, status: int, detail: str | None = None, *, slug: str | None = None,
                 title: str | None = None, headers: Mapping[str, str] | None = None,
                 **extensions: Any) -> None:
        super().__init__(detail or str(status))
        self.status = status
        self.detail = detail
        self.slug = slug
        self.title = title
        self.headers = dict(headers or {})
        self.extensions = extensions


def unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="dengar"'})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_document(status: int, *, detail: str | None = None, slug: str | None = None,
                     title: str | None = None, instance: str | None = None,
                     extensions: Mapping[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{slug}" if slug else "about:blank",
        "title": title or _phrase(status),
        "status": status,
    }
    if detail:
        doc["detail"] = detail
    if instance:
        doc["instance"] = instance
    trace_id = current_trace_id()
    if trace_id:
        doc["trace_id"] = trace_id
    doc.update(extensions or {})
    return doc


def problem_response(request: Request | None, status: int, *, detail: str | None = None,
                     slug: str | None = None, title: str | None = None,
                     headers: Mapping[str, str] | None = None,
                     extensions: Mapping[str, Any] | None = None) -> Response:
    doc = problem_document(status, detail=detail, slug=slug, title=title,
                           instance=request.url.path if request is not None else None,
                           extensions=extensions)
    return Response(json.dumps(doc, ensure_ascii=False), status_code=status,
                    media_type=PROBLEM_JSON, headers=dict(headers or {}))


def _location_and_field(loc: Sequence[int | str]) -> tuple[str, str]:
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        return str(loc[0]), ".".join(str(p) for p in loc[1:])
    return "body", ".".join(str(p) for p in loc)


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    out = []
    for err in errors:
        location, field = _location_and_field(err.get("loc", ()))
        out.append({"location": location, "field": field,
                    "message": str(err.get("msg", "invalid")).removeprefix("Value error, ")})
    return out


# gRPC status of a failed backend call -> (HTTP status, slug). The gateway validates requests
# before calling a backend, so a backend that still rejects one is reporting a bad request.
_GRPC_TO_HTTP: dict[grpc.StatusCode, tuple[int, str | None]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, None),
    grpc.StatusCode.OUT_OF_RANGE: (400, None),
    grpc.StatusCode.FAILED_PRECONDITION: (422, None),
    grpc.StatusCode.NOT_FOUND: (404, None),
    grpc.StatusCode.ALREADY_EXISTS: (409, None),
    grpc.StatusCode.UNAVAILABLE: (503, "backend-unavailable"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (503, "backend-unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "backend-timeout"),
    grpc.StatusCode.CANCELLED: (503, "backend-unavailable"),
}


@dataclass(frozen=True)
class Answer:
    """How the API answers one kind of failed backend call, where the table above is not enough
    (a row of a route's ``RemoteAnswers``)."""

    status: int
    slug: str | None = None
    title: str | None = None
    #: Replaces the backend's detail (None: keep it).
    detail: str | None = None
    #: The detail when the backend gave none.
    default_detail: str | None = None
    #: Also list the error in ``errors`` as a body field (the backend's field, else this one).
    errors_field: str | None = None
    #: Where that field is: body, query or path.
    errors_location: str = "body"
    #: Only when the backend located the error (a syntax error with a position).
    needs_position: bool = False
    headers: Mapping[str, str] = dc_field(default_factory=dict)


#: A route's own answers, keyed by the backend's ``reason`` slug or status name (reason first).
RemoteAnswers = Mapping[str, Answer]


def _answer_for(exc: RemoteError, answers: RemoteAnswers | None) -> Answer:
    for key in (exc.reason, exc.code.name):
        answer = (answers or {}).get(key) if key else None
        if answer is not None and (not answer.needs_position or exc.position is not None):
            return answer
    status, slug = _GRPC_TO_HTTP.get(exc.code, (502, "backend-error"))
    if status < 500:
        return Answer(status, slug)
    # Backend internals (stack traces, hostnames) are not the client's business.
    what = {503: "is unavailable", 504: "did not answer in time"}.get(status, "failed")
    return Answer(status, slug, detail=f"the {exc.service} service {what}",
                  headers={"Retry-After": "1"} if status == 503 else {})


def remote_problem(exc: RemoteError, answers: RemoteAnswers | None = None) -> ApiProblem:
    """The problem for a failed backend call: the route's own answer or the status table, with the
    field, position, expected and reason the backend named, and its Retry-After."""
    answer = _answer_for(exc, answers)
    headers = dict(answer.headers)
    if exc.retry_after_s is not None and answer.status in (409, 413, 429, 503):
        headers["Retry-After"] = retry_after(exc.retry_after_s)
    if answer.status >= 500:
        return ApiProblem(answer.status, answer.detail, slug=answer.slug, headers=headers)
    detail = answer.detail or exc.detail or answer.default_detail
    extensions: dict[str, Any] = {name: value for name, value in (
        ("field", exc.field), ("position", exc.position), ("expected", exc.expected),
        ("reason", exc.reason), ("limit", exc.limit), ("current", exc.current)) if value is not None}
    if answer.errors_field is not None:
        extensions["errors"] = [{"location": answer.errors_location,
                                 "field": exc.field or answer.errors_field,
                                 "message": answer.detail or exc.detail}]
    return ApiProblem(answer.status, detail, slug=answer.slug, title=answer.title, headers=headers,
                      **extensions)


@contextmanager
def answering(answers: RemoteAnswers) -> Iterator[None]:
    """Answer the backend calls inside with the route's own ``answers`` (the rest as usual)."""
    try:
        yield
    except RemoteError as exc:
        raise remote_problem(exc, answers) from None


# The gateway's own use cases raise DomainErrors: their HTTP status by kind.
_DOMAIN_TO_HTTP: dict[str, int] = {
    "INVALID_ARGUMENT": 400, "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "FAILED_PRECONDITION": 409,
    "RESOURCE_EXHAUSTED": 429, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "UNAVAILABLE": 503,
}


def domain_problem(exc: DomainError) -> ApiProblem:
    status = _DOMAIN_TO_HTTP.get(exc.status_name, 500)
    headers = {"Retry-After": retry_after(exc.retry_after_s)} if exc.retry_after_s is not None else {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="dengar"'
    extensions = {name: value for name, value in (
        ("field", exc.field), ("position", exc.position), ("expected", exc.expected),
        ("limit", exc.limit), ("current", exc.current)) if value is not None}
    return ApiProblem(status, exc.message, slug=exc.reason, headers=headers, **extensions)


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


async def _api_problem_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return problem_response(request, exc.status, detail=exc.detail, slug=exc.slug, title=exc.title,
                            headers=exc.headers, extensions=exc.extensions)


async def _http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    # Starlette fills detail with the status phrase when there is nothing more to say.
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != _phrase(exc.status_code) else None
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="dengar"')
    return problem_response(request, exc.status_code, detail=detail, headers=headers)


async def _validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(request, 400, detail="the request body is not valid JSON",
                                slug="malformed-json")
    return problem_response(request, 422, detail="the request has invalid values",
                            slug="validation-error", extensions={"errors": field_errors(errors)})


async def _remote_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RemoteError)
    return await _api_problem_handler(request, remote_problem(exc))


async def _domain_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return await _api_problem_handler(request, domain_problem(exc))


def install_problem_handlers(app: FastAPI) -> None:
    """Replace FastAPI's default HTTPException and validation handlers."""
    app.add_exception_handler(ApiProblem, _api_problem_handler)
    app.add_exception_handler(StarletteHTTPException, _http_exception_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(RemoteError, _remote_handler)
    app.add_exception_handler(DomainError, _domain_handler)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem documents for these statuses."""
    return {s: {"model": Problem, "description": HTTPStatus(s).phrase,
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for s in statuses}
