"""The composition root: the store, the backend clients, the use cases, the FastAPI app and the
HTTP server, started in that order inside the kit's ``ServiceApp`` (and stopped in reverse)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Iterator
from datetime import timedelta
from http import HTTPStatus
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from pydantic import BaseModel

from dengar_common.app import ServiceApp
from dengar_common.settings import write_port_file
from dengar_gateway.adapters.backends import Backends
from dengar_gateway.adapters.store import GatewayStore
from dengar_gateway.domain.quotas import TenantLimits
from dengar_gateway.domain.ratelimit import TokenBucketLimiter
from dengar_gateway.domain.streams import StreamLimits
from dengar_gateway.entrypoints.deps import GatewayDeps, body_model_of
from dengar_gateway.entrypoints.middleware import BodyLimitMiddleware, TracingMiddleware
from dengar_gateway.entrypoints.problems import PROBLEM_JSON, install_problem_handlers
from dengar_gateway.entrypoints.routers import alerts as alerts_router
from dengar_gateway.entrypoints.routers import (
    analytics,
    analyze,
    dashboard,
    exports,
    health,
    inbox,
    insight_voices,
    insights,
    keys,
    mentions,
    posts,
    stream,
)
from dengar_gateway.entrypoints.routers import categories as categories_router
from dengar_gateway.entrypoints.routers import channels as channels_router
from dengar_gateway.entrypoints.routers import imports as imports_router
from dengar_gateway.entrypoints.routers import queries as queries_router
from dengar_gateway.entrypoints.routers import sources as sources_router
from dengar_gateway.entrypoints.routers import webhooks as webhooks_router
from dengar_gateway.entrypoints.streaming import LiveStreams
from dengar_gateway.service_layer.accounts import Accounts, RateLimit
from dengar_gateway.service_layer.guards import AuthFailureGuard, WebhookGuard
from dengar_gateway.service_layer.idempotency import Idempotency
from dengar_gateway.service_layer.quotas import KeyQuota, StreamQuota, TenantQuotas, TenantRateLimit
from dengar_gateway.settings import GatewayConfig, GatewaySettings

logger = logging.getLogger(__name__)

API_VERSION = "1.0.0"

DESCRIPTION = """\
The public REST API of Dengar, a multi-tenant social-media-intelligence platform.

**Authentication**: every `/v1` endpoint takes an API key, `Authorization: Bearer dgr_...`.
A key belongs to one tenant and has scopes: `ingest` (push posts), `read` (mentions, analytics,
analysis) and `admin` (manage keys). A missing, invalid or revoked key is a 401; a key without the
scope an endpoint needs is a 403.

**Errors** are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem documents
(`application/problem+json`) with `type`, `title`, `status`, `detail` and `instance`; validation
problems (422) list each bad value in `errors`.

**Rate limits and quotas**: each key has a token bucket, and each tenant a limit of requests per
second shared by all of its keys (over every gateway replica); over either, requests get a 429
with `Retry-After` (`rate-limited`, `tenant-rate-limited`). A tenant has limits on how many keys,
queries, sources, categories, alert rules, channels and digests it may have (over one: 409
`<thing>-limit-reached`) and on its concurrent live streams (429 `too-many-streams`); these
problems carry the `limit` and the tenant's `current` usage.

**Tracing**: send a W3C `traceparent` to continue your trace; every response carries
`traceparent` and `X-Trace-Id`.
"""

# The webhook endpoint authenticates by signature, not API key: the scheme belongs in the introduction.
DESCRIPTION += "\n" + webhooks_router.SIGNING_DOC

TAGS: list[dict[str, Any]] = [
    {"name": "posts", "description": "Push posts into the pipeline (scope `ingest`)."},
    {"name": "imports", "description": "Import files of posts (CSV, JSON, NDJSON) as background jobs "
                                       "(scope `ingest`)."},
    {"name": "mentions", "description": "Search the tenant's enriched posts (scope `read`)."},
    {"name": "analytics", "description": "Time series, summaries and share of voice (scope `read`)."},
    {"name": "insights", "description": "Spikes and their drivers, period comparison, the insight "
                                        "brief in English or Indonesian, top voices and posts, and "
                                        "coordinated campaigns (scope `read`)."},
    {"name": "analyze", "description": "Synchronous text analysis (scope `read`)."},
    {"name": "keys", "description": "The tenant's API keys (scope `admin`)."},
    {"name": "queries", "description": "Listening queries that tag every collected post (manage with "
                                       "`admin`, list and validate with `read`)."},
    {"name": "sources", "description": "Pull sources polled by the collector and signed webhook sources "
                                       "(manage with `admin`, read with `read`)."},
    {"name": "webhooks", "description": "Signed pushes to webhook sources; no API key (see *Signed "
                                        "webhooks*)."},
    {"name": "health", "description": "Probes for orchestrators; no authentication."},
    {"name": "stream", "description": "Live mentions as Server-Sent Events (scope `read`)."},
    {"name": "categories", "description": "The tenant's categories (custom aspects) that every new "
                                          "mention is assigned to (manage with `admin`, read with "
                                          "`read`)."},
    {"name": "alerts", "description": "Alert rules evaluated on new mentions and on a schedule, the "
                                      "alert history, delivery channels (signed webhooks, Slack, email), "
                                      "the log of delivery attempts, and scheduled digests (manage with "
                                      "`admin`, read with `read`)."},
]

# Request bodies that routers read themselves (see deps.read_json) and declare via openapi_extra.
_BODY_MODELS: list[type[BaseModel]] = [*posts.OPENAPI_MODELS, *analyze.OPENAPI_MODELS,
                                       *keys.OPENAPI_MODELS, *queries_router.OPENAPI_MODELS]
_BODY_MODELS += sources_router.OPENAPI_MODELS
_BODY_MODELS += categories_router.OPENAPI_MODELS
_BODY_MODELS += channels_router.OPENAPI_MODELS
_BODY_MODELS += alerts_router.OPENAPI_MODELS


def json_body_models(dependant: Dependant) -> Iterator[type[BaseModel]]:
    """The models of the ``json_body`` dependencies of a route (nested ones included)."""
    for dep in dependant.dependencies:
        model = body_model_of(dep.call)
        if model is not None:
            yield model
        yield from json_body_models(dep)


def _declare_json_bodies(app: FastAPI, schema: dict[str, Any]) -> list[type[BaseModel]]:
    """Declare the bodies that routes read with ``json_body`` (invisible to FastAPI) from the very
    model that validates them, so the OpenAPI cannot drift from what the route accepts. A route's
    own ``openapi_extra`` (with examples) is kept. Returns the models, for the components."""
    models: list[type[BaseModel]] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        for model in json_body_models(route.dependant):
            models.append(model)
            for method in route.methods:
                operation = schema.get("paths", {}).get(route.path_format, {}).get(method.lower())
                if operation is not None and "requestBody" not in operation:
                    operation["requestBody"] = {"required": True, "content": {"application/json": {
                        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
    return models


def _document_generic_problems(schema: dict[str, Any]) -> None:
    """The errors that every operation of a kind can answer, whatever its route declares: a key's
    401, 403 and 429; a JSON body's 400 (malformed), 413, 415 and 422; a parameter's 422."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            statuses: set[int] = set()
            if operation.get("security"):
                statuses |= {401, 403, 429}
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                statuses |= {400, 413, 415, 422}
            if operation.get("parameters") or operation.get("requestBody"):
                statuses.add(422)
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(str(status), {"description": HTTPStatus(status).phrase})


def _openapi_schema(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes, tags=TAGS)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    declared = _declare_json_bodies(app, schema)
    for model in dict.fromkeys([*_BODY_MODELS, *declared]):
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema
    _document_generic_problems(schema)
    # Every error is a problem document, including FastAPI's automatic 422.
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                if code[:1] in ("4", "5"):
                    response["content"] = dict(problem)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


def create_app(config: GatewayConfig, deps: GatewayDeps) -> FastAPI:
    """The ASGI app over ``deps`` (the caller's: it opens and closes them)."""
    app = FastAPI(
        title="Dengar API", version=API_VERSION, description=DESCRIPTION, openapi_tags=TAGS,
        # The official OpenTelemetry instrumentation (below) owns the request's server span and the
        # HTTP metrics; FastAPI's native span would be a second one.
        telemetry={"tracing": False},
    )
    app.state.deps = deps
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.limits.max_body_bytes,
                       path_limits={"/v1/imports": imports_router.max_request_bytes(config.limits)})
    # Added last = outermost of ours: the trace headers are also on the 413s of the body limit.
    app.add_middleware(TracingMiddleware)
    # Outside every middleware: the SERVER span (named `GET /v1/mentions/{mention_id}`, continuing
    # `traceparent`) and http.server.request.duration per route. The per-message ASGI spans would
    # only add noise (an SSE stream sends thousands).
    FastAPIInstrumentor.instrument_app(app, exclude_spans=["receive", "send"])
    # The inbox's and the export's fixed paths come before /v1/mentions/{mention_id}.
    for module in (posts, inbox, exports, mentions, analytics, analyze, keys, health, dashboard):
        app.include_router(module.router)
    app.include_router(queries_router.router)
    app.include_router(sources_router.router)
    app.include_router(webhooks_router.router)
    app.include_router(imports_router.router)
    app.include_router(insights.router)
    app.include_router(insight_voices.router)
    app.include_router(categories_router.router)
    app.include_router(stream.router)
    # Before any /v1/alerts/{id} route: its fixed paths must win over a path parameter.
    app.include_router(channels_router.router)
    app.include_router(alerts_router.router)
    app.mount("/static", StaticFiles(packages=[("dengar_gateway", "static")]), name="static")
    # FastAPI's documented way to customise the schema is to replace this method.
    app.openapi = lambda: _openapi_schema(app)  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
    return app


def build_deps(config: GatewayConfig, store: GatewayStore, backends: Backends) -> GatewayDeps:
    """The use cases over the adapters, as the routers receive them."""
    rate_limit = RateLimit(TokenBucketLimiter(config.rate_limit.per_s, config.rate_limit.burst))
    q, hooks, failures = config.quotas, config.webhook_limit, config.auth_failures
    quotas = TenantQuotas(store.quotas, TenantLimits(rate_per_s=q.rate_per_s, max_keys=q.max_keys,
                                                     max_streams=config.stream.max_per_tenant),
                          cache_s=q.limits_cache_s)
    tenant_rate = TenantRateLimit(store.quotas, quotas, window_s=q.rate_window_s, chunk=q.rate_chunk)
    accounts = Accounts(store.tenants, store.keys, rate_limit, tenant_rate=tenant_rate,
                        key_quota=KeyQuota(store.quotas, quotas))
    return GatewayDeps(config=config, store=store, backends=backends, accounts=accounts,
                       idempotency=Idempotency(store.idempotency), rate_limit=rate_limit,
                       quotas=quotas,
                       stream_quota=StreamQuota(store.quotas, quotas, lease_ttl_s=config.stream.lease_ttl_s),
                       streams=LiveStreams(),
                       uploads=StreamLimits(config.limits.import_max_concurrent_per_tenant),
                       auth_failures=AuthFailureGuard(TokenBucketLimiter(
                           failures.per_s, failures.burst, max_keys=failures.max_entries)),
                       webhooks=WebhookGuard(
                           TokenBucketLimiter(hooks.per_address_per_s, hooks.per_address_burst,
                                              max_keys=hooks.max_entries),
                           TokenBucketLimiter(hooks.per_source_per_s, hooks.per_source_burst,
                                              max_keys=hooks.max_entries)))


def open_store(app: ServiceApp, settings: GatewaySettings) -> GatewayStore:
    """The gateway's database on the app's store client (closed by the app at the very end)."""
    idempotency = settings.gateway.idempotency
    return GatewayStore(app.mongo(settings.mongo_uri)[settings.gateway.db],
                        idempotency_ttl=timedelta(seconds=idempotency.ttl_s),
                        idempotency_lock=timedelta(seconds=idempotency.lock_s))


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the ServiceApp decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def start(app: ServiceApp, settings: GatewaySettings, *, backends: Backends | None = None,
                store: GatewayStore | None = None) -> FastAPI:
    """Open the store and the backend channels, then serve HTTP until the app stops.

    ``backends`` and ``store`` replace the real ones (tests); injected backends are still closed
    with the app. Returns the ASGI app (tests call it in-process and reach ``state.deps``).
    """
    config = settings.gateway
    if store is None:
        store = open_store(app, settings)
    await store.ensure_indexes()
    if backends is None:
        backends = Backends.connect(
            collector_target=config.collector_target, nlp_target=config.nlp_target,
            insights_target=config.insights_target, timeout_s=config.grpc_timeout_s)
    app.on_stop("the backend channels", backends.close)
    deps = build_deps(config, store, backends)
    api = create_app(config, deps)
    app.run_task("stream leases", deps.stream_quota.renew_forever())
    app.on_stop("the stream leases", deps.stream_quota.close)
    await serve_http(app, api, settings)
    logger.info("gateway ready: db %s, collector %s, nlp %s, insights %s", config.db,
                config.collector_target, config.nlp_target, config.insights_target)
    return api


async def serve_http(app: ServiceApp, api: FastAPI, settings: GatewaySettings) -> int:
    """Serve ``api`` until the app stops; then stop accepting and let in-flight requests finish
    within the grace period. Returns the bound port (written to the port file)."""
    server = _Server(uvicorn.Config(
        api, host=settings.bind_host, port=settings.gateway.http_port, lifespan="off",
        log_config=None, access_log=False, server_header=False,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s)))
    serving = app.run_task("http", server.serve())

    async def stop() -> None:
        # /readyz turns the load balancer away while uvicorn drains.
        api.state.deps.draining = True
        # Live streams never finish by themselves: end them now, so the drain is not held up
        # until the grace period runs out (their clients reconnect elsewhere, with Last-Event-ID).
        api.state.deps.streams.close()
        server.should_exit = True
        await asyncio.wait_for(asyncio.shield(serving), timeout=settings.shutdown_grace_s + 5)

    app.on_stop("the HTTP server", stop)
    while not server.started:
        if serving.done():
            await serving
            raise RuntimeError("the gateway's HTTP server failed to start (see the log above)")
        await asyncio.sleep(0.02)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    logger.info("gateway listening on http://%s:%d", settings.bind_host, port)
    write_port_file(settings.gateway.port_file, port)
    return port
