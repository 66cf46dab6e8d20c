"""Reading posts out of exported files (CSV, JSON, NDJSON): shared by ``dengar import`` and the
collector's ImportService, so that a file imports the same way through either.

Everything streams in constant memory: files are read as bytes, record by record, and every record
carries the byte offset and line where it ends (:class:`Position`), which is what progress bars show
and what an interrupted server-side import resumes from. A record that cannot be turned into a post
becomes a :class:`RowError` with its 1-based line; only problems that make the rest of the file
unreadable (a JSON array that stops being JSON, a CSV quoting error) raise :class:`FatalImportError`.

Each row goes through a column mapping (:func:`parse_mapping`), timestamp parsing in a time zone
(:func:`parse_timestamp`) and then the public REST post validation (``postjson.validate_items``, which
applies ``post_contract``), so that an imported row is rejected for exactly the reasons
``POST /v1/posts`` would reject it. Rows
without an external id get a hash of their content (:func:`row_hash`): importing the same file twice
yields the same posts, which the pipeline stores once.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import PurePath
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dengar_common.enums import platform_from_name, platform_name
from dengar_common.post_contract import PostAuthor, PostEngagement, PostFields, post_problems
from dengar_common.postjson import PostIn, validate_items

FORMATS = ("csv", "json", "ndjson")
_FORMAT_ALIASES = {"jsonl": "ndjson", "tsv": "csv"}
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "ndjson", ".ndjson": "ndjson"}

# One record (a CSV record, an NDJSON line, a JSON array element) may not be larger than this: a
# bigger one is a broken file, and holding it would break the constant-memory promise.
MAX_RECORD_BYTES = 8 * 1024 * 1024
JSON_CHUNK_CHARS = 64 * 1024

TIMESTAMP_FORMATS = ("iso8601", "epoch_s", "epoch_ms")

_STRING_FIELDS = ("text", "title", "url", "lang", "country", "in_reply_to", "quote_of", "repost_of")
_AUTHOR_FIELDS = ("id", "handle", "display_name", "followers", "verified", "location")
_ENGAGEMENT_FIELDS = ("likes", "reposts", "replies", "quotes", "views")

# Where each field of a post is looked for when the mapping does not say. Dotted sources are columns
# with that literal name (CSV) or paths into nested objects (JSON). The whole-object sources ("author",
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

# Layouts tried for timestamps without a zone, after ISO 8601 / RFC 3339.
_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%d/%m/%Y %H:%M:%S",
                  "%d/%m/%Y %H:%M", "%Y-%m-%d")
# Epoch values above this are milliseconds: as seconds they would lie past the year 5000.
_EPOCH_MS_THRESHOLD = 100_000_000_000
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}
_UTF8_BOM = codecs.BOM_UTF8


class ImportSpecError(ValueError):
    """The import cannot start: unknown format, time zone, timestamp format or mapping target."""


class FatalImportError(Exception):
    """The rest of the file cannot be read (not the declared format, a broken record)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True, slots=True)
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


# ----------------------------------------------------------------------------------------- spec

def normalise_format(name: str) -> str:
    fmt = name.strip().lower()
    fmt = _FORMAT_ALIASES.get(fmt, fmt)
    if fmt not in FORMATS:
        raise ImportSpecError(f"unknown format {name!r}; expected csv, json or ndjson")
    return fmt


def detect_format(filename: str, explicit: str | None = None) -> str:
    """``explicit`` (normalised) when given, else the format the file's extension names."""
    if explicit:
        return normalise_format(explicit)
    fmt = _EXTENSIONS.get(PurePath(filename).suffix.lower())
    if fmt is None:
        raise ImportSpecError(f"cannot tell the format of {filename!r} from its extension; "
                              "say csv, json or ndjson")
    return fmt


def resolve_timezone(name: str | None) -> tzinfo:
    if not name or name.strip().upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportSpecError(f"unknown time zone {name!r}; use an IANA name such as Asia/Jakarta") \
            from None


def check_timestamp_format(value: str | None) -> str | None:
    """The format as :func:`parse_timestamp` takes it: None for the default (ISO 8601 and friends)."""
    if not value or value.strip().lower() == "iso8601":
        return None
    if value.strip().lower() in TIMESTAMP_FORMATS:
        return value.strip().lower()
    if "%" not in value:
        raise ImportSpecError(f"unknown timestamp format {value!r}; use iso8601, epoch_s, epoch_ms "
                              "or a strptime pattern such as '%d/%m/%Y %H:%M'")
    return value


def check_delimiter(value: str | None) -> str:
    if not value:
        return ","
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    value = named.get(value.lower(), value)
    if len(value) != 1 or value in "\r\n\"":
        raise ImportSpecError(f"the CSV delimiter must be one character (or 'tab'), got {value!r}")
    return value


def parse_mapping(specs: Sequence[str] | Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Sources per post field from ``target=source`` specs (comma-separated pairs allowed) or a
    ``{target: source}`` mapping; fields not named keep their defaults.

    An empty source turns a default off, e.g. ``url=`` when a ``url`` column is not the post's.
    """
    pairs: list[tuple[str, str]] = []
    if isinstance(specs, Mapping):
        pairs = [(str(k), str(v)) for k, v in specs.items()]
    else:
        for spec in specs:
            for part in spec.split(","):
                part = part.strip()
                if not part:
                    continue
                target, sep, source = part.partition("=")
                if not sep:
                    raise ImportSpecError(f"a mapping is target=source pairs, got {part!r}")
                pairs.append((target, source))
    sources = dict(DEFAULT_SOURCES)
    for target, source in pairs:
        target, source = target.strip(), source.strip()
        if target.startswith("metadata.") and len(target) > len("metadata."):
            sources[target] = (source,) if source else ()
            continue
        if target not in DEFAULT_SOURCES:
            raise ImportSpecError(f"unknown mapping target {target!r}; expected one of "
                                  f"{', '.join(TARGETS)} or metadata.<key>")
        sources[target] = (source,) if source else ()
    return sources


@dataclass(frozen=True)
class RowOptions:
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_SOURCES))
    default_platform: str | None = None
    tz: tzinfo = UTC
    # None (ISO 8601, epochs and common layouts), "epoch_s", "epoch_ms" or a strptime pattern.
    time_format: str | None = None


def row_options(*, mapping: Sequence[str] | Mapping[str, str] = (), timestamp_format: str | None = None,
                timezone: str | None = None, default_platform: str | None = None) -> RowOptions:
    """Options from user input; raises ``ImportSpecError`` naming what is wrong."""
    platform = None
    if default_platform:
        try:
            platform = platform_name(platform_from_name(default_platform))
        except ValueError as exc:
            raise ImportSpecError(str(exc)) from None
    return RowOptions(sources=parse_mapping(mapping), default_platform=platform,
                      tz=resolve_timezone(timezone), time_format=check_timestamp_format(timestamp_format))


# ------------------------------------------------------------------------------------- timestamps

def parse_timestamp(value: Any, *, tz: tzinfo = UTC, time_format: str | None = None) -> tuple[datetime, bool]:
    """A timezone-aware datetime, and whether ``tz`` had to be assumed (the value had no zone).

    By default accepts RFC 3339 / ISO 8601 (``Z`` or an offset), epoch seconds (or milliseconds,
    recognised by size) and a few common zone-less layouts, read in ``tz``. ``time_format``
    "epoch_s"/"epoch_ms" takes only numbers in that unit; any other value is a strptime pattern.
    """
    if isinstance(value, bool):
        raise ValueError("not a timestamp")
    if time_format in ("epoch_s", "epoch_ms"):
        try:
            number = float(value) if isinstance(value, int | float) else float(str(value).strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a number of {time_format[6:]}") from None
        return _from_epoch(number / 1000.0 if time_format == "epoch_ms" else number, guess=False), False
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
            raise ValueError(f"{text!r} does not match time-format {time_format!r}") from None
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
        raise ValueError(f"unrecognised timestamp {text!r}; use RFC 3339, epoch seconds or a time format")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=tz), True
    return parsed, False


def _from_epoch(seconds: float, *, guess: bool = True) -> datetime:
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError("not a timestamp")
    if guess and abs(seconds) >= _EPOCH_MS_THRESHOLD:
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"epoch value {seconds!r} out of range") from None


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ----------------------------------------------------------------------------------------- rows

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
    # surrogateescape: undecodable bytes still hash as the bytes they were.
    return "row-" + hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def row_to_post(row: Mapping[str, Any], line: int, options: RowOptions) -> tuple[dict[str, Any], bool]:
    """The REST item for one row, and whether its timestamp had no zone. Raises ``RowInvalid``."""
    src = options.sources
    errors: list[RowError] = []
    post: dict[str, Any] = {}

    for name in _STRING_FIELDS:
        value = _as_str(_first(row, src[name]))
        if value:
            post[name] = value
    # Limits (text, external_id, ...) are the post contract's, checked by validate_post.
    post["text"] = post.get("text", "")
    if post.get("lang", "").lower() == "in":
        # Twitter exports still use the withdrawn ISO code "in" for Indonesian.
        post["lang"] = "id"

    platform = _as_str(_first(row, src["platform"])) or (options.default_platform or "")
    if not platform:
        errors.append(RowError(line, "platform", "no platform column and no default platform"))
    else:
        try:
            post["platform"] = platform_name(platform_from_name(platform))
        except ValueError as exc:
            errors.append(RowError(line, "platform", str(exc)))

    external_id = _as_str(_first(row, src["external_id"])).strip()
    if not external_id:
        external_id = row_hash(row)
    post["external_id"] = external_id

    naive = False
    created: datetime | None = None
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
        # The row is rejected anyway; report what the contract has against the rest of it too, so
        # the user fixes every problem of a row at once. (A row that converts cleanly is judged by
        # validate_post.)
        fields = _contract_fields(post, created, author, engagement, metadata)
        seen = {e.field for e in errors}
        errors.extend(RowError(line, f, m) for f, m in post_problems(fields, now=datetime.now(UTC))
                      if f not in seen)
        raise RowInvalid(errors)
    return post, naive


def _contract_fields(post: Mapping[str, Any], created: datetime | None, author: Mapping[str, Any],
                     engagement: Mapping[str, int], metadata: Mapping[str, str]) -> PostFields:
    strings = {name: post.get(name, "") for name in _STRING_FIELDS}
    return PostFields(platform=post.get("platform", ""), external_id=post.get("external_id", ""),
                      created_at=created, author=PostAuthor(**author),
                      engagement=PostEngagement(**engagement), metadata=metadata, **strings)


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


def _undecodable_field(value: Any, path: str = "") -> str | None:
    """The dotted path of a string holding undecoded bytes (lone surrogates), if any."""
    if isinstance(value, str):
        if value.isascii():
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _undecodable_field(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    return None


def validate_post(item: dict[str, Any], line: int, *, now: datetime | None = None) -> PostIn:
    """``item`` validated as ``POST /v1/posts`` validates it (the post contract); raises ``RowInvalid``
    with its errors. ``now`` (default: the wall clock) bounds ``created_at`` from above."""
    bad = _undecodable_field(item)
    if bad is not None:
        raise RowInvalid([RowError(line, bad, "not valid UTF-8 (is the file in another encoding?)")])
    valid, errors = validate_items([item], now=now)
    if errors:
        raise RowInvalid([RowError(line, e.field, e.message) for e in errors])
    return valid[0][1]


def convert_row(row: Mapping[str, Any], line: int, options: RowOptions) -> tuple[PostIn, bool]:
    """Mapping, then REST validation: the post, and whether its timestamp had no zone."""
    item, naive = row_to_post(row, line, options)
    return validate_post(item, line), naive


# -------------------------------------------------------------------------------------- reading

@dataclass(frozen=True, slots=True)
class Position:
    """A place in the file between records: ``offset`` bytes in, on 1-based ``line``."""

    offset: int = 0
    line: int = 1


@dataclass(frozen=True, slots=True)
class Record:
    """One record: its row (or why it is not one), the line it starts on and where it ends."""

    line: int
    row: dict[str, Any] | None
    error: RowError | None
    end: Position


def _check_encoding(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ImportSpecError(f"unknown encoding {encoding!r}") from None
    # A BOM is skipped separately (see _skip_bom).
    name = "utf-8" if name == "utf-8-sig" else name
    # Records are split on b"\n" before decoding, which only works where ASCII is ASCII.
    if "\n,a".encode(name) != b"\n,a":
        raise ImportSpecError(f"encoding {encoding!r} is not supported; convert the file to UTF-8")
    return name


def iter_records(raw: IO[bytes], fmt: str, *, delimiter: str = ",", encoding: str = "utf-8",
                 strict_encoding: bool = False, start: Position | None = None,
                 max_record_bytes: int = MAX_RECORD_BYTES,
                 json_chunk_chars: int = JSON_CHUNK_CHARS) -> Iterator[Record]:
    """The records of a binary stream, from its beginning or from ``start`` (a ``Record.end`` of an
    earlier pass over the same file; the stream must then be seekable).

    Bytes that are not ``encoding`` make their row a ``RowError``, unless ``strict_encoding``: then
    ``UnicodeDecodeError`` propagates (for callers that would rather ask for the right encoding).
    Raises ``FatalImportError`` when the rest of the file cannot be read.
    """
    fmt = normalise_format(fmt)
    codec = _check_encoding(encoding)
    errors = "strict" if strict_encoding else "surrogateescape"
    if start is None or start.offset == 0:
        origin = Position(_skip_bom(raw, codec), 1)
        start = None
    else:
        origin = start
    if fmt == "csv":
        yield from _iter_csv(raw, origin, start, check_delimiter(delimiter), codec, errors,
                             max_record_bytes)
    elif fmt == "ndjson":
        if start is not None:
            raw.seek(start.offset)
        yield from _iter_ndjson(raw, origin, codec, errors, max_record_bytes)
    else:
        yield from _JsonReader(raw, origin, start, codec, errors, max_record_bytes,
                               json_chunk_chars).records()


def _skip_bom(raw: IO[bytes], codec: str) -> int:
    """Consume a UTF-8 byte order mark at the start of ``raw``; its length, or 0."""
    if codec != "utf-8":
        return 0
    peek = getattr(raw, "peek", None)
    if peek is not None:
        head = peek(len(_UTF8_BOM))[:len(_UTF8_BOM)]
        if head == _UTF8_BOM:
            raw.read(len(_UTF8_BOM))
            return len(_UTF8_BOM)
        return 0
    if raw.seekable():
        if raw.read(len(_UTF8_BOM)) == _UTF8_BOM:
            return len(_UTF8_BOM)
        raw.seek(0)
    # Neither: a BOM stays in the text, where the CSV header strips it.
    return 0


class _Lines:
    """Decoded lines of a binary stream, counting bytes and lines as the CSV reader pulls them."""

    def __init__(self, raw: IO[bytes], at: Position, codec: str, errors: str, max_bytes: int) -> None:
        self._raw = raw
        self._codec = codec
        self._errors = errors
        self._max = max_bytes
        self.offset = at.offset
        # Lines fully consumed so far: the next one is ``consumed + 1``.
        self.consumed = at.line - 1
        self.record_bytes = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        data = self._raw.readline(self._max + 1)
        if not data:
            raise StopIteration
        self.offset += len(data)
        self.consumed += data.count(b"\n") or 1
        self.record_bytes += len(data)
        if self.record_bytes > self._max:
            raise FatalImportError(f"a record longer than {self._max} bytes", self.consumed)
        return data.decode(self._codec, self._errors)


def _iter_csv(raw: IO[bytes], origin: Position, start: Position | None, delimiter: str, codec: str,
              errors: str, max_bytes: int) -> Iterator[Record]:
    if start is not None:
        # Resuming: the header comes from the top of the file, the records from where we were.
        raw.seek(0)
        header_lines = _Lines(raw, Position(_skip_bom(raw, codec), 1), codec, errors, max_bytes)
        header = _read_header(csv.reader(header_lines, delimiter=delimiter), header_lines)
        if header is None:
            return
        raw.seek(start.offset)
        lines = _Lines(raw, start, codec, errors, max_bytes)
        reader = csv.reader(lines, delimiter=delimiter)
    else:
        lines = _Lines(raw, origin, codec, errors, max_bytes)
        reader = csv.reader(lines, delimiter=delimiter)
        header = _read_header(reader, lines)
        if header is None:
            return
    width = len(header)
    while True:
        begin = lines.consumed + 1
        lines.record_bytes = 0
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FatalImportError(f"CSV error: {exc}", begin) from None
        end = Position(lines.offset, lines.consumed + 1)
        if not values:
            continue  # a blank line
        if len(values) > width:
            yield Record(begin, None, RowError(begin, "", f"{len(values) - width} more fields than the "
                                                          "header has"), end)
            continue
        yield Record(begin, dict(zip(header, values, strict=False)), None, end)


def _read_header(reader: Any, lines: _Lines) -> list[str] | None:
    while True:
        try:
            header = next(reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            raise FatalImportError(f"CSV error in the header: {exc}", lines.consumed) from None
        if header:
            break
    if any(_undecodable_field(name) is not None for name in header):
        raise FatalImportError("the header is not valid UTF-8 (is the file in another encoding?)", 1)
    return [name.strip().lstrip("\ufeff") for name in header]


def _iter_ndjson(raw: IO[bytes], origin: Position, codec: str, errors: str,
                 max_bytes: int) -> Iterator[Record]:
    offset, line = origin.offset, origin.line
    while True:
        data = raw.readline(max_bytes + 1)
        if not data:
            return
        begin = line
        offset += len(data)
        too_long = len(data) > max_bytes and not data.endswith(b"\n")
        while len(data) > max_bytes and not data.endswith(b"\n"):
            # Skip the rest of an oversized line, chunk by chunk.
            data = raw.readline(max_bytes + 1)
            offset += len(data)
            if not data:
                break
        line += 1
        end = Position(offset, line)
        if too_long:
            yield Record(begin, None, RowError(begin, "", f"line longer than {max_bytes} bytes"), end)
            continue
        text = data.decode(codec, errors)
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Record(begin, None, RowError(begin, "", f"invalid JSON: {exc.msg} at column {exc.colno}"),
                         end)
            continue
        if not isinstance(value, dict):
            yield Record(begin, None, RowError(begin, "", "each line must be a JSON object"), end)
            continue
        yield Record(begin, value, None, end)


_WS = " \t\n\r"


class _JsonReader:
    """A top-level JSON array of objects, or an object with a ``"posts"`` array, element by element.

    The text sits in a sliding buffer: ``json.JSONDecoder.raw_decode`` parses one element at a
    time, and consumed text is dropped, so memory stays at about one element plus one chunk.
    ``_mark`` is the buffer index whose byte offset and line are known (``_mark_pos``); everything
    before it may be dropped.

    Why not ijson (yajl2_c): measured 2026-12 on the same 50,000-post ``{"posts": [...]}`` file
    (bench/bench_import.py's data, one CPU, two runs): reading alone ijson did 191-209k rows/s against
    128-139k here, but that was ijson without line numbers or element offsets; parse + validate, what
    an import costs, was a tie within noise (12.3k / 13.1k vs 13.0k / 12.0k rows/s, peak RSS growth
    ~6 MiB both). ijson cannot say where an element starts or ends, and the collector resumes an
    import from a ``Record.end`` checkpoint and reports bad rows by line, so it stays hand-written.
    """

    def __init__(self, raw: IO[bytes], origin: Position, start: Position | None, codec: str, errors: str,
                 max_bytes: int, chunk_chars: int) -> None:
        self._raw = raw
        self._codec = codec
        self._errors = errors
        self._max = max_bytes
        self._chunk = max(1, chunk_chars)
        self._decoder = codecs.getincrementaldecoder(codec)(errors)
        self._json = json.JSONDecoder()
        self._origin = origin
        self._start = start
        self._reset(origin)

    def _reset(self, at: Position) -> None:
        self._buf = ""
        self._pos = 0
        self._mark = 0
        self._mark_pos = at
        self._eof = False
        self._decoder.reset()

    # -- buffer ----------------------------------------------------------------------------------

    def _fill(self, at_least: int = 0) -> bool:
        """Read more text; False at end of file."""
        if self._eof:
            return False
        if self._mark > 0:
            self._advance_mark(self._pos)
            self._buf = self._buf[self._mark:]
            self._pos -= self._mark
            self._mark = 0
        want = max(self._chunk, at_least)
        text = ""
        while not text:
            data = self._raw.read(want)
            if not data:
                text = self._decoder.decode(b"", final=True)
                self._eof = True
                break
            text = self._decoder.decode(data)
        self._buf += text
        return bool(text)

    def _advance_mark(self, to: int) -> None:
        if to <= self._mark:
            return
        segment = self._buf[self._mark:to]
        self._mark_pos = Position(self._mark_pos.offset + len(segment.encode(self._codec, self._errors)),
                                  self._mark_pos.line + segment.count("\n"))
        self._mark = to

    def _here(self) -> Position:
        self._advance_mark(self._pos)
        return self._mark_pos

    def _peek(self) -> str:
        """The next non-whitespace character ("" at end of file), not consumed."""
        while True:
            buf, pos = self._buf, self._pos
            while pos < len(buf) and buf[pos] in _WS:
                pos += 1
            self._pos = pos
            if pos < len(buf):
                return buf[pos]
            if not self._fill():
                return ""

    def _expect(self, chars: str, what: str) -> str:
        ch = self._peek()
        if ch == "" or ch not in chars:
            found = "the end of the file" if ch == "" else repr(ch)
            raise FatalImportError(f"not valid JSON: expected {what}, found {found}", self._here().line)
        self._pos += 1
        return ch

    def _value(self) -> Any:
        """Decode the JSON value at the current position, reading more until it is complete."""
        self._peek()
        while True:
            try:
                value, end = self._json.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof:
                    self._advance_mark(self._pos)
                    line = self._mark_pos.line + self._buf.count("\n", self._pos, exc.pos)
                    raise FatalImportError(f"not valid JSON: {exc.msg}", line) from None
                self._grow()
                continue
            if end == len(self._buf) and not self._eof:
                # A number (or literal) at the very end of the buffer may go on in the next chunk.
                self._grow()
                continue
            self._pos = end
            return value

    def _grow(self) -> None:
        pending = len(self._buf) - self._pos
        if pending > self._max:
            raise FatalImportError(f"a JSON element larger than {self._max} bytes", self._here().line)
        # Doubling what is pending keeps re-parsing a large element linear overall.
        self._fill(at_least=pending)

    # -- structure -------------------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        outer = self._open()
        if outer is None:
            return
        if self._start is not None:
            self._raw.seek(self._start.offset)
            self._reset(self._start)
            first = False
        else:
            first = True
        yield from self._elements(first)
        if outer == "{":
            self._rest_of_object(after_posts=True)
        if self._peek() != "":
            raise FatalImportError("unexpected data after the JSON value (is this NDJSON? use the ndjson "
                                   "format)", self._here().line)

    def _open(self) -> str | None:
        """Consume up to the first element of the array; the outer bracket, or None if empty."""
        if self._start is not None:
            self._raw.seek(0)
            self._reset(Position(_skip_bom(self._raw, self._codec), 1))
        ch = self._peek()
        if ch == "":
            return None
        if ch == "[":
            self._pos += 1
            return "["
        if ch != "{":
            raise FatalImportError("a JSON file must hold an array of posts or an object with a "
                                   "\"posts\" array", self._here().line)
        self._pos += 1
        if not self._rest_of_object(after_posts=False):
            raise FatalImportError("the JSON object has no \"posts\" array (is this NDJSON? use the "
                                   "ndjson format)", self._here().line)
        return "{"

    def _rest_of_object(self, *, after_posts: bool) -> bool:
        """Skip members of the top-level object up to "posts" (True) or its end (False)."""
        first = not after_posts
        while True:
            if first and self._peek() == "}":
                self._pos += 1
                return False
            if not first:
                if self._expect(",}", "',' or '}'") == "}":
                    return False
            first = False
            if self._peek() != '"':
                self._expect('"', "a member name")
            key = self._value()
            self._expect(":", "':'")
            if key == "posts" and not after_posts:
                self._expect("[", "an array of posts")
                return True
            self._value()  # not ours: read and dropped

    def _elements(self, first: bool) -> Iterator[Record]:
        while True:
            if first:
                first = False
                if self._peek() == "]":
                    self._pos += 1
                    return
            elif self._expect(",]", "',' or ']'") == "]":
                return
            self._peek()
            begin = self._here().line
            value = self._value()
            end = self._here()
            if isinstance(value, dict):
                yield Record(begin, value, None, end)
            else:
                yield Record(begin, None, RowError(begin, "", "each element must be a JSON object"), end)


# ---------------------------------------------------------------------------------------- batches

@dataclass
class Batch:
    """Valid posts with the line of each, the rows rejected on the way, and where it ends."""

    posts: list[PostIn] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    rejected: int = 0
    naive_timestamps: int = 0
    end: Position | None = None
    done: bool = False
    # Set when the file broke off after the rows above: they are still good, nothing after is.
    fatal: FatalImportError | None = None


class BatchReader:
    """Records converted and validated into batches of at most ``size`` valid posts."""

    def __init__(self, records: Iterator[Record], options: RowOptions, *, size: int,
                 max_rows: int | None = None,
                 convert: Callable[[Mapping[str, Any], int, RowOptions], tuple[PostIn, bool]] = convert_row
                 ) -> None:
        self._records = records
        self._options = options
        self._size = size
        # Rows (valid or not) per batch, so that a file of bad rows still reports progress.
        self._max_rows = max_rows or size * 4
        self._convert = convert

    def next_batch(self) -> Batch:
        """The next batch; ``done`` once the file is exhausted or broke off (then ``fatal`` says why)."""
        batch = Batch()
        try:
            for record in self._records:
                batch.rows += 1
                batch.end = record.end
                if record.error is not None:
                    batch.rejected += 1
                    batch.errors.append(record.error)
                else:
                    assert record.row is not None
                    try:
                        post, naive = self._convert(record.row, record.line, self._options)
                    except RowInvalid as exc:
                        batch.rejected += 1
                        batch.errors.extend(exc.errors)
                    else:
                        batch.posts.append(post)
                        batch.lines.append(record.line)
                        batch.naive_timestamps += naive
                if len(batch.posts) >= self._size or batch.rows >= self._max_rows:
                    return batch
        except FatalImportError as exc:
            batch.fatal = exc
        batch.done = True
        return batch
