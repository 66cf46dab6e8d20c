"""/v1/alerts/channels, /v1/alerts/deliveries and /v1/alerts/digests: where alerts and digests go,
the log of every delivery attempt, and scheduled briefs (managed with `admin`, read with `read`).

Insights owns them: it validates channels (SSRF policy on webhook URLs, SMTP configured for email),
signs and sends deliveries with retries, and runs the digest schedules.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from dengar.v1 import insights_pb2
from dengar_gateway.entrypoints.deps import AdminPrincipal, Deps, ReadPrincipal, json_body
from dengar_gateway.entrypoints.mapping import from_timestamp
from dengar_gateway.entrypoints.problems import (
    Answer,
    ApiProblem,
    RemoteAnswers,
    answering,
    problem_responses,
)
from dengar_gateway.entrypoints.schemas_channels import (
    AttemptOut,
    ChannelIn,
    ChannelList,
    ChannelOut,
    DeliveryList,
    DeliveryOut,
    DigestIn,
    DigestList,
    DigestOut,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

# Invalid values name their field (422); a limit or a redeliver of a delivery that is not dead
# conflicts with the current state (409); email without SMTP configured is a 422 naming `kind`.
_ANSWERS: RemoteAnswers = {
    "INVALID_ARGUMENT": Answer(422, "validation-error", errors_field="body"),
    "smtp-not-configured": Answer(422, "smtp-not-configured", errors_field="kind"),
    "channel-limit": Answer(409, "channel-limit-reached"),
    "digest-limit": Answer(409, "digest-limit-reached"),
    "not-dead": Answer(409, "delivery-not-dead"),
}

Id = Annotated[str, Path(max_length=64, description="The id.")]


def _own(tenant_id: str, owner: str, what: str) -> None:
    # Defence in depth: insights filters by tenant; anything else is a bug there.
    if owner and owner != tenant_id:
        logger.error("insights returned a %s of another tenant; hidden", what)
        raise ApiProblem(404, f"no such {what}")


def _channel_out(c: insights_pb2.Channel) -> ChannelOut:
    webhook = c.kind == "webhook"
    return ChannelOut(id=c.id, name=c.name, kind=c.kind, url=c.url if webhook else None,
                      format=c.format if webhook else None,
                      recipients=list(c.recipients) if not webhook else None, language=c.language,
                      created_at=from_timestamp(c.created_at) if c.HasField("created_at") else None,
                      updated_at=from_timestamp(c.updated_at) if c.HasField("updated_at") else None,
                      secret=c.secret or None)


def _spec(body: ChannelIn) -> insights_pb2.ChannelSpec:
    return insights_pb2.ChannelSpec(name=body.name, kind=body.kind, url=body.url, format=body.format,
                                    recipients=body.recipients, language=body.language)


def _delivery_out(d: insights_pb2.ChannelDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id, key=d.key, channel_id=d.channel_id, state=d.state,
        attempts=[AttemptOut(at=from_timestamp(a.at), status=a.status, latency_ms=a.latency_ms,
                             error=a.error or None) for a in d.attempts],
        next_attempt_at=from_timestamp(d.next_attempt_at) if d.HasField("next_attempt_at") else None)


def _digest_out(s: insights_pb2.Digest) -> DigestOut:
    d = s.digest
    return DigestOut(
        id=s.id, name=d.name, frequency=d.frequency, time=d.time, time_zone=d.time_zone, language=d.language,
        channel_ids=list(d.channel_ids), weekday=d.weekday or None, next_run_at=from_timestamp(s.next_run_at),
        last_period_start=from_timestamp(s.last_period_start) if s.HasField("last_period_start") else None,
        created_at=from_timestamp(s.created_at) if s.HasField("created_at") else None,
        updated_at=from_timestamp(s.updated_at) if s.HasField("updated_at") else None)


def _digest_spec(body: DigestIn) -> insights_pb2.DigestSpec:
    return insights_pb2.DigestSpec(name=body.name, frequency=body.frequency, time=body.time,
                                   time_zone=body.time_zone, language=body.language,
                                   channel_ids=body.channel_ids, weekday=body.weekday)


# -- channels -----------------------------------------------------------------------------------------


@router.post("/channels", status_code=201, response_model=ChannelOut, response_model_exclude_none=True,
             summary="Create a delivery channel",
             description="A `webhook` (signed POSTs; `format` `dengar` or `slack`) or an `email` channel "
                         "(`recipients`, `language`). The webhook's signing `secret` is in this answer "
                         "only. 422 names the field at fault (unknown kind, bad or non-public URL, bad "
                         "address; `kind` when email is not configured). Requires `admin`.",
             responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 429, 502, 503),
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"$ref": "#/components/schemas/ChannelIn"}}}}})
async def create_channel(deps: Deps, principal: AdminPrincipal, response: Response,
                         body: Annotated[ChannelIn, Depends(json_body(ChannelIn))]) -> ChannelOut:
    with answering(_ANSWERS):
        created = await deps.backends.call(deps.backends.channels.CreateChannel,
                                           insights_pb2.CreateChannelRequest(tenant_id=principal.tenant_id,
                                                                             channel=_spec(body)))
    _own(principal.tenant_id, created.tenant_id, "channel")
    response.headers["Location"] = f"/v1/alerts/channels/{created.id}"
    logger.info("channel %s (%s) created for %s by %s", created.id, created.kind, principal.tenant_id,
                principal.key_id)
    return _channel_out(created)


@router.get("/channels", response_model=ChannelList, response_model_exclude_none=True,
            summary="List delivery channels", description="Requires `read`.",
            responses=problem_responses(401, 403, 429, 502, 503))
async def list_channels(deps: Deps, principal: ReadPrincipal) -> ChannelList:
    found = await deps.backends.call(deps.backends.channels.ListChannels,
                                     insights_pb2.ListChannelsRequest(tenant_id=principal.tenant_id))
    return ChannelList(data=[_channel_out(c) for c in found.channels
                             if not c.tenant_id or c.tenant_id == principal.tenant_id])


@router.get("/channels/{channel_id}", response_model=ChannelOut, response_model_exclude_none=True,
            summary="Get a delivery channel", description="Requires `read`.",
            responses=problem_responses(401, 403, 404, 429, 502, 503))
async def get_channel(deps: Deps, principal: ReadPrincipal, channel_id: Id) -> ChannelOut:
    c = await deps.backends.call(deps.backends.channels.GetChannel,
                                 insights_pb2.GetChannelRequest(tenant_id=principal.tenant_id, id=channel_id))
    _own(principal.tenant_id, c.tenant_id, "channel")
    return _channel_out(c)


@router.put("/channels/{channel_id}", response_model=ChannelOut, response_model_exclude_none=True,
            summary="Replace a delivery channel",
            description="The kind cannot change; a webhook keeps its secret. Requires `admin`.",
            responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 429, 502, 503),
            openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ChannelIn"}}}}})
async def replace_channel(deps: Deps, principal: AdminPrincipal, channel_id: Id,
                          body: Annotated[ChannelIn, Depends(json_body(ChannelIn))]) -> ChannelOut:
    with answering(_ANSWERS):
        c = await deps.backends.call(deps.backends.channels.UpdateChannel,
                                     insights_pb2.UpdateChannelRequest(tenant_id=principal.tenant_id,
                                                                       id=channel_id, channel=_spec(body)))
    _own(principal.tenant_id, c.tenant_id, "channel")
    return _channel_out(c)


@router.delete("/channels/{channel_id}", status_code=204, summary="Delete a delivery channel",
               description="Requires `admin`.", responses=problem_responses(401, 403, 404, 429, 502, 503))
async def delete_channel(deps: Deps, principal: AdminPrincipal, channel_id: Id) -> Response:
    await deps.backends.call(deps.backends.channels.DeleteChannel,
                             insights_pb2.DeleteChannelRequest(tenant_id=principal.tenant_id, id=channel_id))
    logger.info("channel %s of %s deleted by %s", channel_id, principal.tenant_id, principal.key_id)
    return Response(status_code=204)


@router.post("/channels/{channel_id}/rotate-secret", response_model=ChannelOut,
             response_model_exclude_none=True, summary="Rotate a webhook's signing secret",
             description="The new `secret` is in this answer only; the old one stops signing at once. "
                         "Requires `admin`.",
             responses=problem_responses(401, 403, 404, 422, 429, 502, 503))
async def rotate_secret(deps: Deps, principal: AdminPrincipal, channel_id: Id) -> ChannelOut:
    with answering(_ANSWERS):
        c = await deps.backends.call(deps.backends.channels.RotateChannelSecret,
                                     insights_pb2.RotateChannelSecretRequest(tenant_id=principal.tenant_id,
                                                                             id=channel_id))
    _own(principal.tenant_id, c.tenant_id, "channel")
    logger.info("secret of channel %s of %s rotated by %s", channel_id, principal.tenant_id,
                principal.key_id)
    return _channel_out(c)


# -- deliveries ---------------------------------------------------------------------------------------


@router.get("/deliveries", response_model=DeliveryList, response_model_exclude_none=True,
            summary="List deliveries with every attempt",
            description="Newest first; `key` selects one notification's deliveries (e.g. "
                        "`digest:<id>:<period start>`), `state` `pending`, `delivered` or `dead`. "
                        "Requires `read`.",
            responses=problem_responses(400, 401, 403, 422, 429, 502, 503))
async def list_deliveries(
    deps: Deps, principal: ReadPrincipal,
    key: Annotated[str, Query(max_length=300)] = "",
    state: Annotated[str, Query(max_length=20)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryList:
    with answering(_ANSWERS):
        request = insights_pb2.ListDeliveriesRequest(tenant_id=principal.tenant_id, key=key, state=state,
                                                     limit=limit)
        found = await deps.backends.call(deps.backends.channels.ListDeliveries, request)
    return DeliveryList(data=[_delivery_out(d) for d in found.deliveries
                              if not d.tenant_id or d.tenant_id == principal.tenant_id])


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut, response_model_exclude_none=True,
            summary="Get a delivery", description="Requires `read`.",
            responses=problem_responses(401, 403, 404, 429, 502, 503))
async def get_delivery(deps: Deps, principal: ReadPrincipal, delivery_id: Id) -> DeliveryOut:
    d = await deps.backends.call(deps.backends.channels.GetDelivery, insights_pb2.GetDeliveryRequest(
        tenant_id=principal.tenant_id, id=delivery_id))
    _own(principal.tenant_id, d.tenant_id, "delivery")
    return _delivery_out(d)


@router.post("/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut,
             response_model_exclude_none=True, summary="Redeliver a dead delivery",
             description="Makes it pending and due now; its retries start again. 409 unless it is dead. "
                         "Requires `admin`.",
             responses=problem_responses(401, 403, 404, 409, 429, 502, 503))
async def redeliver(deps: Deps, principal: AdminPrincipal, delivery_id: Id) -> DeliveryOut:
    with answering(_ANSWERS):
        d = await deps.backends.call(deps.backends.channels.Redeliver, insights_pb2.RedeliverRequest(
            tenant_id=principal.tenant_id, id=delivery_id))
    _own(principal.tenant_id, d.tenant_id, "delivery")
    logger.info("delivery %s of %s redelivered by %s", delivery_id, principal.tenant_id,
                principal.key_id)
    return _delivery_out(d)


# -- digests ------------------------------------------------------------------------------------------


@router.post("/digests", status_code=201, response_model=DigestOut, response_model_exclude_none=True,
             summary="Schedule a digest",
             description="The insight brief of the last day (`daily`) or week (`weekly`, on `weekday`), "
                         "at `time` in `time_zone`, in `language`, delivered to `channel_ids`. "
                         "Requires `admin`.",
             responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 429, 502, 503),
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"$ref": "#/components/schemas/DigestIn"}}}}})
async def create_digest(deps: Deps, principal: AdminPrincipal, response: Response,
                        body: Annotated[DigestIn, Depends(json_body(DigestIn))]) -> DigestOut:
    with answering(_ANSWERS):
        s = await deps.backends.call(deps.backends.digests.CreateDigest, insights_pb2.CreateDigestRequest(
            tenant_id=principal.tenant_id, digest=_digest_spec(body)))
    _own(principal.tenant_id, s.tenant_id, "digest")
    response.headers["Location"] = f"/v1/alerts/digests/{s.id}"
    return _digest_out(s)


@router.get("/digests", response_model=DigestList, response_model_exclude_none=True, summary="List digests",
            description="Requires `read`.", responses=problem_responses(401, 403, 429, 502, 503))
async def list_digests(deps: Deps, principal: ReadPrincipal) -> DigestList:
    found = await deps.backends.call(deps.backends.digests.ListDigests,
                                     insights_pb2.ListDigestsRequest(tenant_id=principal.tenant_id))
    return DigestList(data=[_digest_out(s) for s in found.digests
                            if not s.tenant_id or s.tenant_id == principal.tenant_id])


@router.get("/digests/{digest_id}", response_model=DigestOut, response_model_exclude_none=True,
            summary="Get a digest", description="Requires `read`.",
            responses=problem_responses(401, 403, 404, 429, 502, 503))
async def get_digest(deps: Deps, principal: ReadPrincipal, digest_id: Id) -> DigestOut:
    s = await deps.backends.call(deps.backends.digests.GetDigest,
                                 insights_pb2.GetDigestRequest(tenant_id=principal.tenant_id, id=digest_id))
    _own(principal.tenant_id, s.tenant_id, "digest")
    return _digest_out(s)


@router.put("/digests/{digest_id}", response_model=DigestOut, response_model_exclude_none=True,
            summary="Replace a digest", description="Requires `admin`.",
            responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 429, 502, 503),
            openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/DigestIn"}}}}})
async def replace_digest(deps: Deps, principal: AdminPrincipal, digest_id: Id,
                         body: Annotated[DigestIn, Depends(json_body(DigestIn))]) -> DigestOut:
    with answering(_ANSWERS):
        s = await deps.backends.call(deps.backends.digests.UpdateDigest, insights_pb2.UpdateDigestRequest(
            tenant_id=principal.tenant_id, id=digest_id, digest=_digest_spec(body)))
    _own(principal.tenant_id, s.tenant_id, "digest")
    return _digest_out(s)


@router.delete("/digests/{digest_id}", status_code=204, summary="Delete a digest",
               description="Requires `admin`.", responses=problem_responses(401, 403, 404, 429, 502, 503))
async def delete_digest(deps: Deps, principal: AdminPrincipal, digest_id: Id) -> Response:
    await deps.backends.call(deps.backends.digests.DeleteDigest,
                             insights_pb2.DeleteDigestRequest(tenant_id=principal.tenant_id, id=digest_id))
    return Response(status_code=204)


# Models only referenced from openapi_extra; registered so the schema above resolves.
OPENAPI_MODELS = [ChannelIn, DigestIn]
