"""Export benchmark: does GET /v1/mentions/export stream in constant memory?

    .venv/bin/python bench/bench_export.py --rows 10000,100000,300000,1000000 --out bench/results

One dataset in a real SecantusDB (``secantusd``, started here) grows from size to size: a child
process inserts the mentions (one tenant) up to the next size, in bulk, and its insert rate is
reported. For each size, the insights InsightsService servicer (ExportMentions: one store cursor)
and the gateway app (bootstrap.start, uvicorn on a free port) start afresh, each in its own
process, and this process streams ``GET /v1/mentions/export?format=ndjson`` and throws the bytes
away. While it runs, a thread samples the RSS of the insights, gateway and secantusd processes and
of this client every 50 ms. Reported per size and process: RSS just before the export, peak RSS
during it and the growth; and rows, seconds, rows/s.

Every size starts from fresh service processes, so the sizes compare like for like: if memory grew
with the rows, the 1M export's growth would be a hundred times the 10k one's. Results are written
after every size (``<out>/export.json`` and ``<out>/export.md``), so a long run stopped half-way
still leaves the sizes it finished.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform as pyplatform
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _sub in ("libs", "services/insights", "services/gateway"):
    if str(ROOT / _sub) not in sys.path:
        sys.path.insert(0, str(ROOT / _sub))

TENANT = "bench"
DB = "bench_export"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
_PAGE = os.sysconf("SC_PAGE_SIZE")
_MIB = 2**20


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def machine_info() -> dict[str, Any]:
    cpu_model = pyplatform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_model": cpu_model, "logical_cores": os.cpu_count(), "platform": pyplatform.platform(),
            "python": pyplatform.python_version()}


def load(uri: str, start: int, end: int) -> None:
    """In a child process: stored mentions ``start``..``end`` as ingest leaves them, in bulk."""
    from pymongo.errors import BulkWriteError

    from dengar.v1 import common_pb2
    from dengar_common.ids import mention_id
    from dengar_common.mongo import make_client
    from dengar_insights.entrypoints.protos import prepare_enriched

    async def run() -> None:
        client = make_client(uri, app_name="bench-export-load")
        col = client[DB]["mentions"]
        now = datetime.now(UTC)
        for first in range(start, end, 2000):
            docs = []
            for i in range(first, min(end, first + 2000)):
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
            try:
                await col.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                # Resuming a stopped load: the rows of its last batch that made it are there.
                if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", ())):
                    raise
        await client.close()

    asyncio.run(run())


def serve_insights(uri: str, port_file: str) -> None:
    """In a child process: the insights servicer (only ExportMentions is called) on a gRPC server."""
    from dengar.v1 import insights_pb2_grpc
    from dengar_common.grpcutil import make_server, set_serving
    from dengar_common.mongo import make_client
    from dengar_insights.adapters.audit import MongoAuditLog
    from dengar_insights.adapters.mentions import MentionRepository
    from dengar_insights.adapters.rollups import RollupRepository
    from dengar_insights.entrypoints.grpc_api import InsightsServicer
    from dengar_insights.service_layer.inbox import Inbox
    from dengar_insights.service_layer.queries import InsightsQueries

    async def run() -> None:
        db = make_client(uri, app_name="bench-export-insights")[DB]
        mentions = MentionRepository(db)
        await mentions.ensure_indexes()
        servicer = InsightsServicer(InsightsQueries(mentions, RollupRepository(db)), None, None, None,  # type: ignore[arg-type]  # only ExportMentions is called
                                    inbox=Inbox(mentions, MongoAuditLog(db)))
        service = "dengar.v1.InsightsService"
        server, health = make_server(
            [lambda s: insights_pb2_grpc.add_InsightsServiceServicer_to_server(servicer, s)], [service])
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        await set_serving(health, [service], True)
        Path(port_file).write_text(str(port))  # noqa: ASYNC240  # a few bytes, once
        await server.wait_for_termination()

    asyncio.run(run())


def serve_gateway(uri: str, target: str, port_file: str, key_file: str) -> None:
    """In a child process: the gateway app with a tenant and a key (its secret goes to key_file)."""
    from dengar_common.app import ServiceApp
    from dengar_gateway import bootstrap
    from dengar_gateway.domain.keys import ALL_SCOPES, generate_key
    from dengar_gateway.settings import GatewayConfig, GatewaySettings

    async def run() -> None:
        config = GatewayConfig.model_validate(dict(
            db=f"{DB}_gw", collector_target=target, nlp_target=target, insights_target=target,
            rate_limit={"per_s": 0}, grpc_timeout_s=60, export_idle_timeout_s=600, http_port=0,
            port_file=port_file))
        settings = GatewaySettings(mongo_uri=uri, shutdown_grace_s=2, gateway=config)
        async with ServiceApp("bench-gateway", grace_s=2) as app:
            api = await bootstrap.start(app, settings)
            store = api.state.deps.store
            now = datetime.now(UTC)
            if await store.tenants.get(TENANT) is None:
                await store.tenants.create(TENANT, "Bench", now)
            key = generate_key()
            await store.keys.insert(TENANT, key_id=key.key_id, key_hash=key.hash,
                                    scopes=[s.value for s in ALL_SCOPES], name="bench", now=now)
            Path(key_file).write_text(key.secret)  # noqa: ASYNC240  # a few bytes, once
            await asyncio.Event().wait()

    asyncio.run(run())


def _wait_file(path: Path, proc: BaseProcess, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        if not proc.is_alive():
            raise SystemExit(f"{proc.name} exited with {proc.exitcode}")
        time.sleep(0.1)
    raise SystemExit(f"{proc.name} did not write {path}")


def export_once(uri: str, tmp: Path, mongo_pid: int, size: int) -> dict[str, Any]:
    import httpx

    ctx = multiprocessing.get_context("spawn")
    ins_port, gw_port, key_file = tmp / f"ins{size}.port", tmp / f"gw{size}.port", tmp / f"key{size}"
    insights = ctx.Process(target=serve_insights, args=(uri, str(ins_port)), name="insights", daemon=True)
    insights.start()
    gateway: BaseProcess | None = None
    try:
        target = f"127.0.0.1:{_wait_file(ins_port, insights)}"
        gateway = ctx.Process(target=serve_gateway, args=(uri, target, str(gw_port), str(key_file)),
                              name="gateway", daemon=True)
        gateway.start()
        secret = _wait_file(key_file, gateway)
        url = f"http://127.0.0.1:{_wait_file(gw_port, gateway)}"
        time.sleep(1)  # let the start-up settle before the baseline
        pids = {"gateway": gateway.pid or 0, "insights": insights.pid or 0, "secantusd": mongo_pid,
                "client": os.getpid()}
        base = {name: rss_bytes(pid) for name, pid in pids.items()}
        peak = dict(base)
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                for name, pid in pids.items():
                    peak[name] = max(peak[name], rss_bytes(pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rows, size_b, first_byte = 0, 0, None
        started = time.perf_counter()
        with httpx.Client(base_url=url, timeout=httpx.Timeout(60, read=600),
                          headers={"Authorization": f"Bearer {secret}"}) as http:
            with http.stream("GET", "/v1/mentions/export",
                             params={"format": "ndjson", "sort": "time"}) as resp:
                resp.raise_for_status()
                for chunk in resp.iter_bytes():
                    if first_byte is None:
                        first_byte = time.perf_counter() - started
                    rows += chunk.count(b"\n")
                    size_b += len(chunk)
        seconds = time.perf_counter() - started
        stop.set()
        sampler.join()
        procs = {name: {"rss_start_mib": round(base[name] / _MIB, 1),
                        "rss_peak_mib": round(peak[name] / _MIB, 1),
                        "rss_growth_mib": round((peak[name] - base[name]) / _MIB, 1)} for name in pids}
        return {"rows": rows, "bytes": size_b, "seconds": round(seconds, 1),
                "first_byte_seconds": round(first_byte or 0.0, 1), "rows_per_s": round(rows / seconds),
                "processes": procs}
    finally:
        for proc in (gateway, insights):
            if proc is not None and proc.is_alive():
                proc.kill()
                proc.join(10)


def write_report(out: Path, report: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "export.json").write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    lines = ["# Export memory", "",
             "`GET /v1/mentions/export?format=ndjson&sort=time` through the real gateway and insights "
             "servicer, each in its own process started afresh for every size, and SecantusDB "
             "(see bench/bench_export.py). RSS sampled every 50 ms; growth = peak during the export "
             "minus RSS just before it.", "",
             f"Machine: {m['cpu_model']}, {m['logical_cores']} logical cores (shared with other "
             f"work: load average {report['loadavg_start']} at the start), Python {m['python']}.", "",
             "| rows | seconds | first byte s | rows/s | gateway RSS start → peak (growth) MiB "
             "| insights RSS start → peak (growth) MiB | secantusd RSS start → peak (growth) MiB "
             "| load rows/s |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["export"]:
        p = r["processes"]
        cell = [f"{p[n]['rss_start_mib']} → {p[n]['rss_peak_mib']} ({p[n]['rss_growth_mib']:+})"
                for n in ("gateway", "insights", "secantusd")]
        lines.append(f"| {r['rows']:,} | {r['seconds']} | {r['first_byte_seconds']} | {r['rows_per_s']:,} | "
                     f"{cell[0]} | {cell[1]} | {cell[2]} | {r.get('load_rows_per_s', '')} |")
    (out / "export.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    from dengar_common.localinfra import start_secantus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000", help="comma-separated sizes, increasing")
    parser.add_argument("--out", type=Path, default=None, help="directory for export.json/.md")
    parser.add_argument("--storage", type=Path, default=None,
                        help="SecantusDB storage of an earlier (stopped) run to continue from")
    parser.add_argument("--append", action="store_true", help="add to the sizes in <out>/export.json")
    ns = parser.parse_args()
    sizes = sorted(int(x) for x in ns.rows.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="bench-export-"))
    mongo = start_secantus(ns.storage or tmp / "mongo", log_dir=tmp)
    # SecantusDB answers nothing else while it sorts a large result (before the first batch): on a
    # busy machine its monitor check would time out, which clears the pool and cancels the export.
    uri = (f"mongodb://127.0.0.1:{mongo.port}/?directConnection=true"
           "&connectTimeoutMS=600000&heartbeatFrequencyMS=60000")
    report: dict[str, Any] = {"export": [], "machine": machine_info(),
                              "loadavg_start": round(os.getloadavg()[0], 1)}
    if ns.append and ns.out and (ns.out / "export.json").exists():
        report = json.loads((ns.out / "export.json").read_text())
    loaded = 0
    if ns.storage:
        from pymongo import MongoClient
        with MongoClient(uri) as sync:
            loaded = sync[DB]["mentions"].estimated_document_count()
        print(f"continuing with {loaded} stored rows", flush=True)
    try:
        for n in (s for s in sizes if s >= loaded):
            started = time.perf_counter()
            child = multiprocessing.get_context("spawn").Process(target=load, args=(uri, loaded, n))
            child.start()
            child.join()
            if child.exitcode != 0:
                raise SystemExit(f"loading rows {loaded}..{n} failed")
            load_s = time.perf_counter() - started
            r = export_once(uri, tmp, mongo.proc.pid, n)
            r["load_rows_per_s"] = round((n - loaded) / load_s)
            r["loadavg"] = round(os.getloadavg()[0], 1)
            loaded = n
            report["export"].append(r)
            report["at"] = datetime.now(UTC).isoformat(timespec="seconds")
            print(json.dumps(r), flush=True)
            if ns.out:
                write_report(ns.out, report)
    finally:
        mongo.stop()


if __name__ == "__main__":
    main()
