"""``dengar analyze [FILE]``: analyse texts from a file or stdin, one JSON object per line out.

Input is read as bytes and decoded as UTF-8 with ``errors="replace"``, line by line, so invalid bytes
become U+FFFD instead of an exception, and nothing but ``\\n`` splits a post (``\\r``, U+2028 and
friends stay inside the text).  Each line is detected on its own:

* a JSON object with a ``"text"`` field is a JSONL record: ``text`` is analysed and every other field
  (``id``, ``author`` ...) is echoed back in the output object;
* anything else (including JSON that is not such an object) is the text itself.

Blank lines are skipped.  Every output object carries ``line`` (the 1-based input line number), so
output can be joined back to plain-text input even though blank lines produce nothing.  Analysis
fields win over echoed fields of the same name.  A JSONL record whose ``text`` is not a string gets an
``error`` field instead of an analysis; the run goes on.

Input is processed in batches of ``--batch-size`` lines, so memory stays constant however long the
input is, and output is flushed after every batch, so a downstream ``jq`` sees results as they come.
"""

from __future__ import annotations

import argparse
import codecs
import json
import logging
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, get_args

from dengar_common.cliplugin import Command
from dengar_nlp.service_layer.ports import TextAnalyzer
from dengar_nlp.settings import (
    REQUIRED_MODEL_FILES,
    Parallelism,
    default_models_dir,
    default_quality_models_dir,
)

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 64
DEFAULT_THREADS = 2
# Below this size the run is over in seconds and a progress bar would only flicker.
PROGRESS_MIN_BYTES = 1 << 20
# Even when shown, the bar waits this long, so a small pipe (size unknown) never draws one.
PROGRESS_DELAY_S = 1.0
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
# What a shell reports for a process killed by SIGPIPE (128 + 13): the reader went away.
EXIT_BROKEN_PIPE = 141

_SURROGATE_RE = re.compile("[\ud800-\udfff]")


@dataclass(slots=True)
class Record:
    """One non-blank input line: the text to analyse and the fields to echo back."""

    line: int
    text: str
    extra: dict[str, Any]
    error: str | None = None


def parse_line(raw: bytes, line_no: int) -> Record | None:
    """Decode and classify one input line; ``None`` for a blank line."""
    text = raw.decode("utf-8", errors="replace")
    if line_no == 1:
        # A UTF-8 BOM from Windows editors is not part of the first post.
        text = text.removeprefix("\ufeff")
    text = text.removesuffix("\n").removesuffix("\r")
    if not text.strip():
        return None
    stripped = text.lstrip()
    # Only lines that look like an object pay for a JSON parse.
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and "text" in obj:
            extra = {k: v for k, v in obj.items() if k != "text"}
            value = obj["text"]
            if not isinstance(value, str):
                return Record(line_no, "", extra, error=f'"text" must be a string, got {_json_type(value)}')
            # JSON escapes can carry lone surrogates ("\ud800"); tokenizers cannot take them.
            return Record(line_no, _SURROGATE_RE.sub("\ufffd", value), extra)
    return Record(line_no, text, {})


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def read_records(stream: IO[bytes], progress: Any | None = None) -> Iterator[Record]:
    """Yield the non-blank records of a byte stream, lazily."""
    for line_no, raw in enumerate(stream, start=1):
        if isinstance(raw, str):
            # A text stream (an embedding caller's StringIO): treat it as the bytes it stands for.
            raw = raw.encode("utf-8", errors="surrogateescape")
        if progress is not None:
            progress.update(len(raw))
        record = parse_line(raw, line_no)
        if record is not None:
            yield record


def batched(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def analyze_batch(
    analyzer: TextAnalyzer, batch: Sequence[Record], *, include_embedding: bool
) -> list[dict[str, object]]:
    """Output objects for one batch, in input order."""
    ok = [r for r in batch if r.error is None]
    results = analyzer.analyze([r.text for r in ok], include_embedding=include_embedding) if ok else []
    if len(results) != len(ok):
        raise RuntimeError(f"analyzer returned {len(results)} results for {len(ok)} texts")
    by_line = {r.line: res for r, res in zip(ok, results, strict=True)}
    out: list[dict[str, object]] = []
    for r in batch:
        obj: dict[str, object] = {"line": r.line, **r.extra}
        if r.error is not None:
            obj["error"] = r.error
        else:
            obj.update(by_line[r.line].to_dict(include_embedding=include_embedding))
        out.append(obj)
    return out


class JsonLineWriter:
    """Writes objects as JSON lines to a text stream, safe for any stream encoding."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            self._utf8 = codecs.lookup(encoding).name == "utf-8"
        except LookupError:
            self._utf8 = False

    def write(self, obj: dict[str, object]) -> None:
        line = json.dumps(obj, ensure_ascii=not self._utf8)
        if self._utf8 and _SURROGATE_RE.search(line):
            # An echoed field holds a lone surrogate: \u-escaping keeps it exactly and stays encodable.
            line = json.dumps(obj, ensure_ascii=True)
        self._stream.write(line + "\n")

    def flush(self) -> None:
        self._stream.flush()


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dengar analyze",
        description="Analyse texts (one per line, or JSONL with a \"text\" field) and write one JSON "
        "object per line: language, sentiment, emotion, aspects, hashtags/mentions/urls/emojis, "
        "entities.",
    )
    p.add_argument("file", nargs="?", default="-", metavar="FILE", help="input file (default: stdin)")
    p.add_argument("--embedding", action="store_true", help="include the 384-d sentence embedding")
    p.add_argument(
        "--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE, help="texts per model call"
    )
    p.add_argument(
        "--threads", type=_positive_int, default=DEFAULT_THREADS, help="CPU threads for the models"
    )
    p.add_argument(
        "--parallelism", choices=get_args(Parallelism), default="posts",
        help="how the threads are used, as DENGAR_NLP__PARALLELISM for the service: posts = that many "
        "posts at once, one thread each (default; faster on short posts); operators = one post at a "
        "time, its model call split over the threads. Same results",
    )
    p.add_argument(
        "--profile", choices=PROFILES, default=None,
        help="model set, as DENGAR_NLP__PROFILE for the service: fast = the bundled models, quality = "
        "the fine-tuned teacher (DENGAR_NLP__QUALITY_MODELS_DIR, built by `make nlp2-models`); "
        "default: DENGAR_NLP__PROFILE, else fast",
    )
    p.add_argument(
        "--models-dir", type=Path, default=None,
        help="model directory (default: the --profile's; the bundled one is built by `make models`)",
    )
    p.add_argument("--entities-file", type=Path, default=None, help="JSON brands/products to match")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only for large input when stderr is a terminal)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log model loading and timings")
    return p


PROFILES = ("fast", "quality")
PROFILE_ENV = "DENGAR_NLP__PROFILE"
QUALITY_DIR_ENV = "DENGAR_NLP__QUALITY_MODELS_DIR"


def _profile(flag: str | None) -> str:
    """``--profile``, else the service's ``DENGAR_NLP__PROFILE``, else ``fast``."""
    value = flag or os.environ.get(PROFILE_ENV) or "fast"
    if value not in PROFILES:
        raise ValueError(f"{PROFILE_ENV}={value!r} is not one of {', '.join(PROFILES)}")
    return value


def profile_models_dir(profile: str, models_dir: Path | None) -> Path:
    """The model folder to load: ``--models-dir`` if given, else the profile's, resolved as the service
    resolves ``DENGAR_NLP__PROFILE`` / ``DENGAR_NLP__QUALITY_MODELS_DIR``."""
    if models_dir is not None:
        return models_dir
    if profile == "quality":
        env = os.environ.get(QUALITY_DIR_ENV)
        return Path(env) if env else default_quality_models_dir()
    return default_models_dir()


def load_analyzer(models_dir: Path, *, threads: int, entities_file: Path | None,
                  parallelism: Parallelism = "posts") -> TextAnalyzer:
    """The real analyzer; a seam so tests can swap in a fake."""
    # Imported here: onnxruntime and the models cost seconds, and `--help` should not pay for them.
    from dengar_nlp.adapters.onnx_models import load_analyzer as load_onnx

    return load_onnx(models_dir, threads=threads, entities_file=entities_file, parallelism=parallelism)


def _input_size(stream: IO[bytes]) -> int | None:
    """Bytes to read for a regular file (also a redirected stdin); ``None`` for pipes and terminals."""
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _want_progress(flag: bool | None, size: int | None) -> bool:
    if flag is not None:
        return flag
    if not sys.stderr.isatty():
        return False
    # Unknown size (a pipe) may be large; PROGRESS_DELAY_S keeps short pipes bar-free.
    return size is None or size >= PROGRESS_MIN_BYTES


def _open_input(name: str) -> AbstractContextManager[IO[bytes]]:
    if name == "-":
        stdin = sys.stdin
        # Tests may replace sys.stdin by a BytesIO (already bytes) or a StringIO-like object.
        buffer = getattr(stdin, "buffer", stdin)
        return nullcontext(buffer)
    return open(name, "rb")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    err = sys.stderr
    try:
        source = _open_input(args.file)
    except OSError as exc:
        err.write(f"dengar analyze: cannot read {args.file}: {exc.strerror or exc}\n")
        return EXIT_USAGE
    with source as stream:
        try:
            profile = _profile(args.profile)
        except ValueError as exc:
            err.write(f"dengar analyze: {exc}\n")
            return EXIT_USAGE
        models_dir = profile_models_dir(profile, args.models_dir)
        if not models_dir.is_dir():
            hint = (
                "build it with `make nlp2-models` or set DENGAR_NLP__QUALITY_MODELS_DIR"
                if profile == "quality" and args.models_dir is None
                else "run `make models`"
            )
            err.write(f"dengar analyze: models directory {models_dir} does not exist ({hint})\n")
            return EXIT_USAGE
        if profile == "quality" and args.models_dir is None:
            missing = [f for f in REQUIRED_MODEL_FILES if not (models_dir / f).is_file()]
            if missing:
                err.write(f"dengar analyze: profile 'quality': {models_dir} lacks {', '.join(missing)}\n")
                return EXIT_USAGE
        try:
            analyzer = load_analyzer(models_dir, threads=args.threads, entities_file=args.entities_file,
                                     parallelism=args.parallelism)
        except Exception as exc:
            # Any failure here (missing file, corrupt ONNX, bad JSON) means the directory is unusable.
            logger.debug("model loading failed", exc_info=True)
            err.write(
                f"dengar analyze: cannot load models from {models_dir}: {type(exc).__name__}: {exc}\n"
                "  (run `make models`, or pass --models-dir)\n"
            )
            return EXIT_USAGE
        logger.info("profile %s (%s), model %s, batch size %d, threads %d (%s)", profile, models_dir,
                    analyzer.model_version, args.batch_size, args.threads, args.parallelism)
        size = _input_size(stream)
        return _run(analyzer, stream, args, size)


def _run(analyzer: TextAnalyzer, stream: IO[bytes], args: argparse.Namespace, size: int | None) -> int:
    writer = JsonLineWriter(sys.stdout)
    progress = None
    if _want_progress(args.progress, size):
        from tqdm import tqdm

        progress = tqdm(total=size, unit="B", unit_scale=True, file=sys.stderr, delay=PROGRESS_DELAY_S,
                        desc="analyze")
    n_out = n_err = 0
    try:
        for batch in batched(read_records(stream, progress), args.batch_size):
            for obj in analyze_batch(analyzer, batch, include_embedding=args.embedding):
                n_err += "error" in obj
                writer.write(obj)
                n_out += 1
            writer.flush()
    except BrokenPipeError:
        # The reader (`| head`) has gone: stop quietly, and keep Python from complaining at exit flush.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        sys.stderr.write("dengar analyze: interrupted\n")
        return 130
    except Exception:
        logger.exception("analysis failed after %d output lines", n_out)
        return EXIT_FAILURE
    finally:
        if progress is not None:
            progress.close()
    if n_err:
        # Said on stderr directly, not logged: it is the run's result, shown without --verbose too.
        sys.stderr.write(f'dengar analyze: {n_err} of {n_out} records were not analysed (see "error")\n')
    logger.info("analysed %d records", n_out - n_err)
    return EXIT_OK


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass



# `dengar analyze`, through the dengar.cli entry-point group.
COMMAND = Command(main, 'analyse texts (one per line or JSONL with "text") with the NLP models', "[FILE]")


if __name__ == "__main__":
    sys.exit(main())
