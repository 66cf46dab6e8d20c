"""API keys over HTTP and the CLI: scopes, revocation, tenants, rate limits."""

from __future__ import annotations

import asyncio
import json

import pytest

from dengar_gateway.domain.keys import Scope
from dengar_gateway.entrypoints import cli

POSTS = {"posts": [{"platform": "x", "external_id": "1", "text": "hi", "created_at": "2024-05-01T00:00:00Z"}]}


async def test_admin_creates_lists_and_revokes_keys(gateway, problem) -> None:
    admin = await gateway.new_key("acme", Scope.ADMIN)
    c = gateway.client
    resp = await c.post("/v1/keys", json={"scopes": ["read", "ingest"], "name": "etl"}, headers=admin.headers)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["key"].startswith(f"dgr_{created['id']}_") and created["scopes"] == ["read", "ingest"]
    new = {"Authorization": f"Bearer {created['key']}"}
    assert (await c.get("/v1/mentions", headers=new)).status_code == 200
    assert (await c.post("/v1/posts", json=POSTS, headers=new)).status_code == 202
    problem(await c.get("/v1/keys", headers=new), 403)  # no admin scope

    listed = (await c.get("/v1/keys", headers=admin.headers)).json()["data"]
    assert {k["id"] for k in listed} == {admin.id, created["id"]}
    assert all("key" not in k and "hash" not in k for k in listed)
    stored = await gateway.deps.store.keys.find_for_auth(created["id"])
    assert created["key"] not in json.dumps(stored.__dict__, default=str)  # only the hash is kept

    assert (await c.delete(f"/v1/keys/{created['id']}", headers=admin.headers)).status_code == 204
    doc = problem(await c.get("/v1/mentions", headers=new), 401)
    assert "revoked" in doc["detail"]
    assert (await c.delete(f"/v1/keys/{created['id']}", headers=admin.headers)).status_code == 204
    revoked = [k for k in (await c.get("/v1/keys", headers=admin.headers)).json()["data"]
               if k["id"] == created["id"]]
    assert revoked[0]["revoked_at"] is not None


async def test_admins_cannot_touch_other_tenants_keys(gateway, problem) -> None:
    acme_admin = await gateway.new_key("acme", Scope.ADMIN)
    globex = await gateway.new_key("globex", Scope.READ)
    problem(await gateway.client.delete(f"/v1/keys/{globex.id}", headers=acme_admin.headers), 404)
    listed = (await gateway.client.get("/v1/keys", headers=acme_admin.headers)).json()["data"]
    assert [k["id"] for k in listed] == [acme_admin.id]
    assert (await gateway.client.get("/v1/mentions", headers=globex.headers)).status_code == 200


async def test_key_request_validation(gateway, problem) -> None:
    admin = (await gateway.new_key("acme", Scope.ADMIN)).headers
    for body in ({"scopes": []}, {"scopes": ["root"]}, {"scopes": ["read"], "name": "x" * 101}, {}):
        problem(await gateway.client.post("/v1/keys", json=body, headers=admin), 422)
    # Authentication comes before parsing the body.
    problem(await gateway.client.post("/v1/keys", content=b"{", headers={"Content-Type": "application/json"}),
            401)


async def test_rate_limit_is_per_key_with_retry_after(gateway_for, problem) -> None:
    gw = await gateway_for(rate_limit={"per_s": 0.5, "burst": 2})
    a = (await gw.new_key("acme", Scope.READ)).headers
    b = (await gw.new_key("acme", Scope.READ)).headers
    assert [(await gw.client.get("/v1/mentions", headers=a)).status_code for _ in range(2)] == [200, 200]
    resp = await gw.client.get("/v1/mentions", headers=a)
    assert problem(resp, 429)["type"] == "urn:dengar:problem:rate-limited"
    assert resp.headers["retry-after"] == "2"
    assert (await gw.client.get("/v1/mentions", headers=b)).status_code == 200


async def test_cli_creates_a_tenant_with_a_working_key(gateway, settings_for, monkeypatch, capsys,
                                                       problem) -> None:
    settings = settings_for()
    monkeypatch.setenv("DENGAR_MONGO_URI", settings.mongo_uri)
    monkeypatch.setenv("DENGAR_GATEWAY__DB", settings.gateway.db)

    async def run(*argv: str) -> tuple[int, str, str]:
        # The CLI runs its own event loop, so it gets a thread of its own.
        code = await asyncio.to_thread(cli.main, list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = await run("tenants", "create", "Acme Café Ltd")
    assert code == 0, err
    fields = dict(line.split(": ", 1) for line in out.splitlines())
    assert fields["tenant_id"] == "acme-cafe-ltd" and fields["scopes"] == "ingest,read,admin"
    first = {"Authorization": f"Bearer {fields['api_key']}"}
    assert (await gateway.client.get("/v1/keys", headers=first)).status_code == 200
    assert (await gateway.client.post("/v1/posts", json=POSTS, headers=first)).status_code == 202

    assert (await run("tenants", "create", "Acme Cafe Ltd"))[0] == 1  # same slug: exists
    code, out, _ = await run("tenants", "create", "Other", "--id", "globex", "--json")
    assert code == 0 and json.loads(out)["tenant_id"] == "globex"
    assert (await run("tenants", "create", "Bad", "--id", "Not Valid"))[0] == 2
    code, out, _ = await run("tenants", "list")
    assert [line.split("\t")[0] for line in out.splitlines()] == ["acme-cafe-ltd", "globex"]

    code, out, _ = await run("keys", "create", "--tenant", "globex", "--scopes", "read", "--json")
    created = json.loads(out)
    read_only = {"Authorization": f"Bearer {created['api_key']}"}
    assert (await gateway.client.get("/v1/mentions", headers=read_only)).status_code == 200
    problem(await gateway.client.post("/v1/posts", json=POSTS, headers=read_only), 403)
    assert (await run("keys", "create", "--tenant", "nobody"))[0] == 1
    assert (await run("keys", "create", "--tenant", "globex", "--scopes", "read,root"))[0] == 2

    code, out, _ = await run("keys", "revoke", created["key_id"])
    assert code == 0 and created["key_id"] in out
    problem(await gateway.client.get("/v1/mentions", headers=read_only), 401)
    assert (await run("keys", "revoke", "0000000000000000"))[0] == 1
    assert (await run("keys", "frobnicate"))[0] == 2


@pytest.mark.parametrize("argv", [["--help"], ["tenants", "--help"]])
def test_cli_help(argv: list[str], capsys) -> None:
    assert cli.main(argv) == 0
    assert "usage: dengar" in capsys.readouterr().out
