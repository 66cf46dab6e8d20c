"""FastAPI dependencies: the adapters of the running app, authentication, scopes, JSON bodies."""

from __future__ import annotations

import email.message
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace
from pydantic import BaseModel, ValidationError

from dengar_common.errors import Unauthenticated
from dengar_gateway.adapters.backends import Backends
from dengar_gateway.adapters.store import GatewayStore
from dengar_gateway.domain.keys import Principal, Scope
from dengar_gateway.domain.ratelimit import TokenBucketLimiter
from dengar_gateway.domain.streams import StreamLimits
from dengar_gateway.entrypoints.problems import ApiProblem, unauthorized
from dengar_gateway.entrypoints.streaming import LiveStreams
from dengar_gateway.service_layer.accounts import Accounts, RateLimit
from dengar_gateway.service_layer.guards import AuthFailureGuard, WebhookGuard
from dengar_gateway.service_layer.idempotency import Idempotency
from dengar_gateway.service_layer.quotas import StreamQuota, TenantQuotas
from dengar_gateway.settings import GatewayConfig

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
BODY_MODEL_ATTR = "__dengar_body_model__"


@dataclass
class GatewayDeps:
    """Everything a request needs, built once by the composition root (bootstrap)."""

    config: GatewayConfig
    store: GatewayStore
    backends: Backends
    accounts: Accounts
    idempotency: Idempotency
    rate_limit: RateLimit
    # The per-tenant quotas shared by every replica: the tenants' limits and their stream leases.
    quotas: TenantQuotas
    stream_quota: StreamQuota
    # Set when shutdown starts, so /readyz turns the load balancer away first.
    draining: bool = False
    # Live streams (SSE) of this process: their count and the signal that ends them.
    streams: LiveStreams = field(default_factory=LiveStreams)
    # The unauthenticated paths' own limiter pools (per client address): key guessing, webhook floods.
    auth_failures: AuthFailureGuard = field(
        default_factory=lambda: AuthFailureGuard(TokenBucketLimiter(0, 1)))
    webhooks: WebhookGuard = field(
        default_factory=lambda: WebhookGuard(TokenBucketLimiter(0, 1), TokenBucketLimiter(0, 1)))
    # File uploads in flight per tenant in this process (the gateway buffers each one on disk).
    uploads: StreamLimits = field(default_factory=lambda: StreamLimits(2))


def client_address(request: Request) -> str:
    """The caller's address: the peer, or what a trusted proxy (uvicorn's FORWARDED_ALLOW_IPS) says."""
    return request.client.host if request.client else "unknown"


def get_deps(request: Request) -> GatewayDeps:
    deps = getattr(request.app.state, "deps", None)
    if deps is None:  # only if a request races the lifespan start-up
        raise ApiProblem(503, "the gateway is starting")
    return deps


Deps = Annotated[GatewayDeps, Depends(get_deps)]

_bearer = HTTPBearer(
    auto_error=False, scheme_name="ApiKey", bearerFormat="dgr_<key id>_<secret>",
    description="An API key: `Authorization: Bearer dgr_...`. Create one with "
                "`dengar tenants create NAME` or `POST /v1/keys`.",
)


async def authenticate(
    request: Request, deps: Deps,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller's key, verified; then one token from its rate-limit bucket. An address that failed
    too often is turned away (429) before its key is looked at."""
    address = client_address(request)
    deps.auth_failures.check(address)
    if credentials is None or not credentials.credentials:
        deps.auth_failures.failed(address)
        raise unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    try:
        principal = await deps.accounts.authenticate(credentials.credentials)
    except Unauthenticated:
        deps.auth_failures.failed(address)
        raise
    # On the request's server span, so traces can be filtered by tenant and key.
    span = trace.get_current_span()
    span.set_attribute("dengar.tenant_id", principal.tenant_id)
    span.set_attribute("dengar.key_id", principal.key_id)
    return principal


def require_scope(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if scope not in principal.scopes:
            raise ApiProblem(403, f"this API key lacks the '{scope.value}' scope")
        return principal

    check.__name__ = f"require_{scope.value}"
    return check


IngestPrincipal = Annotated[Principal, Depends(require_scope(Scope.INGEST))]
ReadPrincipal = Annotated[Principal, Depends(require_scope(Scope.READ))]
AdminPrincipal = Annotated[Principal, Depends(require_scope(Scope.ADMIN))]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: Request) -> tuple[Any, bytes]:
    """The parsed JSON body and its bytes: 415 for another media type, 400 when malformed.

    Bodies are read here rather than by FastAPI so that authentication (a dependency declared
    before this one) runs first, and so the media type is enforced with a 415.
    """
    content_type = request.headers.get("content-type")
    if not content_type:
        raise ApiProblem(415, "send the body as application/json")
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    if message.get_content_maintype() != "application" or not (subtype == "json"
                                                                or subtype.endswith("+json")):
        raise ApiProblem(415, f"unsupported media type {message.get_content_type()!r}; "
                              "send application/json")
    body = await request.body()
    if not body.strip():
        raise ApiProblem(400, "the request body is empty", slug="malformed-json")
    try:
        return json.loads(body, parse_constant=_reject_constant), body
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise ApiProblem(400, f"the request body is not valid JSON: {exc}", slug="malformed-json") \
            from None


def json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency returning the body validated as ``model`` (422 with field errors)."""

    async def parse(request: Request) -> M:
        data, _ = await read_json(request)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]) from None

    parse.__name__ = f"parse_{model.__name__}"
    # FastAPI cannot see a body read this way: the OpenAPI builder (bootstrap) declares it from this.
    setattr(parse, BODY_MODEL_ATTR, model)  # a function attribute mypy has no type for
    return parse


def body_model_of(dependency: Callable[..., Any] | None) -> type[BaseModel] | None:
    """The model a ``json_body`` dependency validates the request body as (None for others)."""
    model = getattr(dependency, BODY_MODEL_ATTR, None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None
