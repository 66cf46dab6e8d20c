"""Operator commands on the gateway's database: tenants and API keys.

    dengar tenants create NAME [--id ID] [--json]   a tenant and its first key (all scopes)
    dengar tenants list [--json]
    dengar tenants limits TENANT [NAME=VALUE ...] [--reset NAME] [--json]   show or set its quotas
    dengar tenants delete T [--json]                 every piece of the tenant's data, in every service
    dengar tenants retention T [--days N|--forever|--default] [--json]
    dengar keys create --tenant T --scopes read,ingest [--name N] [--json]
    dengar keys list --tenant T [--json]
    dengar keys revoke KEY_ID

Settings come from the environment like the service's (DENGAR_MONGO_URI, DENGAR_GATEWAY__DB,
DENGAR_GATEWAY__COLLECTOR_TARGET and DENGAR_GATEWAY__INSIGHTS_TARGET for delete and retention). Without
DENGAR_MONGO_URI the commands use the local platform started by `make run` (`dengar run`), found in
--home / DENGAR_HOME / ./.dengar; with neither, they say so and exit 2.
Secrets go to stdout only; notes go to stderr, so ``$(dengar tenants create ...)`` stays clean.
Exit status: 0 done, 1 failed (no such tenant/key, tenant exists, database down), 2 bad usage or no
platform to reach.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from pymongo.errors import PyMongoError

from dengar_common.cliplugin import Command
from dengar_common.errors import DomainError, InvalidArgument
from dengar_common.localstate import PlatformNotRunning, require_running
from dengar_common.mongo import make_client
from dengar_common.settings import ConfigError, load_settings
from dengar_gateway.adapters.store import GatewayStore
from dengar_gateway.adapters.tenant_admin import TenantAdmin
from dengar_gateway.domain.keys import ApiKeyRecord, parse_scopes
from dengar_gateway.domain.quotas import OVERRIDABLE, TenantLimits, check_override
from dengar_gateway.domain.ratelimit import TokenBucketLimiter
from dengar_gateway.service_layer.accounts import Accounts, RateLimit
from dengar_gateway.service_layer.offboarding import TenantDeletion
from dengar_gateway.service_layer.quotas import KeyQuota, TenantQuotas
from dengar_gateway.settings import GatewaySettings


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dengar", description="Manage Dengar tenants and API keys.")
    groups = parser.add_subparsers(dest="group", required=True)
    # On every leaf, so that it goes where users type it: `dengar tenants list --home DIR`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", default=None,
                        help="state directory of the local platform started by `make run` "
                             "(env DENGAR_HOME, default ./.dengar); used unless DENGAR_MONGO_URI is set")

    tenants = groups.add_parser("tenants", help="tenants").add_subparsers(dest="command", required=True)
    create = tenants.add_parser("create", parents=[common],
                                help="create a tenant and print its first API key")
    create.add_argument("name", help="display name; the id is derived from it unless --id is given")
    create.add_argument("--id", dest="tenant_id", help="tenant id ([a-z0-9][a-z0-9_-]{0,62})")
    create.add_argument("--json", action="store_true", help="print JSON")
    tlist = tenants.add_parser("list", parents=[common], help="list tenants")
    tlist.add_argument("--json", action="store_true", help="print JSON")
    tlimits = tenants.add_parser(
        "limits", parents=[common],
        help="show a tenant's quotas; set its own with NAME=VALUE (rate_per_s, max_keys, max_streams)")
    tlimits.add_argument("tenant")
    tlimits.add_argument("values", nargs="*", metavar="NAME=VALUE",
                         help="rate_per_s (requests/s of all its keys, 0: unlimited), max_keys, max_streams")
    tlimits.add_argument("--reset", action="append", default=[], metavar="NAME",
                         help="back to the service's default (repeatable)")
    tlimits.add_argument("--json", action="store_true", help="print JSON")
    tdelete = tenants.add_parser(
        "delete", parents=[common],
        help="delete a tenant and all of its data in every service (idempotent: run it again to "
             "finish an interrupted deletion)")
    tdelete.add_argument("tenant_id")
    tdelete.add_argument("--json", action="store_true", help="print JSON")
    tdelete.add_argument("--settle-s", type=float, default=None,
                         help="wait between the two deletion passes (default: the services' "
                              "tombstone cache time, 6 s)")
    tret = tenants.add_parser("retention", parents=[common],
                              help="show or set how long a tenant's mentions are kept")
    tret.add_argument("tenant_id")
    how = tret.add_mutually_exclusive_group()
    how.add_argument("--days", type=int, help="keep mentions this many days (by their created_at)")
    how.add_argument("--forever", action="store_true", help="keep this tenant's mentions forever")
    how.add_argument("--default", action="store_true",
                     help="back to the default (DENGAR_INSIGHTS__RETENTION__DEFAULT_DAYS)")
    tret.add_argument("--json", action="store_true", help="print JSON")

    keys = groups.add_parser("keys", help="API keys").add_subparsers(dest="command", required=True)
    kcreate = keys.add_parser("create", parents=[common], help="create an API key and print it")
    kcreate.add_argument("--tenant", required=True)
    kcreate.add_argument("--scopes", default="read,ingest",
                         help="comma-separated: ingest, read, admin (default: read,ingest)")
    kcreate.add_argument("--name", default="", help="a label for the key")
    kcreate.add_argument("--json", action="store_true", help="print JSON")
    klist = keys.add_parser("list", parents=[common], help="list a tenant's keys (never their secrets)")
    klist.add_argument("--tenant", required=True)
    klist.add_argument("--json", action="store_true", help="print JSON")
    revoke = keys.add_parser("revoke", parents=[common], help="revoke a key: it stops working at once")
    revoke.add_argument("key_id")
    return parser


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _note(text: str) -> None:
    sys.stderr.write(text + "\n")


def _key_fields(record: ApiKeyRecord) -> dict[str, Any]:
    return {"key_id": record.key_id, "tenant_id": record.tenant_id, "name": record.name,
            "scopes": list(record.scopes), "created_at": record.created_at.isoformat(),
            "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None}


def _print_key(record: ApiKeyRecord, secret: str, *, as_json: bool, extra: dict[str, Any]) -> None:
    if as_json:
        _out(json.dumps({**extra, **_key_fields(record), "api_key": secret}))
    else:
        for k, v in {**extra, "key_id": record.key_id, "scopes": ",".join(record.scopes),
                     "api_key": secret}.items():
            _out(f"{k}: {v}")
    _note("Store the API key now: it cannot be shown again.")


def _parse_limits(values: list[str], reset: list[str]) -> dict[str, float | int]:
    parsed: dict[str, float | int] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep:
            raise CliError(f"expected NAME=VALUE, got {item!r}", 2)
        try:
            parsed[name.strip()] = check_override(name.strip(), raw.strip())
        except ValueError as exc:
            raise CliError(str(exc), 2) from None
    for name in reset:
        if name not in OVERRIDABLE:
            raise CliError(f"unknown limit {name!r}; known: {', '.join(OVERRIDABLE)}", 2)
    return parsed


async def _limits(args: argparse.Namespace, store: GatewayStore, defaults: TenantLimits) -> None:
    own = await store.quotas.set_limits(args.tenant, _parse_limits(args.values, args.reset), args.reset)
    if own is None:
        raise CliError(f"no tenant {args.tenant!r} (create it with: dengar tenants create NAME)")
    effective = asdict(defaults.with_overrides(own))
    if args.json:
        _out(json.dumps({"tenant_id": args.tenant, "limits": effective,
                         "own": sorted(k for k in own if k in OVERRIDABLE)}))
    else:
        for name, value in effective.items():
            _out(f"{name}: {value:g}{'' if name in own else ' (default)'}")
    if args.values or args.reset:
        _note("Gateways pick the change up within DENGAR_GATEWAY__QUOTAS__LIMITS_CACHE_S.")


async def _run(args: argparse.Namespace, accounts: Accounts, store: GatewayStore,
               defaults: TenantLimits) -> None:
    if args.group == "tenants" and args.command == "create":
        tenant, record, secret = await accounts.create_tenant(args.name, args.tenant_id)
        _print_key(record, secret, as_json=args.json,
                   extra={"tenant_id": tenant.tenant_id, "name": tenant.name})
    elif args.group == "tenants" and args.command == "list":
        tenants = await accounts.list_tenants()
        if args.json:
            _out(json.dumps([{"tenant_id": t.tenant_id, "name": t.name,
                              "created_at": t.created_at.isoformat()} for t in tenants]))
        else:
            for t in tenants:
                _out(f"{t.tenant_id}\t{t.name}\t{t.created_at.isoformat()}")
    elif args.group == "tenants" and args.command == "limits":
        await _limits(args, store, defaults)
    elif args.group == "keys" and args.command == "create":
        try:
            scopes = parse_scopes(args.scopes.split(","))
        except ValueError as exc:
            raise CliError(str(exc), 2) from None
        record, secret = await accounts.create_key(args.tenant, scopes, args.name, check_tenant=True)
        _print_key(record, secret, as_json=args.json, extra={"tenant_id": args.tenant})
    elif args.group == "keys" and args.command == "list":
        records = await accounts.list_keys(args.tenant)
        if args.json:
            _out(json.dumps([_key_fields(r) for r in records]))
        else:
            for r in records:
                state = f"revoked {r.revoked_at.isoformat()}" if r.revoked_at else "active"
                _out(f"{r.key_id}\t{','.join(r.scopes)}\t{state}\t{r.name}")
    elif args.group == "keys" and args.command == "revoke":
        tenant_id = await accounts.revoke_key(None, args.key_id)
        _out(f"revoked {args.key_id} (tenant {tenant_id})")


async def _delete_tenant(args: argparse.Namespace, settings: GatewaySettings, store: GatewayStore) -> None:
    admin = _admin(settings)
    try:
        settle = {} if args.settle_s is None else {"settle_s": max(0.0, args.settle_s)}
        deletion = TenantDeletion(store.tenants, store.keys, store.idempotency, admin.services,
                                  quotas=store.quotas, **settle)
        report = await deletion.delete(args.tenant_id)
    finally:
        await admin.close()
    if args.json:
        _out(json.dumps({"tenant_id": report.tenant_id, "deleted": True, "removed": report.removed}))
    else:
        for service, counts in report.removed.items():
            for name, n in sorted(counts.items()):
                _out(f"{service}\t{name}\t{n}")
        _note(f"tenant {report.tenant_id} deleted")


async def _retention(args: argparse.Namespace, settings: GatewaySettings, store: GatewayStore) -> None:
    if await store.tenants.get(args.tenant_id) is None:
        raise CliError(f"no tenant {args.tenant_id!r}")
    if args.days is not None and args.days <= 0:
        raise CliError("--days must be positive (use --forever to keep everything)", 2)
    admin = _admin(settings)
    try:
        if args.days is not None or args.forever or args.default:
            r = await admin.set_retention(args.tenant_id, days=args.days, forever=args.forever)
        else:
            r = await admin.get_retention(args.tenant_id)
    finally:
        await admin.close()
    if args.json:
        _out(json.dumps({"tenant_id": r.tenant_id, "days": r.days, "is_default": r.is_default}))
    else:
        kept = "forever" if r.days == 0 else f"{r.days} days"
        _out(f"{r.tenant_id}\t{kept}\t{'default' if r.is_default else 'own'}")


def _admin(settings: GatewaySettings) -> TenantAdmin:
    # Deleting a big tenant takes a while: each call gets far longer than an API request.
    return TenantAdmin(collector_target=settings.gateway.collector_target,
                       insights_target=settings.gateway.insights_target,
                       timeout_s=max(600.0, settings.gateway.grpc_timeout_s))


async def _main(args: argparse.Namespace, settings: GatewaySettings) -> None:
    client = make_client(settings.mongo_uri, app_name="dengar-cli")
    try:
        store = GatewayStore(client[settings.gateway.db])
        await store.ensure_indexes()
        cfg = settings.gateway
        defaults = TenantLimits(rate_per_s=cfg.quotas.rate_per_s, max_keys=cfg.quotas.max_keys,
                                max_streams=cfg.stream.max_per_tenant)
        # The operator is not rate limited; a tenant's key limit holds here too.
        key_quota = KeyQuota(store.quotas, TenantQuotas(store.quotas, defaults, cache_s=0))
        accounts = Accounts(store.tenants, store.keys, RateLimit(TokenBucketLimiter(0, 1)),
                            key_quota=key_quota)
        if args.group == "tenants" and args.command == "delete":
            await _delete_tenant(args, settings, store)
            return
        if args.group == "tenants" and args.command == "retention":
            await _retention(args, settings, store)
            return
        await _run(args, accounts, store, defaults)
    finally:
        await client.close()


def _local_platform(home: str | None) -> dict[str, Any]:
    """Settings of the running local platform, unless DENGAR_MONGO_URI says where the store is."""
    if os.environ.get("DENGAR_MONGO_URI"):
        return {}
    state = require_running(home, setting="DENGAR_MONGO_URI")
    overrides: dict[str, Any] = {"mongo_uri": state.mongo_uri}
    gateway: dict[str, str] = {}
    if not os.environ.get("DENGAR_GATEWAY__DB"):
        gateway["db"] = state.gateway_db
    for name, target in (("collector", state.collector_target), ("insights", state.insights_target)):
        if target and not os.environ.get(f"DENGAR_GATEWAY__{name.upper()}_TARGET"):
            gateway[f"{name}_target"] = target
    if gateway:
        overrides["gateway"] = gateway
    return overrides


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or bad usage (2): return it instead of exiting
        return exc.code if isinstance(exc.code, int) else 2
    try:
        settings = load_settings(GatewaySettings, **_local_platform(args.home))
        asyncio.run(_main(args, settings))
    except PlatformNotRunning as exc:
        _note(f"dengar: {exc}")
        return 2
    except CliError as exc:
        _note(f"dengar: {exc}")
        return exc.code
    except DomainError as exc:  # bad input is a usage error; a missing or existing tenant/key is not
        _note(f"dengar: {exc}")
        return 2 if isinstance(exc, InvalidArgument) else 1
    except ConfigError as exc:
        _note(f"dengar: {exc}")
        return 2
    except PyMongoError as exc:
        _note(f"dengar: database error: {exc}")
        return 1
    return 0


def _group(group: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        return main([group, *argv])
    return run


# `dengar tenants` and `dengar keys`, through the dengar.cli entry-point group.
TENANTS = Command(_group("tenants"), "create a tenant and print its first API key; list and delete "
                  "tenants; show or set their quotas and retention",
                  "create NAME|list|limits T|delete T|retention T")
KEYS = Command(_group("keys"), "create, list and revoke a tenant's API keys", "create|list|revoke")


if __name__ == "__main__":
    raise SystemExit(main())
