"""Live-stream benchmark: latency from POST /v1/posts to the mention on a connected SSE client.

    .venv/bin/python bench/bench_stream.py --out bench/results

Starts the real platform (NATS, the store and the four services as processes, as ``make run`` and
the end-to-end tests do) in a temporary folder, creates a tenant, connects one Server-Sent Events
client to ``GET /v1/stream/mentions`` and then posts one post at a time (light load: one request
in flight, ``--interval`` seconds apart). For each post, the latency is the time from just before
its POST to the arrival of its ``mention`` event on the client: the whole pipeline (gateway →
collector → NATS → NLP → NATS → insights store → mention event → StreamMentions → SSE). The first
``--warmup`` posts are left out (model and connection warm-up). The target is 2 s.

Writes ``<out>/stream.json`` and ``<out>/stream.md`` with the CPU model. The machine may be shared,
so the load average before and after is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as pyplatform
import queue
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
for _sub in ("libs",):
    if str(ROOT / _sub) not in sys.path:
        sys.path.insert(0, str(ROOT / _sub))

from dengar_cli.platform import Platform  # noqa: E402  # after the path set-up above

TARGET_S = 2.0
KEY_RE = re.compile(r"dgr_[A-Za-z0-9_\-]+")
TEXTS = ("Pengiriman telat lagi, kecewa banget", "Delivery was quick and the driver was kind",
         "Harga naik terus, aplikasinya juga lemot", "Refund still not processed after two weeks",
         "Mantap, promo ongkir gratis hari ini")


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


class Listener:
    """An SSE client in a thread: (arrival time, external id, event id) per mention event."""

    def __init__(self, api_url: str, key: str) -> None:
        self.arrivals: queue.Queue[tuple[float, str, str]] = queue.Queue()
        self.opened = threading.Event()
        self._client = httpx.Client(base_url=api_url, timeout=httpx.Timeout(10, read=120))
        self._key = key
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._client.stream("GET", "/v1/stream/mentions",
                                     headers={"Authorization": f"Bearer {self._key}"}) as resp:
                resp.raise_for_status()
                fields: dict[str, str] = {}
                for line in resp.iter_lines():
                    if line == "" and fields:
                        now = time.perf_counter()
                        if fields.get("event") == "open":
                            self.opened.set()
                        elif fields.get("event") == "mention":
                            data = json.loads(fields["data"])
                            self.arrivals.put((now, data["external_id"], fields.get("id", "")))
                        fields = {}
                    elif line and not line.startswith(":"):
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass  # closed at the end

    def close(self) -> None:
        self._client.close()


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def run(posts: int, warmup: int, interval_s: float) -> dict[str, Any]:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="dengar-bench-stream-") as home:
        plat = Platform(home=Path(home), subject_root="benchstream", db_prefix="benchstream")
        try:
            started = time.perf_counter()
            plat.start()
            startup_s = time.perf_counter() - started
            out = plat.admin("tenants", "create", "Bench Stream", "--id", "benchstream")
            match = KEY_RE.search(out)
            assert match, out
            key = match.group(0)
            listener = Listener(plat.api_url, key)
            if not listener.opened.wait(60):
                raise RuntimeError("the SSE stream did not open")
            run_id = uuid.uuid4().hex[:6]
            latencies: list[float] = []
            lost = 0
            with httpx.Client(base_url=plat.api_url, headers={"Authorization": f"Bearer {key}"},
                              timeout=30) as api:
                for i in range(warmup + posts):
                    external_id = f"{run_id}-{i}"
                    sent = time.perf_counter()
                    r = api.post("/v1/posts", json={"posts": [{
                        "platform": "x", "external_id": external_id, "text": TEXTS[i % len(TEXTS)],
                        "created_at": datetime.now(UTC).isoformat()}]})
                    r.raise_for_status()
                    try:
                        while True:
                            at, got, _ = listener.arrivals.get(timeout=30)
                            if got == external_id:
                                break
                    except queue.Empty:
                        lost += 1
                        continue
                    if i >= warmup:
                        latencies.append(at - sent)
                    time.sleep(interval_s)
            listener.close()
        finally:
            plat.stop()
    load_after = os.getloadavg()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "posts": posts, "warmup": warmup, "interval_s": interval_s,
        "platform_startup_s": round(startup_s, 1),
        "latency_s": {
            "p50": round(statistics.median(latencies), 3) if latencies else None,
            "p90": round(_percentile(latencies, 90), 3) if latencies else None,
            "p99": round(_percentile(latencies, 99), 3) if latencies else None,
            "max": round(max(latencies), 3) if latencies else None,
            "mean": round(statistics.fmean(latencies), 3) if latencies else None,
        },
        "within_target": sum(1 for x in latencies if x <= TARGET_S), "measured": len(latencies),
        "lost": lost, "target_s": TARGET_S,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }


def markdown(r: dict[str, Any]) -> str:
    m, lat = r["machine"], r["latency_s"]
    cells = [str(r["measured"]), *(f"{lat[k]} s" for k in ("p50", "p90", "p99", "max", "mean")),
             f'{r["within_target"]}/{r["measured"]}', str(r["lost"])]
    row = "| " + " | ".join(cells) + " |"
    return f"""# Live stream benchmark

Generated by `bench/bench_stream.py` ({r["date"]}) on {m["cpu_model"]} ({m["logical_cores"]} logical
cores, Python {m["python"]}). Load average before/after: {r["load_average_before"]} /
{r["load_average_after"]}.

Latency from `POST /v1/posts` to the mention's event on a connected `GET /v1/stream/mentions`
client, on the real platform (all services as processes, NATS, SecantusDB), one post at a time
every {r["interval_s"]} s; {r["warmup"]} warm-up posts left out. Target: {r["target_s"]} s.

| posts | p50 | p90 | p99 | max | mean | within {r["target_s"]} s | lost |
|---|---|---|---|---|---|---|---|
{row}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between posts")
    args = parser.parse_args()
    result = run(args.posts, args.warmup, args.interval)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "stream.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / "stream.md").write_text(markdown(result), encoding="utf-8")
    lat = result["latency_s"]
    print(f"stream latency p50 {lat['p50']} s, p99 {lat['p99']} s, max {lat['max']} s; "
          f"{result['within_target']}/{result['measured']} within {TARGET_S} s, {result['lost']} lost")


if __name__ == "__main__":
    main()
