"""Export rows: CSV quoting, unicode and formula escaping; NDJSON lines."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from dengar_gateway.entrypoints.export_rows import COLUMNS, csv_header, csv_row, ndjson_row
from dengar_gateway.entrypoints.schemas import (
    AspectOut,
    AuthorOut,
    EngagementOut,
    MentionOut,
    SentimentOut,
    WorkflowOut,
)


def mention(text: str, **kw: object) -> MentionOut:
    values: dict[str, object] = dict(
        id="m1", platform="x", external_id="42", text=text, title="", url="https://x.com/a/42",
        created_at=datetime(2026, 11, 2, 8, tzinfo=UTC), collected_at=None, updated_at=None,
        author=AuthorOut(id="a", handle="budi", display_name="Budi Śantoso", followers=7, verified=False,
                         location=""),
        engagement=EngagementOut(likes=1, reposts=2, replies=3, quotes=0, views=9),
        in_reply_to="", quote_of="", repost_of="", country="", metadata={}, query_ids=["q1", "q2"],
        language="id", language_confidence=0.9,
        sentiment=SentimentOut(label="negative", scores={"negative": 0.8}), emotion=None,
        aspects=[AspectOut(name="delivery", polarity="negative", confidence=0.9)], entities=[],
        hashtags=["telat"], mentions=[], urls=[], domains=[], cashtags=[], emojis=[])
    values.update(kw)
    return MentionOut.model_validate(values)


def parse(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_quotes_commas_quotes_newlines_and_keeps_unicode() -> None:
    text = 'Paket "telat", lagi!\nKecewa 😡 — kurir'
    [header, row] = parse(csv_header() + csv_row(mention(text)))
    assert csv_header().startswith(b"\xef\xbb\xbf")
    assert header == [name for name, _ in COLUMNS]
    cells = dict(zip(header, row, strict=True))
    assert cells["text"] == text
    assert cells["author_name"] == "Budi Śantoso"
    assert cells["created_at"] == "2026-11-02T08:00:00Z"
    assert (cells["sentiment"], cells["aspects"], cells["query_ids"]) == ("negative", "delivery:negative",
                                                                           "q1|q2")
    assert (cells["likes"], cells["views"], cells["state"], cells["tags"]) == ("1", "9", "open", "")
    assert csv_row(mention("x")).endswith(b"\r\n")


def test_csv_defuses_formulas_and_shows_the_workflow() -> None:
    wf = WorkflowOut(state="resolved", assignee="=HYPERLINK(1)", tags=["vip", "refund"], notes=[],
                     version=2, updated_at=None, updated_by="k")
    [_, row] = parse(csv_header() + csv_row(mention("=cmd|' /C calc'!A0", workflow=wf)))
    cells = dict(zip([n for n, _ in COLUMNS], row, strict=True))
    assert cells["text"] == "'=cmd|' /C calc'!A0"
    assert (cells["state"], cells["assignee"], cells["tags"]) == ("resolved", "'=HYPERLINK(1)", "vip|refund")
    assert cells["likes"] == "1"  # numbers are never prefixed


def test_ndjson_is_one_json_object_per_line() -> None:
    line = ndjson_row(mention("Kecewa 😡\nbaris dua"))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    doc = json.loads(line)
    assert doc["text"] == "Kecewa 😡\nbaris dua" and doc["id"] == "m1"
    assert "😡".encode() in line  # not \u-escaped
