"""`dengar sources reseal`: after a key rotation every source's secrets are sealed with the first key,
so the old key can be dropped; secrets no configured key opens are listed and left as they are."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from dengar_collector.adapters.source_store import SourceRepository
from dengar_collector.domain.sources import SourceRecord
from dengar_common.localinfra import LocalInfra
from dengar_common.secrets import SecretBox, generate_key

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def record(tenant: str, source_id: str, **secrets: Any) -> SourceRecord:
    return SourceRecord(id=source_id, tenant_id=tenant, name=source_id, kind="mastodon", config={},
                        interval_seconds=600, created_at=NOW, updated_at=NOW, **secrets)


def reseal(infra: LocalInfra, db: str, keys: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENGAR_")}
    env.update({"DENGAR_MONGO_URI": infra.mongo_uri, "DENGAR_COLLECTOR__DB": db,
                "DENGAR_COLLECTOR__SECRETS_KEYS": keys})
    return subprocess.run([sys.executable, "-m", "dengar_cli", "sources", "reseal"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


async def test_reseal_moves_every_source_to_the_first_key(infra: LocalInfra, mongo_client, unique) -> None:
    old, new, lost = generate_key(), generate_key(), generate_key()
    name = f"{unique}_collector"
    db = mongo_client[name]
    before = SourceRepository(db, SecretBox([old]))
    await before.insert("t1", record("t1", "pull", credentials={"access_token": "tok-1"}))
    await before.insert("t2", record("t2", "hook", webhook_secret="whsec-2"))
    await before.insert("t2", record("t2", "none"))
    await SourceRepository(db, SecretBox([lost])).insert("t3", record("t3", "lost", credentials={"k": "v"}))

    done = reseal(infra, name, f"{new},{old}")
    assert done.returncode == 1, done.stderr  # the one sealed with a key no longer configured
    # Pull sources without credentials hold a sealed empty set too.
    assert "sources: 3 re-sealed with the first key, 0 already were" in done.stdout, done.stdout
    assert "cannot be opened with the configured keys: t3/lost" in done.stdout
    assert "tok-1" not in done.stdout + done.stderr and "whsec-2" not in done.stdout + done.stderr

    # The new key alone opens them now, with the same values.
    after = SourceRepository(db, SecretBox([new]))
    pull, hook = await after.get("t1", "pull"), await after.get("t2", "hook")
    assert pull is not None and pull.credentials == {"access_token": "tok-1"} and not pull.secrets_error
    assert hook is not None and hook.webhook_secret == "whsec-2" and not hook.secrets_error
    lost_src = await after.get("t3", "lost")
    assert lost_src is not None and lost_src.secrets_error

    again = reseal(infra, name, f"{new},{old}")
    assert "sources: 0 re-sealed with the first key, 3 already were" in again.stdout, again.stdout


def test_reseal_needs_a_key(infra: LocalInfra, unique) -> None:
    done = reseal(infra, f"{unique}_collector", "")
    assert done.returncode == 2
    assert "DENGAR_COLLECTOR__SECRETS_KEYS" in done.stderr
