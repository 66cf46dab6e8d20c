"""The platform every end-to-end test shares: started once, since the services take a while to load."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dengar_cli.platform import Platform


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    home: Path = tmp_path_factory.mktemp("platform")
    # DENGAR_E2E_NLP_MODELS_DIR runs the pipeline on another model set (e.g. freshly trained heads).
    env = {"DENGAR_NLP_MODELS_DIR": os.environ["DENGAR_E2E_NLP_MODELS_DIR"]} \
        if os.environ.get("DENGAR_E2E_NLP_MODELS_DIR") else {}
    # The listening test's feed is served on loopback, which the egress policy refuses by default.
    env["DENGAR_COLLECTOR_EGRESS_ALLOW_PRIVATE"] = "true"
    p = Platform(home=home, subject_root="e2e", db_prefix="e2e", env=env)
    try:
        p.start()
        yield p
    finally:
        p.stop()
