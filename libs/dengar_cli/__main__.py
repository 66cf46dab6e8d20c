"""The `dengar` command: `run` and `import` built in, every other subcommand a plugin.

Services add subcommands through the ``dengar.cli`` entry-point group (see dengar_common.cliplugin),
so this library never imports a service; only the chosen command's module is imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from dengar_common.cliplugin import ENTRY_POINT_GROUP, Command
from dengar_common.localstate import HOME_ENV

EXIT_USAGE = 2


def _run(argv: list[str]) -> int:
    from dengar_cli.run_local import main

    return main(argv)


def _import(argv: list[str]) -> int:
    from dengar_cli.importer import main

    return main(argv)


BUILTINS: dict[str, Command] = {
    "run": Command(_run, "start the whole platform locally with a demo tenant and stream (make run)"),
    "import": Command(_import, "load your own posts (CSV/JSONL) into a tenant through the REST API", "FILE"),
}


@dataclass(frozen=True)
class Plugin:
    """A subcommand as found: the entry point, loaded only when the command is run or listed."""

    name: str
    load: Callable[[], Command]


def _from_entry_point(ep: EntryPoint) -> Callable[[], Command]:
    def load() -> Command:
        obj = ep.load()
        if isinstance(obj, Command):
            return obj
        if callable(obj):  # a bare main(argv) -> int: its docstring's first line is the help
            doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
            return Command(obj, doc[0] if doc else "")
        raise TypeError(f"entry point {ep.value!r} is neither a dengar_common.cliplugin.Command nor callable")
    return load


def _constant(command: Command) -> Callable[[], Command]:
    def load() -> Command:
        return command
    return load


def discover() -> dict[str, Plugin]:
    """Built-ins first, then the ``dengar.cli`` entry points by name; a plugin cannot shadow a built-in,
    and of two distributions offering one name the first found wins."""
    found: dict[str, Plugin] = {name: Plugin(name, _constant(cmd)) for name, cmd in BUILTINS.items()}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        found.setdefault(ep.name, Plugin(ep.name, _from_entry_point(ep)))
    return found


def usage(plugins: dict[str, Plugin]) -> str:
    lines = ["usage: dengar [--home DIR] <command> [args]", "", "commands:"]
    for name, plugin in plugins.items():
        try:
            cmd = plugin.load()
            label, text = f"{name} {cmd.args}".rstrip(), cmd.help
        except Exception as exc:  # a broken plugin must not hide the others
            label, text = name, f"(unavailable: {type(exc).__name__}: {exc})"
        lines.append(f"  {label:<24}  {text}" if len(label) <= 24 else f"  {label}\n  {'':<24}  {text}")
    lines += ["", "--home DIR (or DENGAR_HOME) is where `dengar run` keeps its state (default ./.dengar);",
              "the other commands find the running platform there.",
              "`dengar <command> --help` shows each command's options.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and (args[0] == "--home" or args[0].startswith("--home=")):
        home = args[0].partition("=")[2] if "=" in args[0] else (args[1] if len(args) > 1 else "")
        if not home:
            sys.stderr.write("dengar: --home needs a directory\n")
            return EXIT_USAGE
        args = args[1:] if "=" in args[0] else args[2:]
        # Through the environment, so every command (and `dengar run`'s own children) sees it.
        os.environ[HOME_ENV] = home
    plugins = discover()
    if not args or args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(usage(plugins))
        return 0
    plugin = plugins.get(args[0])
    if plugin is None:
        sys.stderr.write(f"dengar: unknown command {args[0]!r}\n\n{usage(plugins)}")
        return EXIT_USAGE
    return plugin.load().run(args[1:])


if __name__ == "__main__":
    sys.exit(main())
