"""The `dengar` command: one entry point that dispatches to each part's own CLI."""

from __future__ import annotations

import sys
from collections.abc import Callable

USAGE = """usage: dengar <command> [args]

commands:
  run                      start the whole platform locally with a demo tenant and stream (make run)
  analyze [FILE]           analyse texts (one per line or JSONL with "text") with the NLP models
  import FILE              load your own posts (CSV/JSONL) into a tenant through the REST API
  tenants create NAME      create a tenant and print its first API key (also: tenants list)
  keys create|revoke       manage API keys

`dengar <command> --help` shows each command's options.
"""


def _run(argv: list[str]) -> int:
    from dengar_cli.run_local import main

    return main(argv)


def _analyze(argv: list[str]) -> int:
    from dengar_nlp.cli import main

    return main(argv)


def _import(argv: list[str]) -> int:
    from dengar_cli.importer import main

    return main(argv)


def _admin(command: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        from dengar_gateway.entrypoints.cli import main

        return main([command, *argv])
    return run


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "run": _run,
    "analyze": _analyze,
    "import": _import,
    "tenants": _admin("tenants"),
    "keys": _admin("keys"),
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(USAGE)
        return 0
    command = COMMANDS.get(args[0])
    if command is None:
        sys.stderr.write(f"dengar: unknown command {args[0]!r}\n\n{USAGE}")
        return 2
    return command(args[1:])


if __name__ == "__main__":
    sys.exit(main())
