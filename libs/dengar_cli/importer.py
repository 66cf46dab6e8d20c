"""``dengar import FILE``: stream your own posts (CSV or JSONL) into a tenant through the REST API.

The file is read row by row and sent in batches (``POST /v1/posts``), so memory stays constant however
large the export is. Each row becomes one post through a column mapping; rows that cannot be turned into
a post (no text, unparseable date, unknown platform) are reported with their line number and skipped,
and so are the ones the API rejects. Every batch carries an ``Idempotency-Key`` derived from its
content, so a batch retried after a timeout, a 429 or a 503 is never stored twice.

Exit status: 0 when every row was accepted, 1 when some rows were rejected, 2 when the import could not
run (bad arguments, unreadable file, refused API key, API unreachable).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from tqdm import tqdm

from dengar_common.enums import platform_from_name, platform_name

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "http://127.0.0.1:8080"
BATCH_SIZE = 500
# The gateway refuses bodies over 5 MB; stay well below with JSON overhead.
MAX_BATCH_BYTES = 4_000_000
MAX_EXTERNAL_ID_CHARS = 256
MAX_TEXT_CHARS = 40_000
MAX_ATTEMPTS = 8
MAX_RETRY_AFTER_S = 120.0
SHOWN_ERRORS = 50

_STRING_FIELDS = ("text", "title", "url", "lang", "country", "in_reply_to", "quote_of", "repost_of")
_AUTHOR_FIELDS = ("id", "handle", "display_name", "followers", "verified", "location")
_ENGAGEMENT_FIELDS = ("likes", "reposts", "replies", "quotes", "views")

# Where each field of a post is looked for when --map does not say. Dotted sources are columns with
# that literal name (CSV) or paths into nested objects (JSONL). The whole-object sources ("author",
# "engagement", "metadata") let a file already in the REST shape import as it is.
DEFAULT_SOURCES: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in _STRING_FIELDS},
    "created_at": ("created_at",),
    "platform": ("platform",),
    "external_id": ("external_id",),
    "author": ("author",),
    "engagement": ("engagement",),
    "metadata": ("metadata",),
    **{f"author.{name}": (f"author.{name}",) for name in _AUTHOR_FIELDS},
    "author.followers": ("author.followers", "followers"),
    **{f"engagement.{name}": (f"engagement.{name}", name) for name in _ENGAGEMENT_FIELDS},
}
TARGETS = tuple(DEFAULT_SOURCES)

# Formats tried for timestamps without a zone, after ISO 8601 / RFC 3339.
_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%d/%m/%Y %H:%M:%S",
                  "%d/%m/%Y %H:%M", "%Y-%m-%d")
# Epoch values above this are milliseconds: as seconds they would lie past the year 5000.
_EPOCH_MS_THRESHOLD = 100_000_000_000
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}
_RETRYABLE = {429, 502, 503, 504}


class UsageError(Exception):
    """Bad arguments or an unusable file: reported and exit status 2."""


class FatalError(Exception):
    """The API refused us for good (bad key, unreachable after retries): exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # What had been done when it happened, filled in by run_import.
        self.summary: Summary | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class RowInvalid(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


# --------------------------------------------------------------------------------------- mapping

def parse_mapping(specs: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Sources per target from ``--map`` specs (``text=body,created_at=date``); the rest use defaults.

    ``target=`` (empty source) turns a default off, e.g. ``url=`` when a ``url`` column is not the post's.
    """
    sources = dict(DEFAULT_SOURCES)
    for spec in specs:
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            target, sep, source = part.partition("=")
            target, source = target.strip(), source.strip()
            if not sep:
                raise UsageError(f"--map expects target=source pairs, got {part!r}")
            if target.startswith("metadata.") and len(target) > len("metadata."):
                sources[target] = (source,) if source else ()
                continue
            if target not in DEFAULT_SOURCES:
                raise UsageError(f"unknown --map target {target!r}; expected one of {', '.join(TARGETS)} "
                                 "or metadata.<key>")
            sources[target] = (source,) if source else ()
    return sources


def _lookup(row: Mapping[str, Any], source: str) -> Any:
    if source in row:
        return row[source]
    if "." in source:
        node: Any = row
        for part in source.split("."):
            # dict, not Mapping: this runs ~25 times per row and ABC checks are slow.
            if type(node) is not dict or part not in node:
                return None
            node = node[part]
        return node
    return None


def _first(row: Mapping[str, Any], sources: Sequence[str]) -> Any:
    for source in sources:
        value = _lookup(row, source)
        if value is not None and value != "":
            return value
    return None


# ------------------------------------------------------------------------------------- timestamps

def parse_timestamp(value: Any, *, tz: tzinfo = UTC, time_format: str | None = None) -> tuple[datetime, bool]:
    """A timezone-aware datetime, and whether ``tz`` had to be assumed (the value had no zone).

    Accepts RFC 3339 / ISO 8601 (``Z`` or an offset), epoch seconds (or milliseconds, recognised by
    size), ``time_format`` when given, and a few common zone-less layouts, read in ``tz``.
    """
    if isinstance(value, bool):
        raise ValueError("not a timestamp")
    if isinstance(value, int | float):
        return _from_epoch(float(value)), False
    text = str(value).strip()
    if not text:
        raise ValueError("empty timestamp")
    parsed: datetime | None = None
    if time_format:
        try:
            parsed = datetime.strptime(text, time_format)
        except ValueError:
            raise ValueError(f"{text!r} does not match --time-format {time_format!r}") from None
    else:
        try:
            return _from_epoch(float(text)), False
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            for fmt in _NAIVE_FORMATS:
                try:
                    parsed = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
    if parsed is None:
        raise ValueError(f"unrecognised timestamp {text!r}; use RFC 3339, epoch seconds or --time-format")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=tz), True
    return parsed, False


def _from_epoch(seconds: float) -> datetime:
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError("not a timestamp")
    if abs(seconds) >= _EPOCH_MS_THRESHOLD:
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"epoch value {seconds!r} out of range") from None


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ----------------------------------------------------------------------------------------- rows

def _as_int(value: Any, field_name: str, line: int, errors: list[RowError]) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        errors.append(RowError(line, field_name, "must be a whole number"))
        return None
    try:
        if isinstance(value, int):
            number = value
        elif isinstance(value, float):
            number = int(value)
        else:
            # Exports write thousands with separators ("1,234", "1_234").
            number = int(float(str(value).strip().replace(",", "").replace("_", "")))
    except (ValueError, OverflowError):
        errors.append(RowError(line, field_name, f"not a number: {value!r}"))
        return None
    if number < 0:
        errors.append(RowError(line, field_name, "must not be negative"))
        return None
    return number


def _as_bool(value: Any, field_name: str, line: int, errors: list[RowError]) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    errors.append(RowError(line, field_name, f"not a boolean: {value!r}"))
    return None


def _as_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        # JSON ids read as floats would otherwise become "123.0".
        return str(int(value))
    return str(value)


def row_hash(row: Mapping[str, Any]) -> str:
    """A stable id for a row without one: the same row content always gives the same id."""
    canonical = json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return "row-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class RowOptions:
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_SOURCES))
    default_platform: str | None = None
    tz: tzinfo = UTC
    time_format: str | None = None


def row_to_post(row: Mapping[str, Any], line: int, options: RowOptions) -> tuple[dict[str, Any], bool]:
    """The REST item for one row, and whether its timestamp had no zone. Raises ``RowInvalid``."""
    src = options.sources
    errors: list[RowError] = []
    post: dict[str, Any] = {}

    for name in _STRING_FIELDS:
        value = _as_str(_first(row, src[name]))
        if value:
            post[name] = value
    text, title = post.get("text", ""), post.get("title", "")
    post["text"] = text
    if not text.strip() and not title.strip():
        errors.append(RowError(line, "text", "empty text (and no title)"))
    elif len(text) > MAX_TEXT_CHARS:
        errors.append(RowError(line, "text", f"longer than {MAX_TEXT_CHARS} characters"))
    if post.get("lang", "").lower() == "in":
        # Twitter exports still use the withdrawn ISO code "in" for Indonesian.
        post["lang"] = "id"

    platform = _as_str(_first(row, src["platform"])) or (options.default_platform or "")
    if not platform:
        errors.append(RowError(line, "platform", "no platform column and no --platform default"))
    else:
        try:
            post["platform"] = platform_name(platform_from_name(platform))
        except ValueError as exc:
            errors.append(RowError(line, "platform", str(exc)))

    external_id = _as_str(_first(row, src["external_id"])).strip()
    if not external_id:
        external_id = row_hash(row)
    elif len(external_id) > MAX_EXTERNAL_ID_CHARS:
        errors.append(RowError(line, "external_id", f"longer than {MAX_EXTERNAL_ID_CHARS} characters"))
    post["external_id"] = external_id

    naive = False
    raw_time = _first(row, src["created_at"])
    if raw_time is None:
        errors.append(RowError(line, "created_at", "missing"))
    else:
        try:
            created, naive = parse_timestamp(raw_time, tz=options.tz, time_format=options.time_format)
            post["created_at"] = _rfc3339(created)
        except ValueError as exc:
            errors.append(RowError(line, "created_at", str(exc)))

    author = _author(row, src, line, errors)
    if author:
        post["author"] = author
    engagement = _engagement(row, src, line, errors)
    if engagement:
        post["engagement"] = engagement
    metadata = _metadata(row, src)
    if metadata:
        post["metadata"] = metadata

    if errors:
        raise RowInvalid(errors)
    return post, naive


def _author(row: Mapping[str, Any], src: Mapping[str, tuple[str, ...]], line: int,
            errors: list[RowError]) -> dict[str, Any]:
    author: dict[str, Any] = {}
    whole = _first(row, src["author"])
    if isinstance(whole, dict):
        author.update({k: whole[k] for k in _AUTHOR_FIELDS if whole.get(k) not in (None, "")})
    elif whole is not None:
        # A plain "author" column is the handle, as most exports have it.
        author["handle"] = _as_str(whole)
    for name in _AUTHOR_FIELDS:
        value = _first(row, src[f"author.{name}"])
        if value is not None:
            author[name] = value
    for name in ("id", "handle", "display_name", "location"):
        if name in author:
            author[name] = _as_str(author[name])
    if "followers" in author:
        followers = _as_int(author["followers"], "author.followers", line, errors)
        if followers is None:
            del author["followers"]
        else:
            author["followers"] = followers
    if "verified" in author:
        verified = _as_bool(author["verified"], "author.verified", line, errors)
        if verified is None:
            del author["verified"]
        else:
            author["verified"] = verified
    return author


def _engagement(row: Mapping[str, Any], src: Mapping[str, tuple[str, ...]], line: int,
                errors: list[RowError]) -> dict[str, int]:
    raw: dict[str, Any] = {}
    whole = _first(row, src["engagement"])
    if isinstance(whole, dict):
        raw.update({k: whole[k] for k in _ENGAGEMENT_FIELDS if k in whole})
    for name in _ENGAGEMENT_FIELDS:
        value = _first(row, src[f"engagement.{name}"])
        if value is not None:
            raw[name] = value
    out: dict[str, int] = {}
    for name, value in raw.items():
        number = _as_int(value, f"engagement.{name}", line, errors)
        if number is not None:
            out[name] = number
    return out


def _metadata(row: Mapping[str, Any], src: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    whole = _first(row, src["metadata"])
    if isinstance(whole, dict):
        out.update({str(k): _as_str(v) for k, v in whole.items() if v is not None})
    for target, sources in src.items():
        if target.startswith("metadata."):
            value = _first(row, sources)
            if value is not None:
                out[target[len("metadata."):]] = _as_str(value)
    return out


# -------------------------------------------------------------------------------------- reading

def detect_format(path: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise UsageError(f"cannot tell the format of {path!r} from its extension; pass --format csv|jsonl")


RowOrError = tuple[int, Mapping[str, Any] | RowError]


def iter_rows(stream: IO[str], fmt: str, *, delimiter: str | None = None) -> Iterator[RowOrError]:
    """(line number, row) for each record; a record that cannot be parsed comes as a RowError."""
    if fmt == "csv":
        yield from _iter_csv(stream, delimiter or ",")
    else:
        yield from _iter_jsonl(stream)


def _iter_csv(stream: IO[str], delimiter: str) -> Iterator[RowOrError]:
    reader = csv.DictReader(stream, delimiter=delimiter)
    if reader.fieldnames is None:
        return
    for row in reader:
        # line_num is where the record ends; quoted fields may span lines (and blank lines are
        # skipped), so count back over the line breaks inside the values to where it starts.
        breaks = sum(_line_breaks(v) for v in row.values() if isinstance(v, str))
        start = reader.line_num - breaks
        if None in row:
            yield start, RowError(start, "", f"{len(row[None])} more fields than the header has")  # type: ignore[index]
            continue
        yield start, {k: v for k, v in row.items() if k is not None}


def _line_breaks(value: str) -> int:
    return value.count("\n") + value.count("\r") - value.count("\r\n")


def _iter_jsonl(stream: IO[str]) -> Iterator[RowOrError]:
    for line_no, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_no, RowError(line_no, "", f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(value, dict):
            yield line_no, RowError(line_no, "", "each line must be a JSON object")
            continue
        yield line_no, value


# -------------------------------------------------------------------------------------- sending

@dataclass
class BatchResult:
    accepted: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(MAX_RETRY_AFTER_S, max(0.0, (when - datetime.now(UTC)).total_seconds()))


def _problem_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:300]
    return str(body)[:300]


class Uploader:
    """Sends batches to ``POST /v1/posts`` with retries that are safe thanks to Idempotency-Key."""

    def __init__(self, client: httpx.Client, *, sleep: Callable[[float], None] = time.sleep,
                 max_attempts: int = MAX_ATTEMPTS) -> None:
        self._client = client
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._rng = random.Random()

    def send(self, posts: list[dict[str, Any]], lines: list[int]) -> BatchResult:
        body = json.dumps({"posts": posts}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        # Derived from the content: a retry (or a re-run of the same import) replays, never duplicates.
        key = "import-" + hashlib.sha256(body).hexdigest()[:40]
        response = self._post(body, key)
        if response.status_code == 413 and len(posts) > 1:
            # Too large for the gateway after all: halve until it fits.
            half = len(posts) // 2
            first, second = self.send(posts[:half], lines[:half]), self.send(posts[half:], lines[half:])
            return BatchResult(first.accepted + second.accepted, first.rejected + second.rejected,
                               first.errors + second.errors)
        if response.status_code in (401, 403):
            raise FatalError(f"the API refused the key ({response.status_code}): {_problem_detail(response)}")
        if response.status_code in (400, 413, 422):
            # The request as a whole was refused; count every row of it as rejected and go on.
            detail = _problem_detail(response)
            return BatchResult(0, len(posts), [RowError(line, "", f"batch refused "
                                                        f"({response.status_code}): {detail}")
                                               for line in lines])
        if not response.is_success:
            raise FatalError(f"POST /v1/posts failed with {response.status_code}: "
                             f"{_problem_detail(response)}")
        payload = response.json()
        errors = []
        for err in payload.get("errors", []):
            index = int(err.get("index", -1))
            line = lines[index] if 0 <= index < len(lines) else 0
            errors.append(RowError(line, str(err.get("field", "")), str(err.get("message", ""))))
        return BatchResult(int(payload.get("accepted", 0)), int(payload.get("rejected", 0)), errors)

    def _post(self, body: bytes, key: str) -> httpx.Response:
        delay = 0.5
        last = ""
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = self._client.post("/v1/posts", content=body, headers={
                    "Content-Type": "application/json", "Idempotency-Key": key})
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                wait = delay
            else:
                in_flight = response.status_code == 409 and "in-flight" in response.text
                if response.status_code not in _RETRYABLE and not in_flight:
                    return response
                last = f"{response.status_code}: {_problem_detail(response)}"
                hinted = _retry_after(response)
                wait = hinted if hinted is not None else delay
            if attempt == self._max_attempts:
                break
            logger.info("POST /v1/posts attempt %d failed (%s); retrying in %.1fs", attempt, last, wait)
            # Jitter, so that parallel importers do not retry in lockstep.
            self._sleep(wait + self._rng.uniform(0, 0.1 * wait))
            delay = min(30.0, delay * 2)
        raise FatalError(f"giving up after {self._max_attempts} attempts: {last}")


# ------------------------------------------------------------------------------------------- run

@dataclass
class Summary:
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: int = 0
    naive_timestamps: int = 0

    def line(self, *, dry_run: bool = False) -> str:
        if dry_run:
            return (f"dry run, nothing sent: read {self.read:,} rows: {self.accepted:,} would be sent, "
                    f"{self.rejected:,} rejected ({self.errors:,} errors)")
        return (f"read {self.read:,} rows: {self.accepted:,} accepted, {self.rejected:,} rejected "
                f"({self.errors:,} errors)")


@dataclass
class ImportOptions:
    path: str
    fmt: str
    row: RowOptions
    batch_size: int = BATCH_SIZE
    encoding: str = "utf-8-sig"
    delimiter: str | None = None
    dry_run: bool = False
    shown_errors: int = SHOWN_ERRORS
    errors_path: str | None = None
    progress: bool = False


class _ErrorSink:
    """Shows the first errors on stderr and streams all of them to --errors, without keeping them."""

    def __init__(self, err: IO[str], shown: int, path: str | None) -> None:
        self._err = err
        self._shown = shown
        self._file: IO[str] | None = open(path, "w", encoding="utf-8", newline="") if path else None
        self._writer = csv.writer(self._file) if self._file else None
        if self._writer:
            self._writer.writerow(["line", "field", "message"])
        self.count = 0

    def add(self, error: RowError, write: Callable[[str], None]) -> None:
        self.count += 1
        if self.count <= self._shown:
            write(f"{error}\n")
        elif self.count == self._shown + 1:
            write("(further errors are counted but not shown; use --errors FILE to keep them all)\n")
        if self._writer:
            self._writer.writerow([error.line, error.field, error.message])

    def close(self) -> None:
        if self._file:
            self._file.close()


def run_import(options: ImportOptions, uploader: Uploader | None, *, err: IO[str] = sys.stderr) -> Summary:
    """Read, convert, batch and send; returns the counts. ``uploader`` may be None for a dry run."""
    summary = Summary()
    sink = _ErrorSink(err, options.shown_errors, options.errors_path)
    try:
        raw: IO[bytes] = sys.stdin.buffer if options.path == "-" else open(options.path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read {options.path}: {exc.strerror or exc}") from None
    size = os.fstat(raw.fileno()).st_size if options.path != "-" else 0
    # Strict decoding: a wrong --encoding should stop the import, not quietly mangle every post.
    stream = io.TextIOWrapper(raw, encoding=options.encoding, newline="")
    bar = tqdm(total=size or None, unit="B", unit_scale=True, desc="import", file=err,
               disable=not options.progress, leave=False)
    # The bar's lines and our error lines share stderr; tqdm.write keeps them apart.
    write = bar.write if options.progress else err.write
    batch: list[dict[str, Any]] = []
    lines: list[int] = []
    batch_bytes = 0
    position = 0

    def flush() -> None:
        nonlocal batch, lines, batch_bytes, position
        if not batch:
            return
        if uploader is None:
            summary.accepted += len(batch)
        else:
            result = uploader.send(batch, lines)
            summary.accepted += result.accepted
            summary.rejected += result.rejected
            for error in result.errors:
                sink.add(error, write)
        batch, lines, batch_bytes = [], [], 0
        if size:
            now_at = raw.tell()
            bar.update(now_at - position)
            position = now_at
        bar.set_postfix(accepted=summary.accepted, rejected=summary.rejected, refresh=False)

    try:
        for line, row in iter_rows(stream, options.fmt, delimiter=options.delimiter):
            summary.read += 1
            if isinstance(row, RowError):
                summary.rejected += 1
                sink.add(row, write)
                continue
            try:
                post, naive = row_to_post(row, line, options.row)
            except RowInvalid as exc:
                summary.rejected += 1
                for error in exc.errors:
                    sink.add(error, write)
                continue
            summary.naive_timestamps += naive
            size_estimate = len(json.dumps(post, ensure_ascii=False)) + 1
            if batch and batch_bytes + size_estimate > MAX_BATCH_BYTES:
                flush()
            batch.append(post)
            lines.append(line)
            batch_bytes += size_estimate
            if len(batch) >= options.batch_size:
                flush()
        flush()
    except UnicodeDecodeError as exc:
        raise UsageError(f"{options.path} is not {options.encoding} ({exc.reason} after row "
                         f"{summary.read}); pass --encoding, e.g. --encoding cp1252") from None
    except csv.Error as exc:
        raise UsageError(f"{options.path}: CSV error after row {summary.read}: {exc}") from None
    except FatalError as exc:
        summary.errors = sink.count
        exc.summary = summary
        raise
    finally:
        bar.close()
        sink.close()
        if options.path == "-":
            stream.detach()  # leave the process's stdin open
        else:
            stream.close()
    summary.errors = sink.count
    return summary


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dengar import",
        description="Load posts from a CSV or JSONL/NDJSON file into your tenant through the REST API.",
        epilog=("mapping targets: " + ", ".join(TARGETS) + ", metadata.<key>. Defaults read the column "
                "of the same name; 'author' may be a handle or an object, 'likes'..'views' and "
                "'followers' columns are picked up too. Rows without external_id get a stable hash "
                "of their content, so re-importing the same file does not duplicate posts."),
    )
    parser.add_argument("file", help="CSV, JSONL or NDJSON file ('-' for stdin, with --format)")
    parser.add_argument("--format", choices=("csv", "jsonl"), help="default: from the file extension")
    parser.add_argument("--api-url", default=os.environ.get("DENGAR_API_URL", DEFAULT_API_URL),
                        help="gateway URL (env DENGAR_API_URL; default %(default)s)")
    parser.add_argument("--api-key", default=os.environ.get("DENGAR_API_KEY"),
                        help="API key with the ingest scope (env DENGAR_API_KEY)")
    parser.add_argument("--map", action="append", default=[], metavar="TARGET=SOURCE[,...]",
                        help="column mapping, e.g. text=body,created_at=date,author.handle=user")
    parser.add_argument("--platform", help="platform for rows without one (x, reddit, news, ...)")
    parser.add_argument("--tz", default=None,
                        help="time zone for timestamps without one, e.g. Asia/Jakarta (default UTC)")
    parser.add_argument("--time-format", help="strptime format of created_at, e.g. '%%d/%%m/%%Y %%H:%%M'")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="posts per request (max 1000)")
    parser.add_argument("--encoding", default="utf-8-sig", help="file encoding (default UTF-8, BOM allowed)")
    parser.add_argument("--delimiter", help="CSV delimiter (default ',' or tab for .tsv)")
    parser.add_argument("--errors", dest="errors_path", metavar="FILE",
                        help="write every rejected row's errors to this CSV file")
    parser.add_argument("--dry-run", action="store_true", help="read and check the file, send nothing")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per HTTP request")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    ns = parser.parse_args(argv)
    out, err = sys.stdout, sys.stderr
    try:
        fmt = detect_format(ns.file, ns.format)
        if ns.file == "-" and not ns.format:
            raise UsageError("reading stdin needs --format csv|jsonl")
        if not 1 <= ns.batch_size <= 1000:
            raise UsageError("--batch-size must be between 1 and 1000")
        try:
            tz: tzinfo = ZoneInfo(ns.tz) if ns.tz else UTC
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"unknown time zone {ns.tz!r}; use an IANA name such as Asia/Jakarta") from None
        default_platform = None
        if ns.platform:
            try:
                default_platform = platform_name(platform_from_name(ns.platform))
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        delimiter = ns.delimiter or ("\t" if ns.file.lower().endswith(".tsv") else None)
        options = ImportOptions(
            path=ns.file, fmt=fmt, batch_size=ns.batch_size, encoding=ns.encoding, delimiter=delimiter,
            dry_run=ns.dry_run, errors_path=ns.errors_path,
            progress=not ns.no_progress and err.isatty(),
            row=RowOptions(sources=parse_mapping(ns.map), default_platform=default_platform, tz=tz,
                           time_format=ns.time_format),
        )
        if ns.dry_run:
            summary = run_import(options, None, err=err)
        else:
            if not ns.api_key:
                raise UsageError("no API key: pass --api-key or set DENGAR_API_KEY")
            base = ns.api_url.rstrip("/").removesuffix("/v1")
            with httpx.Client(base_url=base, timeout=ns.timeout,
                              headers={"Authorization": f"Bearer {ns.api_key}",
                                       "User-Agent": "dengar-import"}) as client:
                summary = run_import(options, Uploader(client), err=err)
    except UsageError as exc:
        err.write(f"dengar import: {exc}\n")
        return 2
    except FatalError as exc:
        err.write(f"dengar import: {exc}\n")
        if exc.summary is not None:
            # Re-running the same file is safe: rows already stored are replayed, not duplicated.
            out.write("stopped early: " + exc.summary.line() + "\n")
        return 2
    if summary.naive_timestamps and not ns.tz:
        err.write(f"note: {summary.naive_timestamps:,} timestamps had no time zone and were read as UTC; "
                  "pass --tz (e.g. Asia/Jakarta) if they are local times\n")
    out.write(summary.line(dry_run=ns.dry_run) + "\n")
    out.flush()
    return 0 if summary.rejected == 0 else 1
