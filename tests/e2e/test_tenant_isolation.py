"""End to end: no route of the public API lets one tenant reach another's data.

Tenant A creates one of everything (posts and so mentions with a workflow note, a listening query,
a category, a source, an import, a key, an alert channel, rule, digest, a fired alert and its
delivery). Tenant B, with a key holding every scope, then calls every operation of the OpenAPI:

* an operation on an id is called with A's id and answers 404, without A's data;
* a list, search, export, stream or analytics operation shows nothing of A (none of A's ids nor
  A's marker word, and no volume: B has no posts);
* a create is B's own, and shows nothing of A.

``ROUTES`` says how each operation is exercised; an operation of the OpenAPI missing from it fails
the test, so a new route cannot go without its isolation check. Afterwards A's resources are all
still there, unchanged by B's attempts.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dengar_cli.platform import Platform

pytestmark = pytest.mark.e2e

# A word nothing else in the suite writes: it marks everything of A's.
MARK = "zqxvelorin"
NOW = datetime.now(UTC).replace(microsecond=0)
# Names are unique per tenant: a run of its own (the test against a long-lived platform).
RUN = uuid.uuid4().hex[:8]
WINDOW = {"from": (NOW - timedelta(days=2)).isoformat(), "to": (NOW + timedelta(days=1)).isoformat()}


@dataclass(frozen=True)
class ById:
    """Called by B with A's ``ids`` in the path (and the body, query or form given): 404."""

    body: dict[str, Any] | None = None
    query: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Listing:
    """Called by B (with these query parameters, A's ids filled in): 2xx without A's data."""

    query: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Create:
    """Called by B with this body (A's ids filled in) or these files: B's own, without A's data."""

    body: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class Custom:
    """Exercised by a function of its own (B's client, A's client, A's ids)."""

    check: Callable[[httpx.Client, httpx.Client, dict[str, str]], None]


@dataclass(frozen=True)
class Public:
    """Not tenant-scoped: no API key, nothing of a tenant in the answer."""

    why: str


def _fill(value: Any, ids: dict[str, str]) -> Any:
    """``"{query_id}"`` and the like replaced by A's ids, anywhere in a JSON value."""
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _bulk(b: httpx.Client, a: httpx.Client, ids: dict[str, str]) -> None:
    r = b.post("/v1/mentions/workflow:bulk", json={"ids": [ids["mention_id"]],
                                                   "change": {"state": "resolved"}})
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == [] and r.json()["missing"] == [ids["mention_id"]], r.text
    # Without ids the filter covers B's mentions only: none.
    r = b.post("/v1/mentions/workflow:bulk", params={"q": MARK}, json={"change": {"state": "resolved"}})
    assert r.status_code == 200 and r.json()["updated"] == [], r.text
    assert a.get(f"/v1/mentions/{ids['mention_id']}").json()["workflow"]["state"] != "resolved"


def _webhook(b: httpx.Client, a: httpx.Client, ids: dict[str, str]) -> None:
    # Webhooks authenticate by the source's signature: B's API key is no way into A's source.
    r = b.post(f"/v1/webhooks/{ids['source_id']}", json={"posts": []})
    assert r.status_code == 401, r.text
    assert MARK not in r.text


def _stream(b: httpx.Client, a: httpx.Client, ids: dict[str, str]) -> None:
    # Replays the window, then keeps streaming: read it for a while.
    seen = []
    deadline = time.monotonic() + 4
    with b.stream("GET", "/v1/stream/mentions", params={"from": WINDOW["from"]},
                  timeout=httpx.Timeout(10, read=4)) as r:
        assert r.status_code == 200, r.read()
        try:
            for line in r.iter_lines():
                seen.append(line)
                if time.monotonic() > deadline:
                    break
        except httpx.ReadTimeout:
            pass  # quiet between heartbeats: the replay is over
    assert any(line.startswith("event: open") for line in seen), seen
    _assert_nothing_of_a("\n".join(seen), ids)


def _digest(b: httpx.Client, a: httpx.Client, ids: dict[str, str]) -> None:
    # A digest needs a channel of its own tenant: B's works, A's is unknown to B.
    channel = _ok(b.post("/v1/alerts/channels", json={"name": f"B's digest hook {RUN}", "kind": "webhook",
                                                     "url": "https://hooks.example.com/b"}))["id"]
    digest = {"name": f"B's digest {RUN}", "frequency": "daily", "time": "08:00"}
    r = b.post("/v1/alerts/digests", json={**digest, "channel_ids": [ids["channel_id"]]})
    assert r.status_code in (404, 422), r.text
    _assert_nothing_of_a(r.text, ids, r.request)
    r = b.post("/v1/alerts/digests", json={**digest, "channel_ids": [channel]})
    assert r.status_code == 201, r.text
    _assert_nothing_of_a(r.text, ids, r.request)


def _health(path: str) -> Custom:
    def check(b: httpx.Client, a: httpx.Client, ids: dict[str, str]) -> None:
        r = httpx.get(f"{b.base_url}{path}", timeout=10)
        assert r.status_code == 200, r.text
        _assert_nothing_of_a(r.text, ids, r.request)

    return Custom(check)


CSV = f"id,message,posted\nb1,halo dari b,{NOW.isoformat()}\n".encode()
IMPORT_FORM = {"map": ["external_id=id", "text=message", "created_at=posted"], "default_platform": "x"}

ROUTES: dict[str, ById | Listing | Create | Custom | Public] = {
    "GET /healthz": _health("/healthz"),
    "GET /readyz": _health("/readyz"),
    "POST /v1/webhooks/{source_id}": Custom(_webhook),
    # Posts, mentions and the inbox.
    "POST /v1/posts": Create({"posts": [{"platform": "x", "external_id": "{mention_external_id}",
                                         "text": "a post of B", "created_at": NOW.isoformat(),
                                         "author": {"id": "b-author", "handle": "b_author"}}]}),
    "GET /v1/mentions": Listing({"q": MARK, **WINDOW}),
    "GET /v1/mentions/export": Listing({"format": "ndjson"}),
    "GET /v1/mentions/{mention_id}": ById(),
    "GET /v1/mentions/{mention_id}/audit": ById(),
    "PATCH /v1/mentions/{mention_id}/workflow": ById({"state": "resolved", "note": "by B"}),
    "POST /v1/mentions/{mention_id}/notes": ById({"text": "by B"}),
    "POST /v1/mentions/workflow:bulk": Custom(_bulk),
    "GET /v1/inbox/counts": Listing(),
    "GET /v1/stream/mentions": Custom(_stream),
    # Analytics and insights, plain and on A's query or category.
    "GET /v1/analytics/timeseries": Listing({**WINDOW, "query_id": "{query_id}"}),
    "GET /v1/analytics/summary": Listing({**WINDOW, "category_id": "{category_id}"}),
    "GET /v1/analytics/share-of-voice": Listing({**WINDOW, "query_id": "{query_id}"}),
    "GET /v1/insights/spikes": Listing(WINDOW),
    "GET /v1/insights/compare": Listing(WINDOW),
    "GET /v1/insights/brief": Listing(WINDOW),
    "GET /v1/insights/topics": Listing(WINDOW),
    "GET /v1/insights/authors": Listing(WINDOW),
    "GET /v1/insights/posts": Listing(WINDOW),
    "GET /v1/insights/campaigns": Listing(WINDOW),
    "POST /v1/analyze": Create({"texts": ["halo"]}),
    # Keys.
    "GET /v1/keys": Listing(),
    "POST /v1/keys": Create({"scopes": ["read"], "name": f"B's reader {RUN}"}),
    "DELETE /v1/keys/{key_id}": ById(),
    # Listening queries.
    "GET /v1/queries": Listing(),
    "POST /v1/queries": Create({"name": f"B's query {RUN}", "role": "brand", "expression": "halo"}),
    "POST /v1/queries/validate": Create({"expression": "halo AND dunia"}),
    "GET /v1/queries/{query_id}": ById(),
    "PATCH /v1/queries/{query_id}": ById({"enabled": False}),
    "DELETE /v1/queries/{query_id}": ById(),
    # Sources.
    "GET /v1/sources": Listing(),
    "POST /v1/sources": Create({"name": f"B's hook {RUN}", "kind": "webhook"}),
    "GET /v1/sources/{source_id}": ById(),
    "PATCH /v1/sources/{source_id}": ById({"name": f"taken by B {RUN}"}),
    "DELETE /v1/sources/{source_id}": ById(),
    "POST /v1/sources/{source_id}/pause": ById(),
    "POST /v1/sources/{source_id}/resume": ById(),
    "POST /v1/sources/{source_id}/run": ById(),
    "POST /v1/sources/{source_id}/rotate-secret": ById(),
    # Imports.
    "POST /v1/imports": Create(files={"file": ("b.csv", CSV, "text/csv")}, data=IMPORT_FORM),
    "GET /v1/imports": Listing(),
    "GET /v1/imports/{import_id}": ById(),
    # Categories.
    "GET /v1/categories": Listing(),
    "POST /v1/categories": Create({"name": f"B's category {RUN}", "expression": "halo"}),
    "GET /v1/categories/{category_id}": ById(),
    "PATCH /v1/categories/{category_id}": ById({"name": f"taken by B {RUN}"}),
    "DELETE /v1/categories/{category_id}": ById(),
    # Alerts: channels, deliveries, digests, rules, alerts.
    "GET /v1/alerts/channels": Listing(),
    "POST /v1/alerts/channels": Create({"name": f"B's hook {RUN}", "kind": "webhook",
                                        "url": "https://hooks.example.com/b"}),
    "GET /v1/alerts/channels/{channel_id}": ById(),
    "PUT /v1/alerts/channels/{channel_id}": ById({"name": f"taken by B {RUN}", "kind": "webhook",
                                                  "url": "https://hooks.example.com/b"}),
    "DELETE /v1/alerts/channels/{channel_id}": ById(),
    "POST /v1/alerts/channels/{channel_id}/rotate-secret": ById(),
    "GET /v1/alerts/deliveries": Listing(),
    "GET /v1/alerts/deliveries/{delivery_id}": ById(),
    "POST /v1/alerts/deliveries/{delivery_id}/redeliver": ById(),
    "GET /v1/alerts/digests": Listing(),
    "POST /v1/alerts/digests": Custom(_digest),
    "GET /v1/alerts/digests/{digest_id}": ById(),
    "PUT /v1/alerts/digests/{digest_id}": ById({"name": f"taken by B {RUN}", "frequency": "daily",
                                                "time": "08:00", "channel_ids": []}),
    "DELETE /v1/alerts/digests/{digest_id}": ById(),
    "GET /v1/alerts/rules": Listing(),
    "POST /v1/alerts/rules": Create({"name": f"B's rule {RUN}", "condition": "mention_match",
                                     "expression": "halo", "channel_ids": []}),
    "GET /v1/alerts/rules/{rule_id}": ById(),
    "PATCH /v1/alerts/rules/{rule_id}": ById({"severity": "info"}),
    "DELETE /v1/alerts/rules/{rule_id}": ById(),
    "GET /v1/alerts": Listing({"rule_id": "{rule_id}"}),
    "GET /v1/alerts/{alert_id}": ById(),
}

# Read back by A at the end: B's attempts changed none of them.
A_RESOURCES = {"query_id": "/v1/queries/{}", "source_id": "/v1/sources/{}", "import_id": "/v1/imports/{}",
               "category_id": "/v1/categories/{}", "channel_id": "/v1/alerts/channels/{}",
               "digest_id": "/v1/alerts/digests/{}", "rule_id": "/v1/alerts/rules/{}",
               "alert_id": "/v1/alerts/{}", "delivery_id": "/v1/alerts/deliveries/{}",
               "mention_id": "/v1/mentions/{}"}


# The members B's attempts would have changed.
SETTLED = ("name", "enabled", "expression", "role", "severity", "paused", "kind", "url", "frequency",
           "time", "channel_ids", "workflow", "config", "interval_seconds", "examples")


def _settled(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: resource[k] for k in SETTLED if k in resource}


def _ok(r: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert r.status_code in (statuses or (200, 201, 202)), f"{r.request.method} {r.request.url}: {r.text}"
    return r.json()


def _wait(what: str, probe: Callable[[], str | None], timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"A's {what} did not appear in {timeout}s")


def seed_tenant_a(a: httpx.Client) -> dict[str, str]:
    """One of everything for A, each marked with MARK; returns the ids by path parameter name."""
    ids: dict[str, str] = {}
    ids["channel_id"] = _ok(a.post("/v1/alerts/channels", json={
        "name": f"{MARK} hook {RUN}", "kind": "webhook", "url": "http://127.0.0.1:9/hook"}))["id"]
    ids["rule_id"] = _ok(a.post("/v1/alerts/rules", json={
        "name": f"{MARK} rule {RUN}", "condition": "mention_match", "expression": MARK,
        "channel_ids": [ids["channel_id"]]}))["id"]
    ids["digest_id"] = _ok(a.post("/v1/alerts/digests", json={
        "name": f"{MARK} digest {RUN}", "frequency": "daily", "time": "08:00",
        "channel_ids": [ids["channel_id"]]}))["id"]
    ids["query_id"] = _ok(a.post("/v1/queries", json={
        "name": f"{MARK} query {RUN}", "role": "brand", "expression": MARK}))["id"]
    ids["category_id"] = _ok(a.post("/v1/categories", json={
        "name": f"{MARK} category {RUN}", "expression": MARK}))["id"]
    ids["source_id"] = _ok(a.post("/v1/sources", json={
        "name": f"{MARK} source {RUN}", "kind": "webhook"}))["id"]
    ids["key_id"] = _ok(a.post("/v1/keys", json={"scopes": ["read"], "name": f"{MARK} key {RUN}"}))["id"]
    csv = io.BytesIO(f"id,message,posted\nimp1,{MARK} imported,{NOW.isoformat()}\n".encode())
    ids["import_id"] = _ok(a.post("/v1/imports", files={"file": ("a.csv", csv.getvalue(), "text/csv")},
                                  data=IMPORT_FORM))["id"]
    posts = [{"platform": "x", "external_id": f"iso-{n}", "text": f"{MARK} layanan buruk nomor {n}",
              "created_at": (NOW - timedelta(minutes=n + 1)).isoformat(),
              "author": {"id": f"{MARK}-author", "handle": f"{MARK}_author",
                         "display_name": f"{MARK} Author"}}
             for n in range(3)]
    assert _ok(a.post("/v1/posts", json={"posts": posts}))["accepted"] == 3
    ids["mention_external_id"] = "iso-0"

    def mention() -> str | None:
        data = _ok(a.get("/v1/mentions", params={"q": MARK, **WINDOW}))["data"]
        return next((m["id"] for m in data if m["external_id"] == "iso-0"), None)

    ids["mention_id"] = _wait("mention", mention)
    _ok(a.post(f"/v1/mentions/{ids['mention_id']}/notes", json={"text": f"{MARK} note"}))
    ids["alert_id"] = _wait("alert", lambda: next(
        (x["id"] for x in _ok(a.get("/v1/alerts"))["data"]), None))
    ids["delivery_id"] = _wait("delivery", lambda: next(
        (x["id"] for x in _ok(a.get("/v1/alerts/deliveries"))["data"]), None))
    return ids


def _assert_nothing_of_a(text: str, ids: dict[str, str], request: httpx.Request | None = None) -> None:
    """Neither A's marker word nor any of A's ids, except those B itself sent (an answer may name
    the id it did not find)."""
    assert MARK not in text.lower(), text[:2000]
    sent = f"{request.url} {request.read().decode(errors='replace')}" if request is not None else ""
    for name, value in ids.items():
        if name != "mention_external_id" and value not in sent:
            assert value not in text, f"A's {name} {value} in: {text[:2000]}"


def _volumes(value: Any) -> Iterator[tuple[str, float]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("volume", "total", "count", "mentions", "open", "in_progress", "resolved") \
                    and isinstance(v, int | float):
                yield k, v
            else:
                yield from _volumes(v)
    elif isinstance(value, list):
        for v in value:
            yield from _volumes(v)


def _exercise(route: str, how: Any, a: httpx.Client, b: httpx.Client, ids: dict[str, str]) -> None:
    method, path = route.split(" ", 1)
    url = path.format(**ids)
    if isinstance(how, Public):
        return
    if isinstance(how, Custom):
        how.check(b, a, ids)
        return
    if isinstance(how, ById):
        r = b.request(method, url, params=_fill(how.query, ids),
                      json=_fill(how.body, ids) if how.body is not None else None)
        assert r.status_code == 404, f"{route} with A's id: {r.status_code} {r.text}"
        _assert_nothing_of_a(r.text, ids, r.request)
        return
    if isinstance(how, Listing):
        r = b.request(method, url, params=_fill(how.query, ids))
        assert 200 <= r.status_code < 300 or r.status_code == 404, f"{route}: {r.status_code} {r.text}"
        _assert_nothing_of_a(r.text, ids, r.request)
        if r.headers.get("content-type", "").startswith("application/json"):
            nonzero = [(k, v) for k, v in _volumes(r.json()) if v]
            assert not nonzero, f"{route}: B has no posts, yet {nonzero}: {r.text[:2000]}"
        return
    assert isinstance(how, Create)
    body = _fill(how.body, ids) if how.body is not None else None
    r = b.request(method, url, json=body, files=how.files, data=how.data)
    assert 200 <= r.status_code < 300, f"{route}: {r.status_code} {r.text}"
    _assert_nothing_of_a(r.text, ids, r.request)


def test_no_route_reaches_another_tenants_data(
        platform: Platform, new_tenant: Callable[[str, str], str],
        api: Callable[[str], httpx.Client]) -> None:
    with api(new_tenant("Iso Air", "isoa")) as a, api(new_tenant("Iso Bus", "isob")) as b:
        spec = _ok(httpx.get(f"{platform.api_url}/openapi.json", timeout=30))
        operations = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}
        missing = sorted(operations - ROUTES.keys())
        assert not missing, f"routes without an isolation check in ROUTES: {missing}"
        stale = sorted(ROUTES.keys() - operations)
        assert not stale, f"ROUTES names operations the API no longer has: {stale}"

        ids = seed_tenant_a(a)
        before = {name: _ok(a.get(path.format(ids[name]))) for name, path in A_RESOURCES.items()}
        # The mutations on A's ids come last among each resource's routes: the reads see A's
        # resources as they were, and a delete that wrongly worked cannot hide a leaky read.
        order = sorted(ROUTES, key=lambda r: r.startswith(("DELETE", "PATCH", "PUT", "POST")))
        failures = []
        for route in order:
            try:
                _exercise(route, ROUTES[route], a, b, ids)
            except AssertionError as exc:
                failures.append(f"{route}: {exc}")
        assert not failures, "\n".join(failures)

        after = {name: _ok(a.get(path.format(ids[name]))) for name, path in A_RESOURCES.items()}
        for name in A_RESOURCES:
            # What B tried to change (progress counters and the like move on by themselves).
            assert _settled(after[name]) == _settled(before[name]), name
        keys = {k["id"]: k for k in _ok(a.get("/v1/keys"))["data"]}
        assert keys[ids["key_id"]]["revoked_at"] is None
