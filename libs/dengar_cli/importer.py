"""``dengar import FILE``: stream your own posts (CSV, JSON or NDJSON) into a tenant through the REST
API.

The file is read record by record (``dengar_common.imports``, the parser the server-side imports use
too) and sent in batches (``POST /v1/posts``), so memory stays constant however large the export is.
Each row becomes one post through a column mapping; rows that cannot be turned into a post (no text,
unparseable date, unknown platform, anything ``POST /v1/posts`` would refuse) are reported with their
line number and skipped, and so are the ones the API rejects. Every batch carries an
``Idempotency-Key`` derived from its content, so a batch retried after a timeout, a 429 or a 503 is
never stored twice.

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
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import IO, Any

import httpx
from tqdm import tqdm

from dengar_common import imports
from dengar_common.imports import (
    DEFAULT_SOURCES,
    TARGETS,
    FatalImportError,
    ImportSpecError,
    RowError,
    RowInvalid,
    RowOptions,
    iter_records,
    parse_timestamp,
    row_hash,
    row_to_post,
    validate_post,
)
from dengar_common.localstate import PlatformNotRunning, require_running

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_SOURCES", "TARGETS", "FatalError", "RowError", "RowInvalid", "RowOptions", "Uploader",
           "UsageError", "detect_format", "iter_rows", "main", "parse_mapping", "parse_timestamp",
           "row_hash", "row_to_post"]

BATCH_SIZE = 500
# The gateway refuses bodies over 5 MB; stay well below with JSON overhead.
MAX_BATCH_BYTES = 4_000_000
MAX_ATTEMPTS = 8
MAX_RETRY_AFTER_S = 120.0
SHOWN_ERRORS = 50
_RETRYABLE = {429, 502, 503, 504}


class UsageError(Exception):
    """Bad arguments or an unusable file: reported and exit status 2."""


class FatalError(Exception):
    """The API refused us for good (bad key, unreachable after retries): exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # What had been done when it happened, filled in by run_import.
        self.summary: Summary | None = None


# ---------------------------------------------------------------- the shared parser, CLI flavoured

def parse_mapping(specs: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """``--map`` specs (``text=body,created_at=date``) as sources per target; see imports.parse_mapping."""
    try:
        return imports.parse_mapping(specs)
    except ImportSpecError as exc:
        raise UsageError(f"--map: {exc}") from None


def detect_format(path: str, explicit: str | None) -> str:
    """csv, json or jsonl (this command's name for NDJSON) from ``--format`` or the extension."""
    try:
        fmt = imports.detect_format(path, explicit)
    except ImportSpecError as exc:
        raise UsageError(f"{exc} (--format csv|json|jsonl)") from None
    return "jsonl" if fmt == "ndjson" else fmt


RowOrError = tuple[int, Mapping[str, Any] | RowError]


class _EncodedText(io.RawIOBase):
    """A text stream read back as UTF-8 bytes, a piece at a time (the parser reads bytes)."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = self._text.read(8192)
            if not chunk:
                return 0
            self._pending = chunk.encode("utf-8", "surrogateescape")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def iter_rows(stream: IO[str], fmt: str, *, delimiter: str | None = None) -> Iterator[RowOrError]:
    """(line number, row) for each record of a text stream; unparseable records come as RowError."""
    raw = io.BufferedReader(_EncodedText(stream))
    for record in iter_records(raw, fmt, delimiter=delimiter or ","):
        yield record.line, record.row if record.error is None else record.error  # type: ignore[misc]  # a union of two yield types the generator's annotation spells out


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

    def add(self, error: RowError, write: Callable[[str], object]) -> None:
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
    bar = tqdm(total=size or None, unit="B", unit_scale=True, desc="import", file=err,
               disable=not options.progress, leave=False)
    # The bar's lines and our error lines share stderr; tqdm.write keeps them apart.
    write = bar.write if options.progress else err.write
    batch: list[dict[str, Any]] = []
    lines: list[int] = []
    batch_bytes = 0
    position = 0
    now_at = 0

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
        bar.update(now_at - position)
        position = now_at
        bar.set_postfix(accepted=summary.accepted, rejected=summary.rejected, refresh=False)

    try:
        # Strict decoding: a wrong --encoding should stop the import, not quietly mangle every post.
        records = iter_records(raw, options.fmt, delimiter=options.delimiter or ",",
                               encoding=options.encoding, strict_encoding=True)
        for record in records:
            summary.read += 1
            now_at = record.end.offset
            if record.error is not None:
                summary.rejected += 1
                sink.add(record.error, write)
                continue
            assert record.row is not None
            try:
                post, naive = row_to_post(record.row, record.line, options.row)
                # The API's own validation, so a dry run rejects what the API would reject.
                validate_post(post, record.line)
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
            lines.append(record.line)
            batch_bytes += size_estimate
            if len(batch) >= options.batch_size:
                flush()
        flush()
    except UnicodeDecodeError as exc:
        raise UsageError(f"{options.path} is not {options.encoding} ({exc.reason} after row "
                         f"{summary.read}); pass --encoding, e.g. --encoding cp1252") from None
    except ImportSpecError as exc:
        raise UsageError(str(exc)) from None
    except FatalImportError as exc:
        raise UsageError(f"{options.path}: {exc} (after row {summary.read})") from None
    except FatalError as exc:
        summary.errors = sink.count
        exc.summary = summary
        raise
    finally:
        bar.close()
        sink.close()
        if options.path != "-":
            raw.close()
    summary.errors = sink.count
    return summary


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dengar import",
        description="Load posts from a CSV, JSON (an array of posts) or NDJSON/JSONL file into your tenant "
                    "through the REST API.",
        epilog=("mapping targets: " + ", ".join(TARGETS) + ", metadata.<key>. Defaults read the column "
                "of the same name; 'author' may be a handle or an object, 'likes'..'views' and "
                "'followers' columns are picked up too. Rows without external_id get a stable hash "
                "of their content, so re-importing the same file does not duplicate posts."),
    )
    parser.add_argument("file", help="CSV, JSON, JSONL or NDJSON file ('-' for stdin, with --format)")
    parser.add_argument("--format", choices=("csv", "json", "jsonl", "ndjson"),
                        help="default: from the file extension")
    parser.add_argument("--api-url", default=os.environ.get("DENGAR_API_URL"),
                        help="gateway URL (env DENGAR_API_URL; default: the local platform of `make run`)")
    parser.add_argument("--home", default=None,
                        help="state directory of the local platform started by `make run` "
                             "(env DENGAR_HOME, default ./.dengar); used unless --api-url is given")
    parser.add_argument("--api-key", default=os.environ.get("DENGAR_API_KEY"),
                        help="API key with the ingest scope (env DENGAR_API_KEY)")
    parser.add_argument("--map", action="append", default=[], metavar="TARGET=SOURCE[,...]",
                        help="column mapping, e.g. text=body,created_at=date,author.handle=user")
    parser.add_argument("--platform", help="platform for rows without one (x, reddit, news, ...)")
    parser.add_argument("--tz", default=None,
                        help="time zone for timestamps without one, e.g. Asia/Jakarta (default UTC)")
    parser.add_argument("--time-format", help="epoch_s, epoch_ms or a strptime format of created_at, e.g. "
                                              "'%%d/%%m/%%Y %%H:%%M' (default: ISO 8601, epochs and "
                                              "common layouts)")
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
            raise UsageError("reading stdin needs --format csv|json|jsonl")
        if not 1 <= ns.batch_size <= 1000:
            raise UsageError("--batch-size must be between 1 and 1000")
        try:
            row = imports.row_options(mapping=ns.map, timestamp_format=ns.time_format, timezone=ns.tz,
                                      default_platform=ns.platform)
        except ImportSpecError as exc:
            raise UsageError(str(exc)) from None
        delimiter = ns.delimiter or ("\t" if ns.file.lower().endswith(".tsv") else None)
        options = ImportOptions(
            path=ns.file, fmt=fmt, batch_size=ns.batch_size, encoding=ns.encoding, delimiter=delimiter,
            dry_run=ns.dry_run, errors_path=ns.errors_path,
            progress=not ns.no_progress and err.isatty(),
            row=row,
        )
        if ns.dry_run:
            summary = run_import(options, None, err=err)
        else:
            if not ns.api_key:
                raise UsageError("no API key: pass --api-key or set DENGAR_API_KEY")
            try:
                api_url = ns.api_url or require_running(ns.home, setting="DENGAR_API_URL").api_url
            except PlatformNotRunning as exc:
                raise UsageError(str(exc)) from None
            base = api_url.rstrip("/").removesuffix("/v1")
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
