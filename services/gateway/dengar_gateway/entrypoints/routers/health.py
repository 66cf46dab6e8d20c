"""Liveness and readiness probes (unauthenticated, outside /v1)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from dengar_gateway.entrypoints.deps import Deps
from dengar_gateway.entrypoints.problems import PROBLEM_JSON, problem_document

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness", description="200 while the process serves HTTP.")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz", summary="Readiness",
    description="200 when MongoDB answers a ping and every backend's gRPC health check says "
                "SERVING; otherwise a 503 problem document whose `checks` tell which one failed.",
    responses={503: {"description": "Not ready"}},
)
async def readyz(deps: Deps) -> Response:
    timeout = deps.config.readiness_timeout_s

    async def mongo() -> str:
        try:
            await asyncio.wait_for(deps.store.ping(), timeout)
            return "ok"
        except Exception as exc:  # reported, not raised: this endpoint exists to say what is down
            return f"error: {type(exc).__name__}"

    mongo_status, backends = await asyncio.gather(mongo(), deps.backends.health(timeout))
    checks: dict[str, Any] = {"mongo": mongo_status}
    checks.update({name: "ok" if s == "SERVING" else s for name, s in backends.items()})
    if deps.draining:
        checks["gateway"] = "shutting down"
    failing = sorted(name for name, value in checks.items() if value != "ok")
    if not failing:
        return JSONResponse({"status": "ready", "checks": checks})
    logger.info("not ready: %s", checks)
    doc = problem_document(503, detail="not ready: " + ", ".join(failing), instance="/readyz",
                           extensions={"checks": checks})
    return JSONResponse(doc, status_code=503, media_type=PROBLEM_JSON)
