"""Records the commands the insights service sends to the store and checks each one against the
shard keys of ``dengar_insights.adapters.sharding``: on a sharded collection a query, update,
delete or aggregation must name the tenant (the shard key's prefix) by equality, an upsert must name
the whole shard key, an insert must carry it, and no update may change it. What mongos could not
route to the tenant's shards (a scatter-gather) or would refuse is reported as a violation.

The insights integration tests run the service with this listener (``insights_helpers.running``),
and their conftest fails a test whose commands broke the rule.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pymongo import monitoring

from dengar_insights.adapters.sharding import SHARD_KEYS

Doc = Mapping[str, Any]
READS = ("find", "count", "distinct")


def _equality(value: Any) -> bool:
    """A filter value that pins the field to known values (equality, or a list of them)."""
    if isinstance(value, Mapping):
        ops = set(value)
        if ops == {"$eq"}:
            return True
        if ops == {"$in"}:
            return bool(value["$in"])
        return False
    return value is not None


def _pins(flt: Doc, name: str) -> bool:
    if name in flt and _equality(flt[name]):
        return True
    return any(isinstance(c, Mapping) and _pins(c, name) for c in flt.get("$and", ()))


def _exact(flt: Doc, name: str) -> bool:
    """An equality on a single value (what an upsert must give for each shard-key field)."""
    v = flt.get(name)
    if isinstance(v, Mapping):
        return set(v) == {"$eq"}
    return v is not None or any(isinstance(c, Mapping) and _exact(c, name) for c in flt.get("$and", ()))


def _touched(update: Any) -> set[str]:
    if isinstance(update, list):  # an aggregation pipeline update
        return {k for stage in update for spec in stage.values() if isinstance(spec, Mapping) for k in spec}
    if not isinstance(update, Mapping):
        return set()
    if not any(k.startswith("$") for k in update):  # a replacement
        return set(update)
    out: set[str] = set()
    for op, spec in update.items():
        if op != "$setOnInsert" and isinstance(spec, Mapping):
            out.update(k.split(".", 1)[0] for k in spec)
    return out


# Commands that go to every shard on purpose, with the reason: background jobs over all tenants
# that run rarely and read only an index on each shard. Anything else must name its tenant.
EXEMPT = {
    ("mentions", "distinct", "tenant_id"):
        "the retention sweep lists the tenants that have mentions (a DISTINCT_SCAN of the "
        "tenant_id prefix on each shard, once per sweep)",
}


def _offboarding(flt: Any) -> bool:
    """Deleting a tenant (`dengar tenants delete`, rare) finds and deletes its documents in every
    collection by ``tenant_id`` or, for per-tenant counters, by ``_id`` = the tenant: on a sharded
    collection the ``_id`` branch asks every shard's _id index once."""
    if not isinstance(flt, Mapping) or not set(flt) <= {"$or", "_id"} or "$or" not in flt:
        return False
    branches = flt["$or"]
    return (len(branches) == 2 and set(branches[0]) == {"tenant_id"} and set(branches[1]) == {"_id"}
            and branches[0]["tenant_id"] == branches[1]["_id"])


def _set_value(update: Any, name: str) -> Any:
    """The value a ``$set`` gives ``name``, or a marker that matches no filter value."""
    if isinstance(update, Mapping) and isinstance(update.get("$set"), Mapping) and name in update["$set"]:
        return update["$set"][name]
    return _UNKNOWN


_UNKNOWN = object()


@dataclass
class ShardKeyListener(monitoring.CommandListener):
    """Checks every command on a sharded collection as it starts. ``seen`` counts (collection,
    command) pairs checked, ``exempted`` those let through by ``EXEMPT``; ``violations`` lists
    what broke the rule."""

    keys: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: SHARD_KEYS)
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    exempted: Counter[tuple[str, str]] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        cmd, name = event.command, event.command_name
        coll = cmd.get(name)
        if not isinstance(coll, str) or coll not in self.keys:
            return
        key = list(self.keys[coll])
        prefix = key[0]
        problems: list[str] = []
        if ((coll, name, cmd.get("key")) in EXEMPT and not cmd.get("query")) or (
                name == "find" and _offboarding(cmd.get("filter"))) or (
                name == "delete" and all(_offboarding(d.get("q")) for d in cmd.get("deletes", []))):
            with self._lock:
                self.exempted[(coll, name)] += 1
            return
        if name in READS:
            flt = cmd.get("filter" if name == "find" else "query") or {}
            if not _pins(flt, prefix):
                problems.append(f"{name} without {prefix}: {flt}")
        elif name == "aggregate":
            pipeline = cmd.get("pipeline") or []
            first = pipeline[0] if pipeline else {}
            if not _pins(first.get("$match", {}), prefix):
                problems.append(f"aggregate not starting with a $match on {prefix}: {pipeline[:1]}")
        elif name == "update":
            for u in cmd.get("updates", []):
                problems += self._write(key, u.get("q") or {}, u.get("u"), upsert=bool(u.get("upsert")))
        elif name == "findAndModify":
            problems += self._write(key, cmd.get("query") or {}, cmd.get("update"),
                                    upsert=bool(cmd.get("upsert")))
        elif name == "delete":
            for d in cmd.get("deletes", []):
                if not _pins(d.get("q") or {}, prefix):
                    problems.append(f"delete without {prefix}: {d.get('q')}")
        elif name == "insert":
            for doc in cmd.get("documents", []):
                if missing := [k for k in key if k not in doc]:
                    problems.append(f"insert of a document without {missing}")
        else:
            return
        with self._lock:
            self.seen[(coll, name)] += 1
            self.violations.extend(f"{coll}: {p}" for p in problems)

    @staticmethod
    def _write(key: list[str], flt: Doc, update: Any, *, upsert: bool) -> list[str]:
        problems = []
        if not _pins(flt, key[0]):
            problems.append(f"update without {key[0]}: {flt}")
        if upsert and (missing := [k for k in key if not _exact(flt, k)]):
            problems.append(f"upsert without equality on {missing}: {flt}")
        # Setting a key field to the value the filter pins it to changes nothing; anything else
        # would move the document to another chunk.
        moved = {k for k in _touched(update) & set(key) if _set_value(update, k) != flt.get(k)}
        if moved:
            problems.append(f"update may change the shard key {sorted(moved)}")
        return problems

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


#: The one listener the insights integration tests run the service with.
LISTENER = ShardKeyListener()
