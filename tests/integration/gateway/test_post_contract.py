"""One list of good and bad posts through all four entry points, which must agree on each.

The entry points: REST ``POST /v1/posts`` (the real gateway app, its collector a double that accepts
whatever reaches it, so the verdict is the gateway's own), a signed webhook's body (the collector's
``webhook.parse_body`` and the item validation its SourceService runs), a file import (the shared
NDJSON reader and row conversion of ``dengar_common.imports``) and a real collector's gRPC
``IngestPosts``. Each case is accepted everywhere, or rejected everywhere naming the same field(s).

Lives with the gateway tests for their fixtures (the app, its store, the gRPC doubles).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dengar.v1 import collector_pb2, collector_pb2_grpc, common_pb2
from dengar_collector import bootstrap as collector_bootstrap
from dengar_collector.domain import webhook
from dengar_collector.settings import CollectorSettings
from dengar_common.app import ServiceApp
from dengar_common.enums import PLATFORMS
from dengar_common.grpcutil import insecure_channel
from dengar_common.imports import RowInvalid, RowOptions, convert_row, iter_records
from dengar_common.localinfra import LocalInfra
from dengar_common.post_contract import (
    MAX_AUTHOR_DISPLAY_NAME_CHARS,
    MAX_AUTHOR_HANDLE_CHARS,
    MAX_EXTERNAL_ID_CHARS,
    MAX_METADATA_ENTRIES,
    MAX_METADATA_KEY_CHARS,
    MAX_METADATA_VALUE_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
)
from dengar_common.postjson import validate_items
from dengar_gateway.domain.keys import Scope

NOW = datetime.now(UTC)


def _ts(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def item(n: int, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"platform": "x", "external_id": f"c{n}", "text": f"post {n}",
                            "created_at": _ts(NOW - timedelta(hours=1))}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@dataclass(frozen=True)
class Case:
    name: str
    post: dict[str, Any]
    # The fields a rejection names; empty when the post is accepted.
    rejects: frozenset[str] = frozenset()
    # Where a file import deliberately differs (see the case).
    import_rejects: frozenset[str] | None = None
    # A field missing, or a platform a gRPC client cannot spell by name: each wire format words its
    # own decoding problems, so only the fields are compared.
    decoding: bool = False


def _cases() -> list[Case]:
    def case(name: str, rejects: str = "", import_rejects: str | None = None, decoding: bool = False,
             **kw: Any) -> Case:
        n = len(cases)
        return Case(name, item(n, **kw), frozenset(rejects.split()) if rejects else frozenset(),
                    None if import_rejects is None else frozenset(import_rejects.split()), decoding)

    cases: list[Case] = []
    cases += [
        case("plain"),
        case("external_id at the limit", external_id="a" * MAX_EXTERNAL_ID_CHARS),
        # REST took 300 while imports and the collector stopped at 256.
        case("external_id of 300", external_id="b" * 300),
        case("external_id over the limit", "external_id", external_id="c" * (MAX_EXTERNAL_ID_CHARS + 1)),
        # Files may leave the id out: the importer derives one from the row's content.
        case("blank external_id", "external_id", import_rejects="", external_id="  "),
        case("external_id with CR/LF", "external_id", external_id="7\r\nNats-Msg-Id: evil"),
        case("text at the limit", text="é" * MAX_TEXT_CHARS),
        case("text over the limit", "text", text="a" * (MAX_TEXT_CHARS + 1)),
        case("no text and no title", "text", text=""),
        case("a title instead of text", text="", title="GoCepat naikkan tarif"),
        case("title over the limit", "title", title="t" * (MAX_TITLE_CHARS + 1)),
        case("no created_at", "created_at", decoding=True, created_at=None),
        case("created_at before 2000", "created_at", created_at="1999-12-31T23:59:59Z"),
        case("created_at next week", "created_at", created_at=_ts(NOW + timedelta(days=7))),
        case("no platform", "platform", decoding=True, platform=None),
        case("unknown platform", "platform", decoding=True, platform="myspace"),
        case("platform alias", platform="twitter"),
        case("author handle over the limit", "author.handle",
             author={"handle": "h" * (MAX_AUTHOR_HANDLE_CHARS + 1)}),
        case("author display_name over the limit", "author.display_name",
             author={"display_name": "d" * (MAX_AUTHOR_DISPLAY_NAME_CHARS + 1)}),
        case("negative followers", "author.followers", author={"handle": "ann", "followers": -1}),
        case("negative likes", "engagement.likes", engagement={"likes": -1, "views": 3}),
        case("url not http", "url", url="javascript:alert(1)"),
        case("lang not BCP-47", "lang", lang="english!"),
        case("metadata at the limits", metadata={
            f"k{i:0{MAX_METADATA_KEY_CHARS - 1}d}": "v" * MAX_METADATA_VALUE_CHARS
            for i in range(MAX_METADATA_ENTRIES)}),
        case("too many metadata entries", "metadata",
             metadata={f"k{i}": "v" for i in range(MAX_METADATA_ENTRIES + 1)}),
        case("metadata key too long", "metadata", metadata={"k" * (MAX_METADATA_KEY_CHARS + 1): "v"}),
        case("metadata value too long", "metadata.note",
             metadata={"note": "v" * (MAX_METADATA_VALUE_CHARS + 1)}),
        # Within every field limit, but no longer one NATS message.
        case("post too large once encoded", "post", metadata={
            f"k{i}": "😡" * MAX_METADATA_VALUE_CHARS for i in range(MAX_METADATA_ENTRIES)}),
        case("several problems", "external_id text platform", import_rejects="text platform", decoding=True,
             platform="myspace", external_id="", text=""),
    ]
    return cases


CASES = _cases()
Verdicts = dict[int, dict[str, str]]  # case index -> {field: message}; {} when accepted


def _verdicts(errors: list[tuple[int, str, str]]) -> Verdicts:
    out: Verdicts = {i: {} for i in range(len(CASES))}
    for index, field, message in errors:
        out[index].setdefault(field, message)
    return out


# ------------------------------------------------------------------------------ the entry points

async def via_rest(gateway: Any) -> Verdicts:
    key = await gateway.new_key("acme", Scope.INGEST)
    resp = await gateway.client.post("/v1/posts", json={"posts": [c.post for c in CASES]},
                                     headers=key.headers)
    assert resp.status_code == 202, resp.text
    return _verdicts([(e["index"], e["field"], e["message"]) for e in resp.json()["errors"]])


def via_webhook() -> Verdicts:
    body = "\n".join(json.dumps(c.post, ensure_ascii=False) for c in CASES).encode("utf-8")
    parsed = webhook.parse_body(body, "application/x-ndjson", max_posts=len(CASES))
    assert not parsed.broken
    _valid, errors = validate_items(parsed.items, now=datetime.now(UTC))
    return _verdicts([(e.index, e.field, e.message) for e in errors])


def via_import() -> Verdicts:
    data = "\n".join(json.dumps(c.post, ensure_ascii=False) for c in CASES).encode("utf-8")
    errors: list[tuple[int, str, str]] = []
    for record in iter_records(io.BytesIO(data), "ndjson"):
        assert record.row is not None, record.error
        try:
            convert_row(record.row, record.line, RowOptions())
        except RowInvalid as exc:
            errors.extend((record.line - 1, e.field, e.message) for e in exc.errors)
    return _verdicts(errors)


def to_proto(post: dict[str, Any]) -> common_pb2.Post:
    """The same post as a gRPC client sends it (a platform name it cannot spell: an enum number
    this build does not know)."""
    platform = post.get("platform")
    msg = common_pb2.Post(
        platform=(common_pb2.PLATFORM_UNSPECIFIED if platform is None else  # type: ignore[arg-type]  # loose kwargs
                  PLATFORMS.get({"twitter": "x"}.get(platform, platform), 999)),
        external_id=post["external_id"], text=post["text"], title=post.get("title", ""),
        url=post.get("url", ""), lang_hint=post.get("lang", ""), metadata=post.get("metadata", {}),
        author=common_pb2.Author(**post.get("author", {})),
        engagement=common_pb2.Engagement(**post.get("engagement", {})))
    if "created_at" in post:
        msg.created_at.FromDatetime(datetime.fromisoformat(post["created_at"]))
    return msg


async def via_grpc(target: str) -> Verdicts:
    channel = insecure_channel(target)
    try:
        stub = collector_pb2_grpc.CollectorServiceStub(channel)
        resp = await stub.IngestPosts(collector_pb2.IngestPostsRequest(
            tenant_id="acme", posts=[to_proto(c.post) for c in CASES]), timeout=30)
    finally:
        await channel.close()
    return _verdicts([(e.index, e.field, e.message) for e in resp.errors])


# ------------------------------------------------------------------------------------- the test

@pytest.fixture
async def collector(infra: LocalInfra, unique: str) -> AsyncIterator[collector_bootstrap.Collector]:
    settings = CollectorSettings(nats_url=infra.nats_url, mongo_uri=infra.mongo_uri, subject_root=unique,
                                 collector={"grpc_port": 0, "db": f"{unique}_collector",
                                            "allow_unencrypted_secrets": True},
                                 shutdown_grace_s=2.0)
    async with ServiceApp("dengar-collector", grace_s=settings.shutdown_grace_s) as app:
        running = await collector_bootstrap.start(app, settings)
        await app.ready()
        yield running


_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")


def _worded(verdicts: Verdicts) -> Verdicts:
    """The messages of the cases every entry point words alike; the latest allowed time ("now" plus
    a day) is masked, as two entry points may judge a second apart."""
    return {i: {f: _INSTANT.sub("<now+1d>", m) for f, m in v.items()}
            for i, v in verdicts.items() if not CASES[i].decoding}


def _expected(entry: str) -> Verdicts:
    out: Verdicts = {}
    for i, case in enumerate(CASES):
        fields = case.rejects
        if entry == "import" and case.import_rejects is not None:
            fields = case.import_rejects
        out[i] = dict.fromkeys(fields, "")
    return out


@pytest.mark.parametrize("entry", ["rest", "webhook", "import", "grpc"])
async def test_every_entry_point_gives_the_same_verdict(entry: str, gateway: Any,
                                                        collector: collector_bootstrap.Collector) -> None:
    if entry == "rest":
        got = await via_rest(gateway)
    elif entry == "webhook":
        got = via_webhook()
    elif entry == "import":
        got = via_import()
    else:
        got = await via_grpc(collector.target)
    by_name = {c.name: sorted(got[i]) for i, c in enumerate(CASES)}
    assert by_name == {c.name: sorted(_expected(entry)[i]) for i, c in enumerate(CASES)}
    if entry in ("rest", "grpc"):
        # What reads the public JSON or protobuf itself words each problem as the webhook does (the
        # contract's words); the importer words what it decodes itself (cells, timestamps) its own way.
        reference = via_webhook()
        assert _worded(got) == _worded(reference)
