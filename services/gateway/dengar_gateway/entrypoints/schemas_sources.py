"""The JSON shapes of /v1/sources and /v1/webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dengar_gateway.entrypoints.schema_types import INT32_MAX

SourceStatusName = Literal["active", "paused", "error"]
SOURCE_KINDS = ("mastodon", "bluesky", "reddit", "youtube", "x", "rss", "hackernews", "webhook")
_KINDS_DOC = ", ".join(SOURCE_KINDS)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceCreateIn(_In):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(description=f"One of {_KINDS_DOC}.", examples=["mastodon"])
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="The connector's configuration, e.g. `{\"base_url\": \"https://mastodon.social\", "
                    "\"hashtag\": \"gojek\"}`. Webhook sources take none.")
    credentials: dict[str, str] = Field(
        default_factory=dict, max_length=16,
        description="Secret fields (e.g. `access_token`). Write-only: never returned, only their names "
                    "in `credential_fields`.")
    interval_seconds: int = Field(0, ge=0, le=INT32_MAX,
                                  description="Polling interval of a pull source; 0 or absent picks "
                                              "the default.")
    paused: bool = False


class SourcePatchIn(_In):
    name: str | None = Field(None, min_length=1, max_length=200)
    config: dict[str, Any] | None = Field(None, description="Replaces the whole configuration.")
    credentials: dict[str, str] | None = Field(
        None, max_length=16, description="Credential fields to set (others are kept, unless "
                                         "`replace_credentials`).")
    replace_credentials: bool = Field(False, description="Replace every credential by `credentials` "
                                                         "(none clears them).")
    interval_seconds: int | None = Field(None, ge=0, le=INT32_MAX)


class SourceOut(BaseModel):
    id: str
    name: str
    kind: str
    config: dict[str, Any]
    credential_fields: list[str] = Field(description="Names of the credentials that are set.")
    interval_seconds: int | None = Field(description="Null for webhook sources.")
    paused: bool
    status: SourceStatusName = Field(description="`error`: the last run failed; it is retried with "
                                                 "back-off.")
    created_at: datetime | None
    updated_at: datetime | None
    last_run_at: datetime | None
    next_run_at: datetime | None
    items_collected: int
    runs: int
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    last_success_at: datetime | None
    last_run_items: int
    webhook_url: str | None = Field(None, description="Webhook sources: the path to push to.")


class SourceCreatedOut(SourceOut):
    webhook_secret: str | None = Field(
        None, description="Webhook sources only, and only in this response: the HMAC-SHA256 key for "
                          "signing pushes. Store it now.")


class SourcePage(BaseModel):
    data: list[SourceOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
