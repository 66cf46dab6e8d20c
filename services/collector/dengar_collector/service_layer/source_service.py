"""Managing sources (create, update, pause, run now, rotate a webhook secret) and receiving signed
webhook pushes. The scheduler (source_scheduler.py) runs the pull sources defined here."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from dengar_collector.domain import webhook
from dengar_collector.domain.ingest import FieldError
from dengar_collector.domain.sources import (
    WEBHOOK_KIND,
    SourceInputError,
    SourceRecord,
    check_name,
    is_source_id,
    new_source_id,
    resolve_interval,
)
from dengar_collector.domain.webhook import BodyError, SignatureError
from dengar_collector.service_layer.ingest_service import IngestService, utcnow
from dengar_collector.service_layer.ports import SourceIdTaken, SourceStore
from dengar_common.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from dengar_common.postjson import ItemError, merge_item_errors, post_to_proto, validate_items

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_CREDENTIAL_FIELDS = 16
MAX_CREDENTIAL_CHARS = 8192
MAX_CONFIG_BYTES = 16 * 1024


class SourceNotFoundError(NotFound):
    pass


class SourceLimitError(ResourceExhausted):
    """The tenant has as many sources as it may have."""

    def __init__(self, limit: int, current: int) -> None:
        super().__init__(f"a tenant may have at most {limit} sources", reason="source-limit",
                         limit=limit, current=current)


class SourceStateError(FailedPrecondition):
    """The source exists but is in the wrong state or of the wrong kind."""


class ConnectorValidator(Protocol):
    @property
    def kinds(self) -> frozenset[str]: ...

    def validate(self, kind: str, config: Mapping[str, Any],
                 credentials: Mapping[str, str] | None) -> None:
        """Raise ``ValueError`` (``ConnectorConfigError``) naming the field, never a credential value."""
        ...

    def credential_origins(self, kind: str, config: Mapping[str, Any]) -> frozenset[str]:
        """Where ``kind``'s credentials are sent under ``config``: ``scheme://host:port`` each."""
        ...


class SourcePolicy(BaseModel):
    """``DENGAR_COLLECTOR__SOURCES__*``."""

    model_config = ConfigDict(frozen=True)

    # Polling interval of a pull source when the tenant gives none, and the shortest allowed.
    default_interval_s: int = Field(default=300, ge=1)
    min_interval_s: int = Field(default=30, ge=1)
    # Signed webhooks: how far a push's X-Dengar-Timestamp may be from now (replay protection).
    webhook_tolerance_s: float = Field(default=300.0, gt=0)
    webhook_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    webhook_max_posts: int = Field(default=1000, ge=1)
    # Sources (pull and webhook) per tenant; over it creating one is RESOURCE_EXHAUSTED
    # ``source-limit`` (409 over HTTP).
    max_per_tenant: int = Field(default=100, ge=1)


@dataclass
class PushResult:
    tenant_id: str
    accepted: int = 0
    rejected: int = 0
    errors: list[ItemError] = field(default_factory=list)
    post_ids: list[str] = field(default_factory=list)


def _encode_token(created_at: datetime, source_id: str) -> str:
    raw = json.dumps([created_at.astimezone(UTC).isoformat(), source_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        when, source_id = json.loads(raw)
        moment = datetime.fromisoformat(when)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise SourceInputError("page_token", "invalid page token") from exc
    if moment.tzinfo is None or not isinstance(source_id, str):
        raise SourceInputError("page_token", "invalid page token")
    return moment, source_id


def _check_credentials(credentials: Mapping[str, str]) -> dict[str, str]:
    if len(credentials) > MAX_CREDENTIAL_FIELDS:
        raise SourceInputError("credentials", f"at most {MAX_CREDENTIAL_FIELDS} credential fields")
    for key, value in credentials.items():
        if not key or len(value) > MAX_CREDENTIAL_CHARS:
            # Names the field, never the value.
            raise SourceInputError(f"credentials.{key}", "credential field name empty or value too long")
    return dict(credentials)


class SourceManager:
    def __init__(self, repo: SourceStore, connectors: ConnectorValidator, ingest: IngestService, *,
                 policy: SourcePolicy | None = None, clock: Callable[[], datetime] = utcnow,
                 on_due: Callable[[], None] | None = None) -> None:
        self._repo = repo
        self._connectors = connectors
        self._ingest = ingest
        self.policy = policy or SourcePolicy()
        self._clock = clock
        # Wakes the local scheduler when a source becomes due now (create, resume, run now).
        self._on_due = on_due or (lambda: None)

    # -- validation ----------------------------------------------------------------------------------

    def _check_definition(self, kind: str, config: Mapping[str, Any], credentials: Mapping[str, str]) -> None:
        if kind == WEBHOOK_KIND:
            if config:
                raise SourceInputError("config", "webhook sources take no configuration")
            if credentials:
                raise SourceInputError("credentials", "webhook sources take no credentials; "
                                                      "they get a signing secret")
            return
        if kind not in self._connectors.kinds:
            raise SourceInputError("kind", f"unknown kind {kind!r}; expected one of "
                                           f"{sorted([*self._connectors.kinds, WEBHOOK_KIND])}")
        if len(json.dumps(config, default=str)) > MAX_CONFIG_BYTES:
            raise SourceInputError("config", f"config larger than {MAX_CONFIG_BYTES // 1024} KiB")
        try:
            self._connectors.validate(kind, config, credentials)
        except ValueError as exc:
            # The message already names the field; ``field`` is there for the problem's member.
            raise InvalidArgument(str(exc), field=getattr(exc, "field", "") or None) from None

    async def _get(self, tenant_id: str, source_id: str) -> SourceRecord:
        record = await self._repo.get(tenant_id, source_id) if is_source_id(source_id) else None
        if record is None:
            raise SourceNotFoundError(f"source {source_id!r} not found")
        return record

    # -- the management API ----------------------------------------------------------------------------

    async def create(self, tenant_id: str, *, name: str, kind: str, config: Mapping[str, Any],
                     credentials: Mapping[str, str], interval_seconds: int = 0,
                     paused: bool = False) -> tuple[SourceRecord, str]:
        """The new source and, for a webhook source, its signing secret (shown once)."""
        name = check_name(name)
        kind = kind.strip().lower()
        creds = _check_credentials(credentials)
        self._check_definition(kind, config, creds)
        interval = resolve_interval(interval_seconds, default_s=self.policy.default_interval_s,
                                    minimum_s=self.policy.min_interval_s)
        now = self._clock()
        secret = webhook.new_secret() if kind == WEBHOOK_KIND else ""
        record = SourceRecord(
            id=new_source_id(), tenant_id=tenant_id, name=name, kind=kind, config=dict(config),
            credentials=creds, webhook_secret=secret, interval_seconds=interval, paused=paused,
            created_at=now, updated_at=now,
            # A new pull source runs at once: the tenant wants to see that it works.
            next_run_at=None if kind == WEBHOOK_KIND else now)
        limit = self.policy.max_per_tenant
        if (current := await self._repo.count(tenant_id)) >= limit:
            raise SourceLimitError(limit, current)
        for _attempt in range(3):
            try:
                await self._repo.insert(tenant_id, record)
                break
            except SourceIdTaken:
                record.id = new_source_id()
        else:
            raise RuntimeError("could not allocate a source id")
        # Count, insert, recount: creations racing at the limit each see the others' inserts and
        # withdraw their own, so the limit holds (all of them may be refused, never all admitted).
        if (current := await self._repo.count(tenant_id)) > limit:
            await self._repo.delete(tenant_id, record.id)
            raise SourceLimitError(limit, current - 1)
        logger.info("tenant %s: created %s source %s", tenant_id, kind, record.id)
        if record.next_run_at is not None and not paused:
            self._on_due()
        return record, secret

    async def get(self, tenant_id: str, source_id: str) -> SourceRecord:
        return await self._get(tenant_id, source_id)

    async def list(self, tenant_id: str, *, kind: str = "", page_size: int = 0,
                   page_token: str = "") -> tuple[list[SourceRecord], str]:
        if page_size < 0:
            raise SourceInputError("page_size", "page_size must not be negative")
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        kind = kind.strip().lower()
        if kind and kind != WEBHOOK_KIND and kind not in self._connectors.kinds:
            raise SourceInputError("kind", f"unknown kind {kind!r}")
        after = _decode_token(page_token) if page_token else None
        records = await self._repo.list(tenant_id, kind=kind, after=after, limit=size + 1)
        token = ""
        if len(records) > size:
            records = records[:size]
            token = _encode_token(records[-1].created_at, records[-1].id)
        return records, token

    async def update(self, tenant_id: str, source_id: str, *, name: str | None = None,
                     config: Mapping[str, Any] | None = None, credentials: Mapping[str, str] | None = None,
                     replace_credentials: bool = False,
                     interval_seconds: int | None = None) -> SourceRecord:
        current = await self._get(tenant_id, source_id)
        now = self._clock()
        changes: dict[str, Any] = {"updated_at": now}
        inc: dict[str, Any] = {}
        if name is not None:
            changes["name"] = check_name(name)
        new_config = dict(config) if config is not None else current.config
        new_creds = dict(current.credentials)
        if replace_credentials:
            new_creds = _check_credentials(credentials or {})
        elif credentials:
            new_creds.update(_check_credentials(credentials))
        if config is not None and current.credentials and not replace_credentials:
            # Credentials are bound to the origins they were given for: sending a stored token to
            # a host the tenant (or whoever holds its key) just named would hand it over.
            before = self._connectors.credential_origins(current.kind, current.config)
            after = self._connectors.credential_origins(current.kind, new_config)
            # An empty ``after`` is a config that does not validate: the definition check names it.
            if after and before != after:
                if not credentials:
                    raise SourceInputError(
                        "credentials", f"the credentials were given for {', '.join(sorted(before))}; "
                                       f"send them again to use them with {', '.join(sorted(after))}")
                # Only what came with the change goes to the new origin, nothing merged from before.
                new_creds = _check_credentials(credentials)
        definition_changed = config is not None or replace_credentials or bool(credentials)
        if definition_changed and current.secrets_error and not replace_credentials:
            # Merging into credentials that cannot be read would silently drop them.
            raise SourceStateError(f"{current.secrets_error}; send all of them with replace_credentials")
        if definition_changed:
            self._check_definition(current.kind, new_config, new_creds)
            changes["credentials"] = new_creds
            if config is not None:
                changes["config"] = new_config
                # The cursor belongs to the old query: the new one starts with its own backfill.
                changes["cursor"] = None
                inc["generation"] = 1
            if not current.is_webhook:
                changes["next_run_at"] = now
        if interval_seconds is not None:
            changes["interval_seconds"] = resolve_interval(
                interval_seconds, default_s=self.policy.default_interval_s,
                minimum_s=self.policy.min_interval_s)
        record = await self._repo.update(tenant_id, source_id, set_fields=changes, inc=inc)
        if record is None:
            raise SourceNotFoundError(f"source {source_id!r} not found")
        logger.info("tenant %s: updated source %s (%s)", tenant_id, source_id,
                    ", ".join(sorted(k for k in changes if k != "updated_at")) or "nothing")
        if "next_run_at" in changes and not record.paused:
            self._on_due()
        return record

    async def delete(self, tenant_id: str, source_id: str) -> None:
        if not is_source_id(source_id) or not await self._repo.delete(tenant_id, source_id):
            raise SourceNotFoundError(f"source {source_id!r} not found")
        logger.info("tenant %s: deleted source %s", tenant_id, source_id)

    async def pause(self, tenant_id: str, source_id: str) -> SourceRecord:
        await self._get(tenant_id, source_id)
        record = await self._repo.update(tenant_id, source_id,
                                         set_fields={"paused": True, "updated_at": self._clock()})
        if record is None:
            raise SourceNotFoundError(f"source {source_id!r} not found")
        return record

    async def resume(self, tenant_id: str, source_id: str) -> SourceRecord:
        current = await self._get(tenant_id, source_id)
        now = self._clock()
        changes: dict[str, Any] = {"paused": False, "updated_at": now}
        if not current.is_webhook:
            # Resuming is also how a person says "I fixed it, try again": no waiting out a back-off.
            changes["next_run_at"] = now
        record = await self._repo.update(tenant_id, source_id, set_fields=changes)
        if record is None:
            raise SourceNotFoundError(f"source {source_id!r} not found")
        if not record.is_webhook:
            self._on_due()
        return record

    async def run_now(self, tenant_id: str, source_id: str) -> SourceRecord:
        """Make a pull source due now. A run already in progress counts as the requested run."""
        current = await self._get(tenant_id, source_id)
        if current.is_webhook:
            raise SourceStateError("webhook sources are pushed to, not run")
        if current.paused:
            raise SourceStateError("the source is paused; resume it first")
        record = await self._repo.update(tenant_id, source_id, set_fields={"next_run_at": self._clock()})
        if record is None:
            raise SourceNotFoundError(f"source {source_id!r} not found")
        self._on_due()
        return record

    async def rotate_secret(self, tenant_id: str, source_id: str) -> tuple[SourceRecord, str]:
        current = await self._get(tenant_id, source_id)
        if not current.is_webhook:
            raise SourceStateError("only webhook sources have a signing secret")
        secret = webhook.new_secret()
        record = await self._repo.update(tenant_id, source_id,
                                         set_fields={"webhook_secret": secret, "updated_at": self._clock()})
        if record is None:
            raise SourceNotFoundError(f"source {source_id!r} not found")
        logger.info("tenant %s: rotated the webhook secret of %s", tenant_id, source_id)
        return record, secret

    # -- signed pushes -----------------------------------------------------------------------------------

    async def push(self, source_id: str, *, timestamp: str, signature: str, body: bytes,
                   content_type: str) -> PushResult:
        """Authenticate a push, then ingest its posts.

        Raises ``SignatureError`` (unknown source, bad signature or timestamp: one answer for all),
        ``SourceStateError`` (paused), ``BodyError``, ``RequestError`` and ``PublishError``.
        """
        if len(body) > self.policy.webhook_max_bytes:
            raise BodyError(f"body larger than {self.policy.webhook_max_bytes} bytes")
        record = await self._repo.find_webhook(source_id) if is_source_id(source_id) else None
        now = self._clock()
        if record is None or not record.webhook_secret:
            webhook.burn_time(body)
            logger.info("webhook push to unknown source %r refused", source_id[:40])
            raise SignatureError("unknown source")
        try:
            webhook.verify(record.webhook_secret, timestamp, signature, body, now=now.timestamp(),
                           tolerance_s=self.policy.webhook_tolerance_s)
        except SignatureError as exc:
            logger.info("tenant %s: webhook push to %s refused: %s", record.tenant_id, record.id, exc)
            raise
        if record.paused:
            raise SourceStateError("the source is paused")
        parsed = webhook.parse_body(body, content_type, max_posts=self.policy.webhook_max_posts)
        valid, errors = validate_items(parsed.items, now=now)
        if parsed.broken:
            errors = [e for e in errors if e.index not in parsed.broken]
            errors.extend(ItemError(index=i, field="", message=m) for i, m in parsed.broken.items())
        result = PushResult(tenant_id=record.tenant_id)
        rejected_locally = len({e.index for e in errors})
        forwarded: list[FieldError] = []
        if valid:
            protos = [post_to_proto(p, record.tenant_id, now, source_id=record.id) for _, p in valid]
            plan, _new = await self._ingest.ingest(record.tenant_id, protos, source_id=record.id)
            forwarded = plan.errors
            result.accepted = plan.accepted
            result.rejected = plan.rejected
            result.post_ids = list(plan.post_ids)
        result.rejected += rejected_locally
        result.errors = merge_item_errors(errors, [i for i, _ in valid], forwarded)
        await self._repo.record_push(record.tenant_id, record.id, accepted=result.accepted, now=now)
        logger.debug("tenant %s: webhook %s pushed %d accepted, %d rejected", record.tenant_id, record.id,
                     result.accepted, result.rejected)
        return result
