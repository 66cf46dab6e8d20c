"""`dengar import`: mapping, timestamps, row conversion, file reading, and the HTTP side against a
tiny local server (port 0) and httpx's mock transport."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from dengar_cli.demo import generate_demo_posts
from dengar_cli.importer import (
    DEFAULT_SOURCES,
    FatalError,
    RowError,
    RowInvalid,
    RowOptions,
    Uploader,
    UsageError,
    detect_format,
    iter_rows,
    main,
    parse_mapping,
    parse_timestamp,
    row_hash,
    row_to_post,
)

JAKARTA = ZoneInfo("Asia/Jakarta")


# ------------------------------------------------------------------------------------ mapping

def test_mapping_defaults_and_overrides() -> None:
    m = parse_mapping(["text=body,created_at=date", "author.handle=user"])
    assert m["text"] == ("body",) and m["created_at"] == ("date",) and m["author.handle"] == ("user",)
    assert m["platform"] == DEFAULT_SOURCES["platform"]
    assert m["engagement.likes"] == ("engagement.likes", "likes")


def test_mapping_can_disable_a_default_and_add_metadata() -> None:
    m = parse_mapping(["url=,metadata.campaign=utm_campaign"])
    assert m["url"] == ()
    assert m["metadata.campaign"] == ("utm_campaign",)


@pytest.mark.parametrize("spec", ["txt=body", "text", "metadata.=x"])
def test_bad_mapping_is_a_usage_error(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_mapping([spec])


# --------------------------------------------------------------------------------- timestamps

@pytest.mark.parametrize("value,expected", [
    ("2026-11-20T05:00:00Z", datetime(2026, 11, 20, 5, tzinfo=UTC)),
    ("2026-11-20T12:00:00+07:00", datetime(2026, 11, 20, 5, tzinfo=UTC)),
    ("2026-11-20T12:00:00.250+07:00", datetime(2026, 11, 20, 5, 0, 0, 250000, tzinfo=UTC)),
    ("1763614800", datetime(2025, 11, 20, 5, tzinfo=UTC)),
    (1763614800, datetime(2025, 11, 20, 5, tzinfo=UTC)),
    ("1763614800000", datetime(2025, 11, 20, 5, tzinfo=UTC)),
    ("1763614800.5", datetime(2025, 11, 20, 5, 0, 0, 500000, tzinfo=UTC)),
])
def test_zoned_and_epoch_timestamps(value: Any, expected: datetime) -> None:
    parsed, naive = parse_timestamp(value, tz=JAKARTA)
    assert parsed == expected and not naive


@pytest.mark.parametrize("value", ["2026-11-20 12:00:00", "2026-11-20 12:00", "2026-11-20T12:00:00",
                                   "20/11/2026 12:00"])
def test_zoneless_timestamps_use_tz(value: str) -> None:
    parsed, naive = parse_timestamp(value, tz=JAKARTA)
    assert parsed == datetime(2026, 11, 20, 5, tzinfo=UTC) and naive


def test_custom_time_format() -> None:
    parsed, _ = parse_timestamp("20.11.2026 12h00", tz=JAKARTA, time_format="%d.%m.%Y %Hh%M")
    assert parsed == datetime(2026, 11, 20, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="time-format"):
        parse_timestamp("2026-11-20", time_format="%d.%m.%Y")


@pytest.mark.parametrize("value", ["", "yesterday", "nan", True, "1e400"])
def test_garbage_timestamps(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(value)


# ------------------------------------------------------------------------------------- rows

OPTS = RowOptions(sources=parse_mapping(["text=body,created_at=date,author=user"]), default_platform="x",
                  tz=JAKARTA)


def test_csv_row_becomes_a_rest_item() -> None:
    row = {"body": "Kirimin telat lagi 😤", "date": "2026-11-20 12:00:00", "user": "rina", "likes": "1,234",
           "views": "", "lang": "in", "url": "https://x.com/rina/status/1", "external_id": "1"}
    post, naive = row_to_post(row, 2, OPTS)
    assert naive
    assert post == {"text": "Kirimin telat lagi 😤", "platform": "x", "external_id": "1",
                    "created_at": "2026-11-20T05:00:00Z", "author": {"handle": "rina"},
                    "engagement": {"likes": 1234}, "lang": "id", "url": "https://x.com/rina/status/1"}


def test_missing_external_id_is_a_stable_content_hash() -> None:
    row = {"body": "sama", "date": "2026-11-20 12:00:00", "user": "a"}
    first, _ = row_to_post(row, 2, OPTS)
    again, _ = row_to_post(dict(reversed(list(row.items()))), 9, OPTS)
    other, _ = row_to_post({**row, "user": "b"}, 3, OPTS)
    assert first["external_id"] == again["external_id"] == row_hash(row)
    assert other["external_id"] != first["external_id"]


def test_platform_column_aliases_and_defaults() -> None:
    row = {"body": "t", "date": "1763614800"}
    assert row_to_post({**row, "platform": "Twitter"}, 2, OPTS)[0]["platform"] == "x"
    assert row_to_post(row, 2, OPTS)[0]["platform"] == "x"
    no_default = RowOptions(sources=OPTS.sources)
    with pytest.raises(RowInvalid) as info:
        row_to_post(row, 7, no_default)
    assert [(e.line, e.field) for e in info.value.errors] == [(7, "platform")]


def test_every_problem_of_a_row_is_reported_with_its_line() -> None:
    row = {"body": "  ", "date": "kemarin", "platform": "friendster", "likes": "-3",
           "author.verified": "maybe"}
    with pytest.raises(RowInvalid) as info:
        row_to_post(row, 12, OPTS)
    assert {(e.line, e.field) for e in info.value.errors} == {
        (12, "text"), (12, "platform"), (12, "created_at"), (12, "engagement.likes"), (12, "author.verified")}


def test_title_stands_in_for_text() -> None:
    post, _ = row_to_post({"title": "Berita", "date": "1763614800"}, 2, OPTS)
    assert post["text"] == "" and post["title"] == "Berita"


def test_nested_json_rows_and_mapped_paths() -> None:
    row = {"id_str": 99, "full_text": "hai", "created_at": "2026-11-20T05:00:00Z",
           "user": {"screen_name": "dimas", "followers_count": 1200.0, "verified": "true"},
           "metrics": {"favorite_count": 4}}
    opts = RowOptions(sources=parse_mapping([
        "external_id=id_str,text=full_text,author=,author.handle=user.screen_name,"
        "author.followers=user.followers_count,author.verified=user.verified,"
        "engagement.likes=metrics.favorite_count,metadata.source=user.screen_name"]), default_platform="x")
    post, _ = row_to_post(row, 1, opts)
    assert post["external_id"] == "99"
    assert post["author"] == {"handle": "dimas", "followers": 1200, "verified": True}
    assert post["engagement"] == {"likes": 4}
    assert post["metadata"] == {"source": "dimas"}


def test_rest_shaped_jsonl_imports_unchanged() -> None:
    # The demo stream is in the REST shape: importing it must not lose or alter anything.
    for item in generate_demo_posts(60, seed=3, now=datetime(2026, 11, 22, tzinfo=UTC)):
        post, naive = row_to_post(json.loads(json.dumps(item)), 1, RowOptions())
        assert not naive
        # Empty strings are left out: the API's default for them is the same empty string.
        expected = {k: v for k, v in item.items() if v not in ("", None)}
        expected["text"] = item["text"]
        expected["author"] = {k: v for k, v in item["author"].items() if v != ""}
        assert post == expected


# ------------------------------------------------------------------------------------ reading

def test_csv_lines_follow_multiline_records_and_flag_extra_fields() -> None:
    data = 'text,created_at\n"a, b",1\n"multi\nline",2\nc,3,extra\n\nd,4\r\n"x\r\ny\r\nz",5\r\ne,6\n'
    rows = list(iter_rows(io.StringIO(data, newline=""), "csv"))
    assert [line for line, _ in rows] == [2, 3, 5, 7, 8, 11]
    assert isinstance(rows[2][1], RowError) and "more fields" in rows[2][1].message
    assert rows[1][1] == {"text": "multi\nline", "created_at": "2"}


def test_jsonl_reports_bad_lines_and_skips_blank_ones() -> None:
    data = '{"text": "a"}\n\n{oops\n[1, 2]\n{"text": "b"}\n'
    rows = list(iter_rows(io.StringIO(data), "jsonl"))
    assert [line for line, _ in rows] == [1, 3, 4, 5]
    assert isinstance(rows[1][1], RowError) and "invalid JSON" in rows[1][1].message
    assert isinstance(rows[2][1], RowError) and "JSON object" in rows[2][1].message


@pytest.mark.parametrize("name,fmt", [("a.csv", "csv"), ("a.TSV", "csv"), ("a.jsonl", "jsonl"),
                                      ("a.ndjson", "jsonl")])
def test_format_detection(name: str, fmt: str) -> None:
    assert detect_format(name, None) == fmt


def test_unknown_extension_needs_format() -> None:
    with pytest.raises(UsageError):
        detect_format("posts.txt", None)
    assert detect_format("posts.txt", "jsonl") == "jsonl"


def test_dry_run_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "export.csv"
    path.write_text("\ufeffbody,date,user\nhalo Kirimin,2026-11-20 12:00:00,rina\n,2026-11-20,x\n",
                    encoding="utf-8")
    errors = tmp_path / "errors.csv"
    rc = main([str(path), "--dry-run", "--map", "text=body,created_at=date,author=user", "--platform", "x",
               "--tz", "Asia/Jakarta", "--errors", str(errors)])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "read 2 rows: 1 would be sent, 1 rejected (1 errors)" in out
    assert "line 3: text" in err
    assert errors.read_text().splitlines() == ["line,field,message", "3,text,text (or title) is required"]


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.csv"
    path.write_text("text\nhi\n")
    assert main([str(path), "--tz", "Mars/Olympus", "--dry-run"]) == 2
    assert main([str(path), "--api-key", ""]) == 2
    assert main([str(tmp_path / "missing.csv"), "--dry-run"]) == 2
    assert main([str(path), "--map", "nope=x", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "unknown time zone" in err and "no API key" in err and "cannot read" in err


def test_wrong_encoding_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("text,created_at,platform\ncaf\xe9,1763614800,x\n".encode("latin-1"))
    assert main([str(path), "--dry-run"]) == 2
    assert "--encoding" in capsys.readouterr().err
    assert main([str(path), "--dry-run", "--encoding", "latin-1"]) == 0


# ------------------------------------------------------------------------------- HTTP: a real server

class _Api:
    """A stand-in for POST /v1/posts: scripted statuses, then accept everything but texts 'bad'."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self.max_posts = 1000

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        doc = json.loads(body)
        self.requests.append({"headers": headers, "posts": doc["posts"]})
        if self.script:
            status, extra = self.script.pop(0)
            return status, extra, json.dumps({"title": "scripted", "detail": f"status {status}"}).encode()
        if headers.get("authorization") != "Bearer dgr_test":
            return 401, {}, b'{"detail": "invalid API key"}'
        if len(doc["posts"]) > self.max_posts:
            return 413, {}, b'{"detail": "too large"}'
        errors = [{"index": i, "field": "text", "message": "no bad words"}
                  for i, p in enumerate(doc["posts"]) if p["text"] == "bad"]
        accepted = len(doc["posts"]) - len(errors)
        return 202, {}, json.dumps({"accepted": accepted, "rejected": len(errors), "errors": errors,
                                    "ids": []}).encode()


@pytest.fixture
def api() -> Iterator[tuple[_Api, str]]:
    state = _Api()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status, extra, payload = state.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _jsonl(tmp_path: Path, texts: list[str]) -> Path:
    path = tmp_path / "posts.ndjson"
    with path.open("w") as f:
        for i, text in enumerate(texts):
            f.write(json.dumps({"platform": "x", "external_id": str(i), "text": text,
                                "created_at": "2026-11-20T05:00:00Z"}) + "\n")
    return path


def test_batches_retry_after_429_and_report_server_errors_by_line(
        api: tuple[_Api, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state, url = api
    state.script = [(429, {"Retry-After": "0"}), (503, {"Retry-After": "0"})]
    path = _jsonl(tmp_path, ["a", "bad", "c", "d", "bad"])
    rc = main([str(path), "--api-url", url + "/v1/", "--api-key", "dgr_test", "--batch-size", "2"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "read 5 rows: 3 accepted, 2 rejected (2 errors)" in out
    assert "line 2: text: no bad words" in err and "line 5: text: no bad words" in err
    sizes = [len(r["posts"]) for r in state.requests]
    assert sizes == [2, 2, 2, 2, 1]  # two refused attempts of the first batch, then 2 + 2 + 1
    keys = [r["headers"]["idempotency-key"] for r in state.requests]
    assert keys[0] == keys[1] == keys[2] and len(set(keys)) == 3
    assert all(r["headers"]["authorization"] == "Bearer dgr_test" for r in state.requests)


def test_refused_key_stops_with_exit_2(api: tuple[_Api, str], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _, url = api
    rc = main([str(_jsonl(tmp_path, ["a"])), "--api-url", url, "--api-key", "dgr_wrong"])
    out, err = capsys.readouterr()
    assert rc == 2 and "refused the key (401)" in err and "stopped early" in out


def test_oversized_batches_are_split(api: tuple[_Api, str], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    state, url = api
    state.max_posts = 2
    rc = main([str(_jsonl(tmp_path, list("abcdef"))), "--api-url", url, "--api-key", "dgr_test"])
    assert rc == 0
    assert "6 accepted, 0 rejected" in capsys.readouterr().out
    assert [len(r["posts"]) for r in state.requests] == [6, 3, 1, 2, 3, 1, 2]


def test_the_environment_supplies_url_and_key(api: tuple[_Api, str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    state, url = api
    monkeypatch.setenv("DENGAR_API_URL", url)
    monkeypatch.setenv("DENGAR_API_KEY", "dgr_test")
    assert main([str(_jsonl(tmp_path, ["a"])), "--no-progress"]) == 0
    assert len(state.requests) == 1


# ------------------------------------------------------------------------- HTTP: retry details

def _uploader(responses: list[httpx.Response | Exception], sleeps: list[float]) -> Uploader:
    def handler(request: httpx.Request) -> httpx.Response:
        item = responses.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    client = httpx.Client(base_url="http://api.test", transport=httpx.MockTransport(handler))
    return Uploader(client, sleep=sleeps.append, max_attempts=4)


ACCEPTED = httpx.Response(202, json={"accepted": 1, "rejected": 0, "errors": [], "ids": ["x"]})


def test_retry_after_is_honoured_and_transport_errors_back_off() -> None:
    sleeps: list[float] = []
    up = _uploader([httpx.Response(503, headers={"Retry-After": "7"}), httpx.ConnectError("refused"),
                    httpx.Response(409, json={"type": "https://dengar.dev/problems/idempotency-request-in-flight"},
                                   headers={"Retry-After": "1"}), ACCEPTED], sleeps)
    result = up.send([{"text": "a"}], [2])
    assert result.accepted == 1
    assert len(sleeps) == 3
    assert 7 <= sleeps[0] <= 7.7 and 0.5 <= sleeps[1] <= 1.1 and 1 <= sleeps[2] <= 1.1


def test_http_date_retry_after_and_giving_up() -> None:
    sleeps: list[float] = []
    later = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    up = _uploader([later, httpx.Response(503), httpx.Response(503), httpx.Response(503)], sleeps)
    with pytest.raises(FatalError, match="giving up after 4 attempts"):
        up.send([{"text": "a"}], [2])
    assert sleeps[0] < 0.1  # a date in the past means "now"
    assert len(sleeps) == 3


def test_malformed_batch_counts_its_rows_as_rejected() -> None:
    up = _uploader([httpx.Response(422, json={"detail": "posts: must contain at least one post"})], [])
    result = up.send([{"text": "a"}, {"text": "b"}], [4, 5])
    assert (result.accepted, result.rejected) == (0, 2)
    assert [e.line for e in result.errors] == [4, 5]
