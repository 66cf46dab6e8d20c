"""The shared streaming parser of file imports (dengar_common.imports)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dengar_common.imports import (
    BatchReader,
    FatalImportError,
    ImportSpecError,
    Position,
    Record,
    RowInvalid,
    check_delimiter,
    check_timestamp_format,
    convert_row,
    detect_format,
    iter_records,
    parse_mapping,
    parse_timestamp,
    resolve_timezone,
    row_options,
)

JAKARTA = ZoneInfo("Asia/Jakarta")


def records(data: bytes | str, fmt: str, **kw: Any) -> list[Record]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return list(iter_records(io.BytesIO(raw), fmt, **kw))


def post(i: int, **kw: Any) -> dict[str, Any]:
    return {"external_id": str(i), "text": f"post {i}", "platform": "x",
            "created_at": "2026-11-20T05:00:00Z", **kw}


# ---------------------------------------------------------------------------------------- CSV

def test_csv_line_numbers_follow_quoted_cells_across_lines() -> None:
    data = ('\ufefftext,created_at\n"a, b",1\n"multi\nline",2\nc,3,extra\n\nd,4\r\n'
            '"x\r\ny\r\nz",5\r\ne,6\n')
    rows = records(data, "csv")
    assert [r.line for r in rows] == [2, 3, 5, 7, 8, 11]
    assert rows[1].row == {"text": "multi\nline", "created_at": "2"}
    assert rows[2].error is not None and "more fields" in rows[2].error.message
    assert rows[4].row == {"text": "x\r\ny\r\nz", "created_at": "5"}
    # Each record ends where the next one starts, in bytes (after the BOM) and lines.
    raw = data.encode()
    assert rows[-1].end == Position(len(raw), 12)
    assert raw[rows[3].end.offset:].startswith(b'"x')


def test_csv_resumes_from_a_position_with_the_header_and_line_numbers() -> None:
    data = 'id,text\n1,"a\nb"\n2,c\n3,d\n'
    first = records(data, "csv")
    rest = records(data, "csv", start=first[0].end)
    assert [(r.line, r.row) for r in rest] == [(4, {"id": "2", "text": "c"}), (5, {"id": "3", "text": "d"})]


def test_csv_delimiters_missing_columns_and_broken_quotes() -> None:
    rows = records("text\tplatform\nhalo\n", "csv", delimiter="\t")
    assert rows[0].row == {"text": "halo"}
    options = row_options(default_platform="x")
    with pytest.raises(RowInvalid) as info:
        convert_row(rows[0].row or {}, rows[0].line, options)
    assert [(e.line, e.field) for e in info.value.errors] == [(2, "created_at")]
    assert check_delimiter("tab") == "\t" and check_delimiter("") == ","
    with pytest.raises(ImportSpecError):
        check_delimiter(";;")


def test_a_csv_record_over_the_size_limit_is_fatal() -> None:
    with pytest.raises(FatalImportError, match="longer than"):
        records('text\n"' + "x\n" * 100 + '"\n', "csv", max_record_bytes=50)


# ------------------------------------------------------------------------------------- NDJSON

def test_ndjson_reports_bad_lines_and_skips_blank_ones() -> None:
    rows = records('{"text": "a"}\n\n{oops\n[1, 2]\n{"text": "b"}', "ndjson")
    assert [r.line for r in rows] == [1, 3, 4, 5]
    assert rows[1].error is not None and "invalid JSON" in rows[1].error.message
    assert rows[2].error is not None and "JSON object" in rows[2].error.message
    assert rows[3].row == {"text": "b"} and rows[3].end.line == 6


def test_an_oversized_ndjson_line_is_a_row_error_and_the_next_line_still_reads() -> None:
    data = '{"text": "' + "x" * 200 + '"}\n{"text": "ok"}\n'
    rows = records(data, "jsonl", max_record_bytes=64)
    assert rows[0].error is not None and "longer than" in rows[0].error.message
    assert (rows[1].line, rows[1].row) == (2, {"text": "ok"})


# --------------------------------------------------------------------------------------- JSON

@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 65536])
def test_a_json_array_streams_through_any_buffer_size(chunk: int) -> None:
    items = [post(i, text="ñ" * i + " 😤", metadata={"k": "[}{]\"," * i}) for i in range(12)]
    data = json.dumps(items, indent=2, ensure_ascii=False)
    rows = records(data, "json", json_chunk_chars=chunk)
    assert [r.row for r in rows] == items
    starts = [i + 1 for i, line in enumerate(data.splitlines()) if line == "  {"]
    assert [r.line for r in rows] == starts
    raw = data.encode()
    for r in rows[:-1]:
        assert raw[r.end.offset:].lstrip().startswith(b",")
        assert r.end.line == raw[:r.end.offset].count(b"\n") + 1
    # Resuming after the fifth element reads the rest, with the same lines.
    rest = records(data, "json", json_chunk_chars=chunk, start=rows[4].end)
    assert [(r.line, r.row) for r in rest] == [(r.line, r.row) for r in rows[5:]]


def test_a_json_object_with_a_posts_array_and_other_members() -> None:
    data = '{"exported": {"by": ["me", {"x": 1}]}, "posts": [\n{"a": 1}, 5,\n{"b": 2}], "n": 3}'
    rows = records(data, "json", json_chunk_chars=4)
    assert [(r.line, r.row) for r in rows if r.row] == [(2, {"a": 1}), (3, {"b": 2})]
    assert rows[1].error is not None and "JSON object" in rows[1].error.message
    rest = records(data, "json", json_chunk_chars=4, start=rows[0].end)
    assert [r.row for r in rest if r.row] == [{"b": 2}]


@pytest.mark.parametrize("data,needle", [
    ('[{"a": 1} {"b": 2}]', "expected ',' or ']'"),
    ('[{"a": 1}]\n[{"b": 2}]', "NDJSON"),
    ('{"a": 1}\n{"b": 2}\n', "NDJSON"),
    ('"posts"', "array of posts"),
    ('[{"a": 1},\n{"b": ', "not valid JSON"),
    ('{"posts": {"a": 1}}', "array of posts"),
])
def test_json_that_breaks_off_is_fatal_with_its_line(data: str, needle: str) -> None:
    with pytest.raises(FatalImportError) as info:
        records(data, "json", json_chunk_chars=3)
    assert needle in str(info.value)
    assert info.value.line >= 1


def test_a_json_element_over_the_size_limit_is_fatal() -> None:
    with pytest.raises(FatalImportError, match="larger than"):
        records(json.dumps([{"text": "x" * 500}]), "json", json_chunk_chars=16, max_record_bytes=100)


# ------------------------------------------------------------------------ encodings, empty files

@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson"])
def test_empty_and_blank_files_have_no_records(fmt: str) -> None:
    assert records(b"", fmt) == []
    assert records(b"\n\n  \n", fmt) == []


_BAD_1 = b'{"external_id": "1", "text": "caf\xe9", "created_at": "2026-11-20T05:00:00Z", "platform": "x"}'
_BAD_2 = (b'{"external_id": "2", "text": "fine", "created_at": "2026-11-20T05:00:00Z", "platform": "x", '
          b'"note": "n\xe9"}')


@pytest.mark.parametrize("fmt,data", [
    ("csv", b"external_id,text,created_at,platform,note\n1,caf\xe9,2026-11-20T05:00:00Z,x,ok\n"
            b"2,fine,2026-11-20T05:00:00Z,x,n\xe9\n"),
    ("ndjson", _BAD_1 + b"\n" + _BAD_2 + b"\n"),
    ("json", b"[" + _BAD_1 + b",\n" + _BAD_2 + b"]"),
])
def test_invalid_utf8_is_a_row_error_only_where_it_lands_in_the_post(fmt: str, data: bytes) -> None:
    reader = BatchReader(iter(records(data, fmt, json_chunk_chars=5)), row_options(), size=10)
    batch = reader.next_batch()
    assert [p.external_id for p in batch.posts] == ["2"]  # the bad byte of row 2 is in an unused column
    [error] = batch.errors
    assert error.field == "text" and "UTF-8" in error.message and batch.done
    with pytest.raises(UnicodeDecodeError):
        records(data, fmt, strict_encoding=True)


def test_a_csv_header_that_is_not_utf8_is_fatal() -> None:
    with pytest.raises(FatalImportError, match="header"):
        records(b"t\xe9xt\nhi\n", "csv")


# ------------------------------------------------------------------------------------ the spec

@pytest.mark.parametrize("name,fmt", [("a.csv", "csv"), ("a.TSV", "csv"), ("a.json", "json"),
                                      ("a.jsonl", "ndjson"), ("a.ndjson", "ndjson")])
def test_format_detection(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt


def test_unknown_formats_zones_and_mappings_are_spec_errors() -> None:
    for bad in (lambda: detect_format("a.txt"), lambda: detect_format("a.csv", "xml"),
                lambda: resolve_timezone("Mars/Olympus"), lambda: parse_mapping({"txt": "body"}),
                lambda: parse_mapping(["text"]), lambda: check_timestamp_format("kemarin"),
                lambda: row_options(default_platform="friendster")):
        with pytest.raises(ImportSpecError):
            bad()
    assert detect_format("a.txt", "jsonl") == "ndjson"
    assert parse_mapping({"text": "body", "metadata.campaign": "utm"})["metadata.campaign"] == ("utm",)


@pytest.mark.parametrize("value,fmt,expected", [
    ("1763614800", "epoch_s", datetime(2025, 11, 20, 5, tzinfo=UTC)),
    (1763614800000, "epoch_ms", datetime(2025, 11, 20, 5, tzinfo=UTC)),
    ("1763614800500", "epoch_ms", datetime(2025, 11, 20, 5, 0, 0, 500000, tzinfo=UTC)),
    ("2026-11-20T12:00:00+07:00", "iso8601", datetime(2026, 11, 20, 5, tzinfo=UTC)),
    ("20/11/2026 12.00", "%d/%m/%Y %H.%M", datetime(2026, 11, 20, 5, tzinfo=UTC)),
])
def test_timestamp_formats(value: Any, fmt: str, expected: datetime) -> None:
    parsed, _ = parse_timestamp(value, tz=JAKARTA, time_format=check_timestamp_format(fmt))
    assert parsed == expected


def test_epoch_formats_take_only_numbers_and_naive_times_use_the_zone() -> None:
    with pytest.raises(ValueError, match="number"):
        parse_timestamp("2026-11-20", time_format="epoch_s")
    parsed, naive = parse_timestamp("2026-11-20 12:00", tz=JAKARTA)
    assert naive and parsed == datetime(2026, 11, 20, 5, tzinfo=UTC)


# -------------------------------------------------------------------------- rows and batches

def test_rows_are_validated_like_rest_posts() -> None:
    options = row_options(default_platform="x")
    post_in, _ = convert_row({"text": "hai", "created_at": "1763614800", "url": "https://x.com/a/1"}, 2,
                             options)
    assert post_in.external_id.startswith("row-") and post_in.platform == "x"
    # What only the REST validation catches: a URL that is not http(s), a bad language tag.
    with pytest.raises(RowInvalid) as info:
        convert_row({"text": "hai", "created_at": "1763614800", "url": "ftp://x", "lang": "e n"}, 9, options)
    assert {(e.line, e.field) for e in info.value.errors} == {(9, "url"), (9, "lang")}


def test_batches_hold_at_most_size_posts_and_end_where_their_last_row_ends() -> None:
    lines = [json.dumps(post(i)) for i in range(7)]
    lines.insert(3, '{"text": ""}')
    data = "\n".join(lines) + "\n"
    reader = BatchReader(iter_records(io.BytesIO(data.encode()), "ndjson"), row_options(), size=3)
    batches = [reader.next_batch()]
    while not batches[-1].done:
        batches.append(reader.next_batch())
    assert [len(b.posts) for b in batches] == [3, 3, 1]
    assert [b.rows for b in batches] == [3, 4, 1]
    assert batches[1].lines == [5, 6, 7] and [e.line for e in batches[1].errors] == [4, 4, 4]
    assert batches[0].end == Position(len("\n".join(lines[:3])) + 1, 4)


def test_a_file_that_breaks_off_keeps_the_batch_read_before() -> None:
    data = "[" + ",".join(json.dumps(post(i)) for i in range(4)) + ", oops]"
    batch = BatchReader(iter_records(io.BytesIO(data.encode()), "json"), row_options(), size=10).next_batch()
    assert len(batch.posts) == 4 and batch.done and batch.fatal is not None
