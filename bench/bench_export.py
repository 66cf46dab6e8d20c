"""Export benchmark: does GET /v1/mentions/export stream in constant memory?

    .venv/bin/python bench/bench_export.py --rows 10000,50000 --out bench/results

For each size, a child process loads that many mentions (one tenant) into a real SecantusDB
(``secantusd``, started here), so that this process never holds them. This process runs the real
path of an export: the insights InsightsService servicer (ExportMentions: one store cursor) on a real gRPC
server, the gateway app (bootstrap.start, uvicorn on a free port) and an HTTP client that streams the
CSV and throws the bytes away. While it runs, a thread samples this process's RSS every 20 ms, and
``tracemalloc`` records the peak of the Python heap. Reported per size: rows, seconds, rows/s, RSS
at the start, peak RSS growth during the export, and the traced heap peak above its start.

If memory grew with the rows, the 50k export's growth would be about five times the 10k one's.
Writes ``<out>/export.json`` and ``<out>/export.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _sub in ("libs", "services/insights", "services/gateway"):
    if str(ROOT / _sub) not in sys.path:
        sys.path.insert(0, str(ROOT / _sub))

TENANT = "bench"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def load(uri: str, db_name: str, rows: int) -> None:
    """In a child process: ``rows`` stored mentions as ingest leaves them, in bulk."""
    from dengar.v1 import common_pb2
    from dengar_common.ids import mention_id
    from dengar_common.mongo import make_client
    from dengar_insights.entrypoints.protos import prepare_enriched

    async def run() -> None:
        client = make_client(uri, app_name="bench-export-load")
        col = client[db_name]["mentions"]
        now = datetime.now(UTC)
        for start in range(0, rows, 2000):
            docs = []
            for i in range(start, min(rows, start + 2000)):
                p = common_pb2.Post(id=mention_id(TENANT, "x", f"p{i}"), tenant_id=TENANT,
                                    platform=common_pb2.PLATFORM_X, external_id=f"p{i}",
                                    text=f"Paket #{i} telat lagi, \"kurir\" bilang besok 😡 " * 3,
                                    author=common_pb2.Author(id=f"a{i % 500}", handle=f"user{i % 500}"))
                p.created_at.FromDatetime(T0 + timedelta(seconds=i))
                p.collected_at.FromDatetime(T0 + timedelta(seconds=i))
                enr = common_pb2.Enrichment(language="id", model_version="bench",
                                            sentiment=common_pb2.SentimentResult(
                                                label=common_pb2.SENTIMENT_NEGATIVE, negative=0.8))
                m = prepare_enriched(common_pb2.EnrichedPost(post=p, enrichment=enr))
                docs.append({"_id": m.id, **m.fields, "trace_id": "", "content_hash": m.content_hash,
                             "first_seen_at": now, "updated_at": now, "rev": 2,
                             "contribution": m.contribution.to_doc(), "rollups_at": now})
            await col.insert_many(docs, ordered=False)
        await client.close()

    asyncio.run(run())


async def export_once(uri: str, db_name: str, tmp: Path) -> dict[str, Any]:
    import httpx

    from dengar.v1 import insights_pb2_grpc
    from dengar_common.app import ServiceApp
    from dengar_common.grpcutil import make_server, set_serving
    from dengar_common.mongo import make_client
    from dengar_gateway import bootstrap
    from dengar_gateway.domain.keys import ALL_SCOPES, generate_key
    from dengar_gateway.settings import GatewayConfig, GatewaySettings
    from dengar_insights.adapters.audit import MongoAuditLog
    from dengar_insights.adapters.mentions import MentionRepository
    from dengar_insights.adapters.rollups import RollupRepository
    from dengar_insights.entrypoints.grpc_api import InsightsServicer
    from dengar_insights.service_layer.inbox import Inbox
    from dengar_insights.service_layer.queries import InsightsQueries

    client = make_client(uri, app_name="bench-export")
    db = client[db_name]
    mentions = MentionRepository(db)
    await mentions.ensure_indexes()
    servicer = InsightsServicer(InsightsQueries(mentions, RollupRepository(db)), None, None, None,  # type: ignore[arg-type]  # only ExportMentions is called
                                inbox=Inbox(mentions, MongoAuditLog(db)))
    service = "dengar.v1.InsightsService"
    server, health = make_server(
        [lambda s: insights_pb2_grpc.add_InsightsServiceServicer_to_server(servicer, s)], [service])
    grpc_port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await set_serving(health, [service], True)
    port_file = tmp / f"{db_name}.port"
    target = f"127.0.0.1:{grpc_port}"
    settings = GatewaySettings(mongo_uri=uri, shutdown_grace_s=2, gateway=GatewayConfig.model_validate(dict(
        db=f"{db_name}_gw", collector_target=target, nlp_target=target, insights_target=target,
        rate_limit={"per_s": 0}, grpc_timeout_s=30, http_port=0, port_file=str(port_file))))
    try:
        async with ServiceApp("bench-gateway", grace_s=2) as app:
            api = await bootstrap.start(app, settings)
            store = api.state.deps.store
            now = datetime.now(UTC)
            await store.tenants.create(TENANT, "Bench", now)
            key = generate_key()
            await store.keys.insert(TENANT, key_id=key.key_id, key_hash=key.hash,
                                    scopes=[s.value for s in ALL_SCOPES], name="bench", now=now)
            url = f"http://127.0.0.1:{port_file.read_text().strip()}"
            gc.collect()
            base_rss = rss_bytes()
            peak = [base_rss]
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], rss_bytes())
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            tracemalloc.start()
            traced_base = tracemalloc.get_traced_memory()[0]
            rows, size = 0, 0
            started = time.perf_counter()
            async with httpx.AsyncClient(base_url=url, timeout=120,
                                         headers={"Authorization": f"Bearer {key.secret}"}) as http:
                async with http.stream("GET", "/v1/mentions/export", params={"format": "ndjson",
                                                                             "sort": "time"}) as resp:
                    resp.raise_for_status()
                    async for chunk in resp.aiter_bytes():
                        rows += chunk.count(b"\n")
                        size += len(chunk)
            seconds = time.perf_counter() - started
            traced_peak = tracemalloc.get_traced_memory()[1] - traced_base
            tracemalloc.stop()
            stop.set()
            sampler.join()
            return {"rows": rows, "bytes": size, "seconds": round(seconds, 2),
                    "rows_per_s": round(rows / seconds), "rss_start_mib": round(base_rss / 2**20, 1),
                    "rss_growth_mib": round((peak[0] - base_rss) / 2**20, 1),
                    "traced_heap_peak_mib": round(traced_peak / 2**20, 2)}
    finally:
        await server.stop(0)
        await client.close()


def main() -> None:
    from dengar_common.localinfra import start_secantus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,50000", help="comma-separated sizes")
    parser.add_argument("--out", type=Path, default=None, help="directory for export.json/.md")
    ns = parser.parse_args()
    sizes = [int(x) for x in ns.rows.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-export-"))
    mongo = start_secantus(tmp / "mongo", log_dir=tmp)
    uri = f"mongodb://127.0.0.1:{mongo.port}/?directConnection=true"
    results = []
    try:
        for n in sizes:
            db_name = f"bench_export_{n}"
            started = time.perf_counter()
            child = multiprocessing.get_context("spawn").Process(target=load, args=(uri, db_name, n))
            child.start()
            child.join()
            if child.exitcode != 0:
                raise SystemExit(f"loading {n} rows failed")
            load_s = time.perf_counter() - started
            r = asyncio.run(export_once(uri, db_name, tmp))
            r["load_seconds"] = round(load_s, 1)
            results.append(r)
            print(json.dumps(r), flush=True)
    finally:
        mongo.stop()
    report = {"export": results, "at": datetime.now(UTC).isoformat(timespec="seconds"),
              "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    if ns.out:
        ns.out.mkdir(parents=True, exist_ok=True)
        (ns.out / "export.json").write_text(json.dumps(report, indent=2) + "\n")
        lines = ["# Export memory", "", "GET /v1/mentions/export?format=ndjson through the real gateway, "
                 "insights servicer and SecantusDB, one process (see bench/bench_export.py).", "",
                 "| rows | seconds | rows/s | RSS at start MiB | peak RSS growth MiB "
                 "| traced heap peak MiB |",
                 "|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['rows']:,} | {r['seconds']} | {r['rows_per_s']:,} | {r['rss_start_mib']} | "
                  f"{r['rss_growth_mib']} | {r['traced_heap_peak_mib']} |" for r in results]
        (ns.out / "export.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
