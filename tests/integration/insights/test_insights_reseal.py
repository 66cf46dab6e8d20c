"""`dengar channels reseal`: after a key rotation every alert channel's signing secret is sealed with
the first key (the secret itself unchanged), so the old key can be dropped; a secret no configured
key opens is listed and left as it is."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

from dengar_common.localinfra import LocalInfra
from dengar_common.secrets import SecretBox, generate_key
from dengar_insights.adapters.deliveries import MongoChannelStore
from dengar_insights.domain.channels import Channel

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def channel(tenant: str, channel_id: str, secret: str = "") -> Channel:
    return Channel(id=channel_id, tenant_id=tenant, name=channel_id, kind="webhook" if secret else "email",
                   url="https://hooks.example.com/x" if secret else "",
                   recipients=() if secret else ("ops@example.com",), created_at=NOW, updated_at=NOW,
                   secret=secret)


def reseal(infra: LocalInfra, db: str, keys: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENGAR_")}
    env.update({"DENGAR_MONGO_URI": infra.mongo_uri, "DENGAR_INSIGHTS__DB": db,
                "DENGAR_INSIGHTS__SECRETS_KEYS": keys})
    return subprocess.run([sys.executable, "-m", "dengar_cli", "channels", "reseal"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


async def test_reseal_moves_every_channel_secret_to_the_first_key(infra: LocalInfra, mongo_client,
                                                                  unique) -> None:
    old, new, lost = generate_key(), generate_key(), generate_key()
    name = f"{unique}_insights"
    db = mongo_client[name]
    await MongoChannelStore(db, SecretBox([old])).insert(channel("t1", "c1", "sig-1"))
    await MongoChannelStore(db, SecretBox([old])).insert(channel("t2", "c2", "sig-2"))
    await MongoChannelStore(db, SecretBox([old])).insert(channel("t2", "mail"))  # no secret
    await MongoChannelStore(db, SecretBox([lost])).insert(channel("t3", "c3", "sig-3"))

    done = reseal(infra, name, f"{new},{old}")
    assert done.returncode == 1, done.stderr  # the one sealed with a key no longer configured
    assert "channels: 2 re-sealed with the first key, 0 already were" in done.stdout, done.stdout
    assert "cannot be opened with the configured keys: t3/c3" in done.stdout
    assert "sig-" not in done.stdout + done.stderr

    after = MongoChannelStore(db, SecretBox([new]))
    for tenant, cid, secret in (("t1", "c1", "sig-1"), ("t2", "c2", "sig-2")):
        got = await after.get(tenant, cid)
        assert got is not None and got.secret == secret
    unreadable = await after.get("t3", "c3")
    assert unreadable is not None and unreadable.secret == ""

    again = reseal(infra, name, f"{new},{old}")
    assert "channels: 0 re-sealed with the first key, 2 already were" in again.stdout, again.stdout


def test_reseal_needs_a_key(infra: LocalInfra, unique) -> None:
    done = reseal(infra, f"{unique}_insights", "")
    assert done.returncode == 2
    assert "DENGAR_INSIGHTS__SECRETS_KEYS" in done.stderr
