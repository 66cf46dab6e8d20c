"""`dengar export`: download the tenant's mentions through the REST API into a file.

    dengar export -o mentions.csv [--format csv|ndjson] [--state open --tag vip ...] [--api-key K]

It streams GET /v1/mentions/export into a temporary file next to the target and renames it when
the whole body arrived, so an interrupted export never leaves a truncated file behind; a progress
bar (bytes and rows) runs on stderr when it is a terminal. Talks to the API like `dengar import`:
--api-url / DENGAR_API_URL, else the local platform of `make run`; the key (read scope) from
--api-key / DENGAR_API_KEY. Exit status: 0 done, 1 the API or the network failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import IO, Any

from dengar_common.cliplugin import Command

_FILTERS = (("from", "from_", "created at or after (RFC 3339)"), ("to", "to", "created before (RFC 3339)"),
            ("sentiment", "sentiment", "negative, neutral, positive"),
            ("platform", "platform", "x, reddit, ..."),
            ("lang", "lang", "language codes"), ("aspect", "aspect", "aspect ids"),
            ("query-id", "query_id", "listening query ids"), ("category-id", "category_id", "category ids"),
            ("state", "state", "open, in_progress, resolved, ignored"), ("assignee", "assignee", "assignees"),
            ("tag", "tag", "inbox tags"))


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dengar export", description="Export mentions to CSV or NDJSON.")
    p.add_argument("-o", "--output", required=True, help="file to write ('-' for stdout)")
    p.add_argument("--format", choices=("csv", "ndjson"),
                   help="default: from the output's extension (.ndjson/.jsonl), else csv")
    p.add_argument("--sort", choices=("-time", "time"), default="-time", help="-time newest first (default)")
    p.add_argument("-q", "--query", help="full-text query")
    for flag, dest, what in _FILTERS:
        p.add_argument(f"--{flag}", dest=dest, action="append" if flag not in ("from", "to") else "store",
                       help=what + (" (repeatable)" if flag not in ("from", "to") else ""))
    p.add_argument("--api-url", default=os.environ.get("DENGAR_API_URL"),
                   help="gateway URL (env DENGAR_API_URL; default: the local platform of `make run`)")
    p.add_argument("--home", default=None, help="local platform state (env DENGAR_HOME, default ./.dengar)")
    p.add_argument("--api-key", default=os.environ.get("DENGAR_API_KEY"),
                   help="API key with the read scope (env DENGAR_API_KEY)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds without data before giving up")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    return p


def _params(ns: argparse.Namespace, fmt: str) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = [("format", fmt), ("sort", ns.sort)]
    if ns.query:
        params.append(("q", ns.query))
    for flag, dest, _ in _FILTERS:
        value = getattr(ns, dest)
        name = flag.replace("-", "_")
        if isinstance(value, list):
            params.extend((name, v) for v in value)
        elif value:
            params.append((name, value))
    return params


def _problem(response: Any) -> str:
    try:
        doc = response.json()
        detail = doc.get("detail") or doc.get("title") or ""
        errors = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in doc.get("errors") or [])
        return f"HTTP {response.status_code}: {detail}{' (' + errors + ')' if errors else ''}"
    except ValueError:
        return f"HTTP {response.status_code}"


def export(client: Any, params: list[tuple[str, str]], out: IO[bytes], *, fmt: str, progress: bool,
           err: IO[str]) -> int:
    """Stream the export into ``out``; the number of rows written."""
    from tqdm import tqdm

    rows = 0
    with client.stream("GET", "/v1/mentions/export", params=params) as response:
        if response.status_code != 200:
            response.read()
            raise RuntimeError(_problem(response))
        with tqdm(unit="B", unit_scale=True, desc="export", file=err, disable=not progress,
                  leave=False) as bar:
            for chunk in response.iter_bytes():
                out.write(chunk)
                # NDJSON lines are rows; CSV rows may hold quoted newlines, so count them after.
                rows += chunk.count(b"\n")
                bar.update(len(chunk))
                bar.set_postfix_str(f"{rows:,} lines", refresh=False)
    return rows


def main(argv: list[str]) -> int:
    import httpx

    from dengar_common.localstate import PlatformNotRunning, require_running

    ns = _parser().parse_args(argv)
    err = sys.stderr
    fmt = ns.format or ("ndjson" if ns.output.lower().endswith((".ndjson", ".jsonl")) else "csv")
    try:
        if not ns.api_key:
            raise UsageError("no API key: pass --api-key or set DENGAR_API_KEY")
        try:
            api_url = ns.api_url or require_running(ns.home, setting="DENGAR_API_URL").api_url
        except PlatformNotRunning as exc:
            raise UsageError(str(exc)) from None
    except UsageError as exc:
        err.write(f"dengar export: {exc}\n")
        return 2
    base = api_url.rstrip("/").removesuffix("/v1")
    to_stdout = ns.output == "-"
    target_dir = os.path.dirname(os.path.abspath(ns.output)) if not to_stdout else "."
    tmp_path = None
    try:
        with httpx.Client(base_url=base, timeout=ns.timeout,
                          headers={"Authorization": f"Bearer {ns.api_key}",
                                   "User-Agent": "dengar-export"}) as client:
            if to_stdout:
                lines = export(client, _params(ns, fmt), sys.stdout.buffer, fmt=fmt, progress=False, err=err)
            else:
                fd, tmp_path = tempfile.mkstemp(prefix=".dengar-export-", dir=target_dir)
                with os.fdopen(fd, "wb") as out:
                    lines = export(client, _params(ns, fmt), out, fmt=fmt,
                                   progress=not ns.no_progress and err.isatty(), err=err)
                os.replace(tmp_path, ns.output)
                tmp_path = None
    except (httpx.HTTPError, RuntimeError, OSError) as exc:
        err.write(f"dengar export: failed: {exc}\n")
        return 1
    finally:
        if tmp_path is not None:
            os.unlink(tmp_path)
    if not to_stdout:
        what = f"{lines:,} lines" if fmt == "csv" else f"{lines:,} mentions"
        err.write(f"exported {what} to {ns.output}\n")
    return 0


EXPORT = Command(run=main, help="export mentions (CSV or NDJSON) through the API into a file",
                 args="-o FILE [--format csv|ndjson] [filters]")
