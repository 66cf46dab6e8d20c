"""Operator commands on the collector's database.

    dengar sources reseal   seal every source's credentials and webhook secret again with the
                            first key of DENGAR_COLLECTOR__SECRETS_KEYS: after putting a new key
                            first, before dropping the old one (docs/operations.md)

Settings come from the environment like the service's (DENGAR_MONGO_URI, DENGAR_COLLECTOR__DB,
DENGAR_COLLECTOR__SECRETS_KEYS).
Exit status: 0 done, 1 some could not be opened with the configured keys (listed; they keep their
old ciphertext) or the store failed, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from pymongo.errors import PyMongoError

from dengar_collector.adapters.source_store import SourceRepository
from dengar_collector.settings import CollectorSettings
from dengar_common.cliplugin import Command
from dengar_common.mongo import make_client
from dengar_common.secrets import ResealReport, SecretBox
from dengar_common.settings import ConfigError, load_settings


async def _reseal(settings: CollectorSettings, box: SecretBox) -> ResealReport:
    client = make_client(settings.mongo_uri, app_name="dengar-cli")
    try:
        return await SourceRepository(client[settings.collector.db], box).reseal_all()
    finally:
        await client.close()


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dengar sources", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("reseal", help="seal every source's credentials and webhook secret with the "
                                       "first key of DENGAR_COLLECTOR__SECRETS_KEYS")
    parser.parse_args(argv)
    try:
        settings = load_settings(CollectorSettings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    box = SecretBox.from_setting(settings.collector.secrets_keys.get_secret_value())
    if not box.encrypts:
        print("DENGAR_COLLECTOR__SECRETS_KEYS is not set: there is no key to seal with", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(_reseal(settings, box))
    except PyMongoError as exc:
        print(f"the store failed: {exc}", file=sys.stderr)
        return 1
    print(report.summary("sources"))
    return 1 if report.unreadable else 0


COMMAND = Command(run=run, help="re-seal stored source secrets with the first key (after a key rotation)",
                  args="reseal")
