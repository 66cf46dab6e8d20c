"""The app as a whole: OpenAPI, dashboard, probes, and serving over real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from grpc_health.v1 import health_pb2

from dengar_common.app import ServiceApp
from dengar_gateway import bootstrap


async def test_openapi_and_docs(gateway) -> None:
    spec = (await gateway.client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        **spec["components"]["securitySchemes"]["ApiKey"], "type": "http", "scheme": "bearer"}
    assert {t["name"] for t in spec["tags"]} >= {"posts", "mentions", "analytics", "analyze", "keys"}
    posts = spec["paths"]["/v1/posts"]["post"]
    assert posts["security"] == [{"ApiKey": []}]
    assert posts["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/PostBatchIn")
    assert "PostIn" in spec["components"]["schemas"]
    assert "application/problem+json" in posts["responses"]["409"]["content"]
    assert spec["paths"]["/v1/mentions"]["get"]["responses"]["422"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    docs = await gateway.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_openapi_declares_every_body_a_route_reads_and_its_errors() -> None:
    """Bodies read by ``json_body`` are invisible to FastAPI: the schema declares each from the model
    that validates it (a route's hand-written example must name that same model), with the errors
    such a body can get."""
    from fastapi.routing import APIRoute, iter_route_contexts

    from dengar_gateway.bootstrap import json_body_models
    from dengar_gateway.settings import GatewayConfig

    app = bootstrap.create_app(GatewayConfig(), None)  # type: ignore[arg-type]  # no request is served
    spec = app.openapi()
    checked = 0
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        for model in json_body_models(route.dependant):
            for method in route.methods:
                operation = spec["paths"][route.path_format][method.lower()]
                schema = operation["requestBody"]["content"]["application/json"]["schema"]
                assert schema == {"$ref": f"#/components/schemas/{model.__name__}"}, route.path_format
                assert model.__name__ in spec["components"]["schemas"]
                assert {"400", "413", "415", "422"} <= operation["responses"].keys(), route.path_format
                checked += 1
    # The inbox's bodies had no declaration at all before.
    assert checked >= 18
    assert "requestBody" in spec["paths"]["/v1/mentions/{mention_id}/notes"]["post"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if operation.get("security"):
                assert {"401", "403", "429"} <= operation["responses"].keys(), (method, path)


async def test_dashboard_is_served_from_package_data(gateway) -> None:
    page = await gateway.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '/static/app.js' in page.text and "http" not in page.text.split("<body>")[0].replace(
        "http-equiv", "")
    js = await gateway.client.get("/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "/v1/analytics/timeseries" in js.text and "/v1/insights/brief" in js.text
    # The API key lives for the tab only: sessionStorage, never localStorage.
    assert "sessionStorage" in js.text and "localStorage" not in js.text
    assert (await gateway.client.get("/static/app.css")).status_code == 200
    assert (await gateway.client.get("/static/missing.js")).headers["content-type"] \
        == "application/problem+json"


async def test_probes(gateway, fakes, problem) -> None:
    assert (await gateway.client.get("/healthz")).json() == {"status": "ok"}
    ready = await gateway.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"mongo": "ok", "collector": "ok", "nlp": "ok", "insights": "ok"}
    await fakes.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    doc = problem(await gateway.client.get("/readyz"), 503)
    assert doc["checks"]["collector"] == "NOT_SERVING"


async def test_serves_http_until_stopped(settings_for, tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    settings = settings_for(http_port=0, port_file=str(port_file))
    stopped, in_flight = asyncio.Event(), asyncio.Event()
    app = ServiceApp("dengar-gateway", grace_s=2)

    async def run() -> None:
        async with app:
            api = await bootstrap.start(app, settings)
            store = api.state.deps.store
            ping = store.ping

            async def slow_ping() -> None:
                # Holds /readyz in the handler, so the stop below comes while it is in flight.
                in_flight.set()
                await asyncio.sleep(0.5)
                await ping()

            store.ping = slow_ping
            await app.wait_for_stop_signal()
        stopped.set()

    task = asyncio.create_task(run())
    while not port_file.exists():
        assert not task.done(), task
        await asyncio.sleep(0.05)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_file.read_text()}") as client:
        resp = await client.get("/healthz", headers={
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
        assert resp.status_code == 200
        assert resp.headers["x-trace-id"] == "0af7651916cd43dd8448eb211c80319c"
        # A request in flight when the stop comes is answered before the server goes away.
        slow = asyncio.create_task(client.get("/readyz"))
        await asyncio.wait_for(in_flight.wait(), 10)
        app.request_stop()
        assert (await asyncio.wait_for(slow, 10)).status_code in (200, 503)
    await asyncio.wait_for(task, 15)
    assert stopped.is_set()
    assert not await _port_open(int(port_file.read_text()))


async def _port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def test_python_m_dengar_gateway_stops_cleanly_on_sigterm(settings_for, tmp_path: Path) -> None:
    settings = settings_for()
    port_file, log_path = tmp_path / "port", tmp_path / "gateway.log"
    config = settings.gateway
    env = {**os.environ, "DENGAR_MONGO_URI": settings.mongo_uri, "DENGAR_GATEWAY__DB": config.db,
           "DENGAR_GATEWAY__HTTP_PORT": "0", "DENGAR_GATEWAY__PORT_FILE": str(port_file),
           "DENGAR_GATEWAY__COLLECTOR_TARGET": config.collector_target,
           "DENGAR_GATEWAY__NLP_TARGET": config.nlp_target,
           "DENGAR_GATEWAY__INSIGHTS_TARGET": config.insights_target}
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "dengar_gateway", env=env,
                                                    stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            if port_file.exists() or proc.returncode is not None:
                break
            await asyncio.sleep(0.1)
        assert port_file.exists(), log_path.read_text()
        async with httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{port_file.read_text()}"
            ready = await client.get(f"{url}/readyz")
            assert ready.status_code == 200
            # The service configures a tracer provider, so even a request without a traceparent
            # starts a trace and reports it.
            assert len(ready.headers["x-trace-id"]) == 32
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 20)
        assert code == 0, log_path.read_text()
        assert "gateway stopped" in log_path.read_text()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_bad_configuration_fails_fast() -> None:
    env = {**os.environ, "DENGAR_GATEWAY__HTTP_PORT": "eighty"}
    proc = subprocess.run([sys.executable, "-m", "dengar_gateway"], env=env, capture_output=True,
                          timeout=60, text=True)
    assert proc.returncode == 2
    assert "DENGAR_GATEWAY__HTTP_PORT" in proc.stderr
