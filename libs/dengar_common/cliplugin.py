"""The contract between the `dengar` command and the parts that add subcommands to it.

A package contributes a subcommand by naming a ``Command`` in the ``dengar.cli`` entry-point group of
its pyproject.toml, e.g. ``analyze = "dengar_nlp.entrypoints.cli:COMMAND"``. The launcher imports a
plugin's module only to run it or to list it in ``dengar --help``, so the module must stay free of
work at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ENTRY_POINT_GROUP = "dengar.cli"


@dataclass(frozen=True)
class Command:
    """One `dengar <name>` subcommand; ``name`` is the entry point's name."""

    run: Callable[[list[str]], int]
    """Called with the arguments after the command name; returns the exit status."""
    help: str
    """One line for `dengar --help`."""
    args: str = ""
    """The argument synopsis shown next to the name, e.g. ``create NAME | list``."""
