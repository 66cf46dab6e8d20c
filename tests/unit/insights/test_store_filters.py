"""Filters on a tenant's documents by id lead with ``_id`` (adapters/store.py ``ids_filter``)."""

from __future__ import annotations

import ast
from pathlib import Path

from dengar_insights.adapters.store import ids_filter

SERVICES = Path(__file__).resolve().parents[3] / "services"


def test_ids_filter_leads_with_the_id_and_keeps_the_tenant() -> None:
    flt = ids_filter("acme", iter(["m1", "m2"]))
    assert list(flt) == ["_id", "tenant_id"]
    assert flt == {"_id": {"$in": ["m1", "m2"]}, "tenant_id": "acme"}


def _id_in_filters_not_led_by_id(path: Path) -> list[int]:
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Dict):
            continue
        keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
        if "_id" not in keys or "tenant_id" not in keys:
            continue
        value = node.values[keys.index("_id")]
        is_in = isinstance(value, ast.Dict) and any(
            isinstance(k, ast.Constant) and k.value == "$in" for k in value.keys)
        if is_in and keys[0] != "_id":
            bad.append(node.lineno)
    return bad


def test_no_adapter_filters_a_tenant_by_ids_with_the_tenant_first() -> None:
    # SecantusDB (the local store) scans the tenant's index entries for {tenant_id, _id: {$in}}:
    # each ingest batch then cost more with every stored post (see ids_filter).
    offenders = {str(p.relative_to(SERVICES)): lines
                 for p in SERVICES.glob("*/dengar_*/adapters/*.py")
                 if (lines := _id_in_filters_not_led_by_id(p))}
    assert offenders == {}
