"""The command line of ``python -m dengar_<service>``.

A service is configured only by its environment (``DENGAR_*``), so its only options are ``--help``,
which lists the variables it reads with their defaults, and ``--version``. Both answer without
starting anything: no store, NATS or port is touched, which is what an image smoke test or an
operator inspecting a container needs.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from importlib import metadata

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

# Defaults longer than this are cut in the listing: a help text is not a dump.
MAX_DEFAULT_CHARS = 60


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, SecretStr) or info.annotation is SecretStr:
        return "(secret)" if value is None or value.get_secret_value() else "(empty)"
    text = repr(value)
    return text if len(text) <= MAX_DEFAULT_CHARS else text[: MAX_DEFAULT_CHARS - 3] + "..."


def _nested_model(info: FieldInfo) -> type[BaseModel] | None:
    ann = info.annotation
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def environment_variables(settings_cls: type[BaseSettings]) -> Iterator[tuple[str, str]]:
    """Every variable ``settings_cls`` reads, ``(name, default)``, nested models flattened with ``__``."""
    prefix = str(settings_cls.model_config.get("env_prefix", ""))
    delimiter = str(settings_cls.model_config.get("env_nested_delimiter") or "__")

    def walk(model: type[BaseModel], path: str) -> Iterator[tuple[str, str]]:
        for field, info in model.model_fields.items():
            name = f"{path}{field.upper()}"
            nested = _nested_model(info)
            if nested is not None:
                yield from walk(nested, name + delimiter)
            else:
                yield name, _default(info)

    yield from walk(settings_cls, prefix)


def _version() -> str:
    try:
        return metadata.version("dengar")
    except metadata.PackageNotFoundError:
        return "unknown"


def parse_service_args(name: str, module: str, settings_cls: type[BaseSettings],
                       argv: Sequence[str]) -> None:
    """Handle ``--help``/``--version`` (both exit 0) and refuse anything else (exit 2); return only
    when the service should start."""
    variables = "\n".join(f"  {var} (default: {default})" for var, default in
                          environment_variables(settings_cls))
    parser = argparse.ArgumentParser(
        prog=f"python -m {module}",
        description=f"{name}: a Dengar service. It takes no arguments: it is configured by the\n"
                    "environment variables below and runs until SIGTERM or SIGINT.",
        epilog=f"environment:\n{variables}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{name} {_version()}")
    parser.parse_args(list(argv))
