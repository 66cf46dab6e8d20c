"""The composition root: builds the adapters, the FastAPI app and the HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from dengar_common.lifecycle import install_stop_signals
from dengar_common.mongo import make_client
from dengar_common.settings import write_port_file
from dengar_gateway.adapters.backends import Backends
from dengar_gateway.adapters.store import GatewayStore
from dengar_gateway.domain.ratelimit import TokenBucketLimiter
from dengar_gateway.entrypoints.deps import GatewayDeps
from dengar_gateway.entrypoints.middleware import BodyLimitMiddleware, TracingMiddleware
from dengar_gateway.entrypoints.problems import PROBLEM_JSON, install_problem_handlers
from dengar_gateway.entrypoints.routers import (
    analytics,
    analyze,
    dashboard,
    health,
    insights,
    keys,
    mentions,
    posts,
)
from dengar_gateway.entrypoints.routers import imports as imports_router
from dengar_gateway.entrypoints.routers import queries as queries_router
from dengar_gateway.entrypoints.routers import sources as sources_router
from dengar_gateway.entrypoints.routers import webhooks as webhooks_router
from dengar_gateway.settings import GatewaySettings

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

**Rate limits**: each key has a token bucket; over it, requests get a 429 with `Retry-After`.

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
    {"name": "insights", "description": "Spikes and their drivers, period comparison and the insight "
                                        "brief in English or Indonesian (scope `read`)."},
    {"name": "analyze", "description": "Synchronous text analysis (scope `read`)."},
    {"name": "keys", "description": "The tenant's API keys (scope `admin`)."},
    {"name": "queries", "description": "Listening queries that tag every collected post (manage with "
                                       "`admin`, list and validate with `read`)."},
    {"name": "sources", "description": "Pull sources polled by the collector and signed webhook sources "
                                       "(manage with `admin`, read with `read`)."},
    {"name": "webhooks", "description": "Signed pushes to webhook sources; no API key (see *Signed "
                                        "webhooks*)."},
    {"name": "health", "description": "Probes for orchestrators; no authentication."},
]

# Request bodies that routers read themselves (see deps.read_json) and declare via openapi_extra.
_BODY_MODELS: list[type[BaseModel]] = [*posts.OPENAPI_MODELS, *analyze.OPENAPI_MODELS,
                                       *keys.OPENAPI_MODELS, *queries_router.OPENAPI_MODELS]
_BODY_MODELS += sources_router.OPENAPI_MODELS


def _openapi_schema(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes, tags=TAGS)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in _BODY_MODELS:
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema
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


def create_app(settings: GatewaySettings, deps: GatewayDeps | None = None) -> FastAPI:
    """The ASGI app. Its lifespan opens MongoDB and the gRPC channels (closed on shutdown), unless
    ``deps`` is given: then those are the caller's, used as they are and left open."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if deps is not None:
            app.state.deps = deps
            yield
            return
        mongo = make_client(settings.mongo_uri, app_name="dengar-gateway")
        backends = Backends.connect(
            collector_target=settings.collector_target, nlp_target=settings.nlp_target,
            insights_target=settings.insights_target, timeout_s=settings.gateway_grpc_timeout_s)
        try:
            store = GatewayStore(
                mongo[settings.gateway_db],
                idempotency_ttl=timedelta(seconds=settings.gateway_idempotency_ttl_s),
                idempotency_lock=timedelta(seconds=settings.gateway_idempotency_lock_s))
            await store.ensure_indexes()
            app.state.deps = GatewayDeps(
                settings=settings, store=store, backends=backends,
                limiter=TokenBucketLimiter(settings.gateway_rate_limit_per_s,
                                           settings.gateway_rate_limit_burst))
            logger.info("gateway ready: db %s, collector %s, nlp %s, insights %s", settings.gateway_db,
                        settings.collector_target, settings.nlp_target, settings.insights_target)
            yield
        finally:
            app.state.deps = None
            await backends.close()
            await mongo.close()

    app = FastAPI(
        title="Dengar API", version=API_VERSION, description=DESCRIPTION, openapi_tags=TAGS,
        lifespan=lifespan,
        # The TracingMiddleware owns the request's server span (continuing `traceparent`), as
        # the gRPC services' interceptor does; FastAPI's native span would be a second one.
        telemetry={"tracing": False},
    )
    app.state.deps = None
    install_problem_handlers(app)
    # Added last = outermost: the span also covers (and tags) the 413s of the body limit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.gateway_max_body_bytes,
                       path_limits={"/v1/imports": imports_router.max_request_bytes(settings)})
    app.add_middleware(TracingMiddleware)
    for module in (posts, mentions, analytics, analyze, keys, health, dashboard):
        app.include_router(module.router)
    app.include_router(queries_router.router)
    app.include_router(sources_router.router)
    app.include_router(webhooks_router.router)
    app.include_router(imports_router.router)
    app.include_router(insights.router)
    app.mount("/static", StaticFiles(packages=[("dengar_gateway", "static")]), name="static")
    app.openapi = lambda: _openapi_schema(app)  # type: ignore[method-assign]
    return app


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the service decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def main(settings: GatewaySettings, *, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or until ``stop`` is set, for tests)."""
    app = create_app(settings)
    server = _Server(uvicorn.Config(
        app, host=settings.bind_host, port=settings.gateway_http_port, lifespan="on",
        log_config=None, access_log=False, server_header=False,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s)))
    if stop is None:
        stop = asyncio.Event()
        install_stop_signals(stop)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
            raise RuntimeError("the gateway failed to start (see the log above)")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    logger.info("gateway listening on http://%s:%d", settings.bind_host, port)
    write_port_file(settings.gateway_port_file, port)

    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if stop.is_set():
        if app.state.deps is not None:
            app.state.deps.draining = True
        # uvicorn stops accepting, lets in-flight requests finish within the grace period, then
        # runs the lifespan shutdown (gRPC channels and MongoDB are closed there).
        server.should_exit = True
    stopping.cancel()
    await serving
    logger.info("gateway stopped")
