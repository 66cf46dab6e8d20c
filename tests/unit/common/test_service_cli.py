"""`python -m dengar_<service> --help/--version` answer without starting anything."""

from __future__ import annotations

import pytest

from dengar_common.entry import run_app
from dengar_common.service_cli import environment_variables


async def _must_not_start(app: object, settings: object) -> None:
    raise AssertionError("--help started the service")


@pytest.mark.parametrize("service", ["collector", "nlp", "insights", "gateway"])
def test_help_lists_the_settings_and_starts_nothing(service: str, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    module = importlib.import_module(f"dengar_{service}.settings")
    settings_cls = getattr(module, f"{service.capitalize()}Settings")
    # A setting that would refuse to load must not matter: --help comes first.
    monkeypatch.setenv("DENGAR_SHUTDOWN_GRACE_S", "not a number")
    with pytest.raises(SystemExit) as exit_info:
        run_app(f"dengar-{service}", settings_cls, _must_not_start, argv=["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"python -m dengar_{service}" in out
    prefix = f"DENGAR_{service.upper()}__"
    port = "HTTP_PORT" if service == "gateway" else "GRPC_PORT"
    assert f"{prefix}{port} (default: " in out
    assert "DENGAR_MONGO_URI (default: 'mongodb://127.0.0.1:27017')" in out
    assert "DENGAR_NATS_STREAM_REPLICAS (default: 1)" in out


def test_nested_settings_are_flattened_and_secrets_hidden() -> None:
    from dengar_collector.settings import CollectorSettings
    from dengar_insights.settings import InsightsSettings

    collector = dict(environment_variables(CollectorSettings))
    assert collector["DENGAR_COLLECTOR__SCHEDULER__MAX_CONCURRENT"].isdigit()
    insights = dict(environment_variables(InsightsSettings))
    assert insights["DENGAR_INSIGHTS__SMTP__PASSWORD"] in {"(empty)", "(secret)"}
    assert "DENGAR_INSIGHTS__SMTP" not in insights  # a nested model is not a variable itself


def test_version_and_unknown_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    from dengar_gateway.settings import GatewaySettings

    with pytest.raises(SystemExit) as exit_info:
        run_app("dengar-gateway", GatewaySettings, _must_not_start, argv=["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.startswith("dengar-gateway ")
    with pytest.raises(SystemExit) as exit_info:
        run_app("dengar-gateway", GatewaySettings, _must_not_start, argv=["--port", "1"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err
