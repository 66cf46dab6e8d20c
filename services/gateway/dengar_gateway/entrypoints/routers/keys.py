"""/v1/keys: the tenant's API keys (admin scope)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from dengar_gateway.domain.keys import ApiKeyRecord
from dengar_gateway.entrypoints.deps import AdminPrincipal, Deps, json_body
from dengar_gateway.entrypoints.problems import problem_responses
from dengar_gateway.entrypoints.schemas import KeyCreatedOut, KeyCreateIn, KeyList, KeyOut

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/keys", tags=["keys"])


def _key_out(record: ApiKeyRecord) -> KeyOut:
    return KeyOut(id=record.key_id, name=record.name, scopes=list(record.scopes),
                  created_at=record.created_at, revoked_at=record.revoked_at)


@router.post(
    "", status_code=201, response_model=KeyCreatedOut, summary="Create an API key",
    description="A new key of the caller's tenant. The secret `key` is returned only in this "
                "response: store it now. A tenant may have a limited number of unrevoked keys "
                "(`DENGAR_GATEWAY__QUOTAS__MAX_KEYS`, or its own `max_keys`): beyond it, 409 "
                "`key-limit-reached` with `limit` and `current`. Requires `admin`.",
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 429),
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/KeyCreateIn"}}}}},
)
async def create_key(
    deps: Deps, principal: AdminPrincipal,
    body: Annotated[KeyCreateIn, Depends(json_body(KeyCreateIn))],
) -> KeyCreatedOut:
    record, secret = await deps.accounts.create_key(principal.tenant_id, body.scopes, body.name)
    logger.info("key %s created for %s by %s", record.key_id, principal.tenant_id, principal.key_id)
    return KeyCreatedOut(**_key_out(record).model_dump(), key=secret)


@router.get("", response_model=KeyList, summary="List API keys",
            description="Every key of the caller's tenant, newest first, revoked ones included "
                        "(with `revoked_at`). Secrets are never returned. Requires `admin`.",
            responses=problem_responses(401, 403, 429))
async def list_keys(deps: Deps, principal: AdminPrincipal) -> KeyList:
    return KeyList(data=[_key_out(r) for r in await deps.accounts.list_keys(principal.tenant_id)])


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key",
               description="The key stops working at once. Revoking a revoked key is a no-op. "
                           "Requires `admin`.",
               responses=problem_responses(401, 403, 404, 429))
async def revoke_key(
    deps: Deps, principal: AdminPrincipal,
    key_id: Annotated[str, Path(max_length=64, description="The key id")],
) -> Response:
    await deps.accounts.revoke_key(principal.tenant_id, key_id)
    logger.info("key %s of %s revoked by %s", key_id, principal.tenant_id, principal.key_id)
    return Response(status_code=204)


OPENAPI_MODELS = [KeyCreateIn]
