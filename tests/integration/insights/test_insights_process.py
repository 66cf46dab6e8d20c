"""`python -m dengar_insights` as a process: configured by environment, port file, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from grpc_health.v1 import health_pb2, health_pb2_grpc
from insights_helpers import enriched, wait_until

from dengar.v1 import insights_pb2, insights_pb2_grpc
from dengar_common import grpcutil
from dengar_common.bus import Subjects, ensure_streams, publish


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DENGAR_")}


async def test_runs_from_environment_and_stops_on_sigterm(infra, unique, nats_client,
                                                          tmp_path: Path) -> None:
    port_file = tmp_path / "insights.port"
    env = _clean_env()
    env.update({"DENGAR_MONGO_URI": infra.mongo_uri, "DENGAR_NATS_URL": infra.nats_url,
                "DENGAR_SUBJECT_ROOT": unique, "DENGAR_INSIGHTS__DB": f"{unique}_insights",
                "DENGAR_INSIGHTS__GRPC_PORT": "0", "DENGAR_INSIGHTS__PORT_FILE": str(port_file),
                "DENGAR_INSIGHTS__BATCH_WAIT_S": "0.05"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dengar_insights", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        await wait_until(lambda: port_file.exists() or proc.returncode is not None, 60, "port file")
        assert proc.returncode is None
        port = int(port_file.read_text())

        js, subjects = nats_client.jetstream(), Subjects(unique)
        await ensure_streams(js, subjects)
        post = enriched("acme", "proc1")
        await publish(js, subjects.enriched("acme"), post.SerializeToString(), msg_id="proc1")

        channel = grpcutil.insecure_channel(f"127.0.0.1:{port}")
        try:
            health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            stub = insights_pb2_grpc.InsightsServiceStub(channel)
            for _ in range(200):
                resp = await stub.SearchMentions(insights_pb2.SearchMentionsRequest(tenant_id="acme"))
                if resp.mentions:
                    break
                await asyncio.sleep(0.05)
            assert [m.id for m in resp.mentions] == [post.post.id]
        finally:
            await channel.close()

        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), 30)
        text = output.decode(errors="replace")
        assert proc.returncode == 0, text
        assert "received SIGTERM" in text and "dengar-insights stopped" in text
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_bad_setting_fails_fast() -> None:
    env = _clean_env()
    env["DENGAR_INSIGHTS__BATCH_SIZE"] = "lots"
    res = subprocess.run([sys.executable, "-m", "dengar_insights"], env=env, capture_output=True,
                         text=True, timeout=60, check=False)
    assert res.returncode == 2
    assert "DENGAR_INSIGHTS__BATCH_SIZE" in res.stderr
