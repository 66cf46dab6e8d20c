"""Mentions as export rows: CSV (a fixed set of flat columns) or NDJSON (the API's mention JSON).

Pure functions of ``MentionOut``, one row at a time, so that an export holds one page in memory.
CSV cells that a spreadsheet would run as a formula (starting with = + - @ or a control character)
are prefixed with a quote: the text comes from strangers on social media.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from dengar_gateway.entrypoints.schemas import MentionOut

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _time(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z") if value is not None else ""


def _joined(values: list[str]) -> str:
    return _safe("|".join(values))


COLUMNS: list[tuple[str, Callable[[MentionOut], Any]]] = [
    ("id", lambda m: m.id),
    ("platform", lambda m: m.platform),
    ("external_id", lambda m: _safe(m.external_id)),
    ("created_at", lambda m: _time(m.created_at)),
    ("collected_at", lambda m: _time(m.collected_at)),
    ("author_handle", lambda m: _safe(m.author.handle) if m.author else ""),
    ("author_name", lambda m: _safe(m.author.display_name) if m.author else ""),
    ("author_followers", lambda m: m.author.followers if m.author else ""),
    ("title", lambda m: _safe(m.title)),
    ("text", lambda m: _safe(m.text)),
    ("url", lambda m: _safe(m.url)),
    ("language", lambda m: m.language or ""),
    ("sentiment", lambda m: m.sentiment.label if m.sentiment else ""),
    ("aspects", lambda m: _joined([f"{a.name}:{a.polarity}" for a in m.aspects])),
    ("hashtags", lambda m: _joined(m.hashtags)),
    ("likes", lambda m: m.engagement.likes),
    ("reposts", lambda m: m.engagement.reposts),
    ("replies", lambda m: m.engagement.replies),
    ("views", lambda m: m.engagement.views),
    ("query_ids", lambda m: _joined(m.query_ids)),
    ("category_ids", lambda m: _joined(m.category_ids)),
    ("state", lambda m: m.workflow.state if m.workflow else "open"),
    ("assignee", lambda m: _safe(m.workflow.assignee) if m.workflow else ""),
    ("tags", lambda m: _joined(m.workflow.tags) if m.workflow else ""),
]


def _csv_line(cells: list[Any]) -> bytes:
    buf = io.StringIO()
    # RFC 4180: CRLF line ends, fields with quotes, commas or newlines quoted, quotes doubled.
    csv.writer(buf, lineterminator="\r\n").writerow(cells)
    return buf.getvalue().encode("utf-8")


def csv_header() -> bytes:
    # A BOM so that spreadsheets read the UTF-8 (Indonesian, emoji) right.
    return b"\xef\xbb\xbf" + _csv_line([name for name, _ in COLUMNS])


def csv_row(m: MentionOut) -> bytes:
    return _csv_line([get(m) for _, get in COLUMNS])


def ndjson_row(m: MentionOut) -> bytes:
    return json.dumps(m.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
