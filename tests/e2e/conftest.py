"""The platform every end-to-end test shares: started once, since the services take a while to load."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from dengar_cli.platform import Platform

KEY_RE = re.compile(r"dgr_[A-Za-z0-9_\-]+")


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    home: Path = tmp_path_factory.mktemp("platform")
    # DENGAR_E2E_NLP_MODELS_DIR runs the pipeline on another model set (e.g. freshly trained heads).
    env = {"DENGAR_NLP__MODELS_DIR": os.environ["DENGAR_E2E_NLP_MODELS_DIR"]} \
        if os.environ.get("DENGAR_E2E_NLP_MODELS_DIR") else {}
    # The listening test's feed is served on loopback, which the egress policy refuses by default.
    env["DENGAR_COLLECTOR__EGRESS__ALLOW_PRIVATE"] = "true"
    env["DENGAR_INSIGHTS__EGRESS__ALLOW_PRIVATE"] = "true"
    # Every e2e client calls from 127.0.0.1, and the fuzzer sends bad keys on purpose: the limiter of
    # failed authentications per address would then turn the later tests away with 429s. It has its
    # own tests (tests/integration/gateway/test_gateway_abuse_limits.py).
    env["DENGAR_GATEWAY__AUTH_FAILURES__PER_S"] = "0"
    p = Platform(home=home, subject_root="e2e", db_prefix="e2e", env=env)
    try:
        p.start()
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="package")
def new_tenant(platform: Platform) -> Callable[[str, str], str]:
    """Creates a tenant through the admin CLI, as an operator would; returns its first API key."""

    def create(name: str, tenant_id: str) -> str:
        out = platform.admin("tenants", "create", name, "--id", tenant_id)
        m = KEY_RE.search(out)
        assert m, out
        return m.group(0)

    return create


@pytest.fixture(scope="package")
def api(platform: Platform) -> Callable[[str], httpx.Client]:
    """An HTTP client of the public API authenticated with the given key."""

    def client(key: str) -> httpx.Client:
        return httpx.Client(base_url=platform.api_url, headers={"Authorization": f"Bearer {key}"},
                            timeout=60)

    return client
