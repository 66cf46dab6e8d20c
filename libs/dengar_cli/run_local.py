"""`dengar run` / `make run`: the whole platform on this machine, with a demo tenant and stream."""

from __future__ import annotations

import _thread
import argparse
import hashlib
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from dengar_cli.platform import Platform
from dengar_cli.supervise import CrashLoopError, Supervisor
from dengar_common.localinfra import free_port
from dengar_common.localstate import LocalPlatform, clear_state, read_state, resolve_home, write_state

logger = logging.getLogger(__name__)

KEY_RE = re.compile(r"dgr_[A-Za-z0-9_\-]+")
DEMO_TENANT = "demo"


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def ensure_demo_key(platform: Platform, key_file: Path) -> str:
    """Reuse the saved demo key while it still works; otherwise create the tenant or a new key."""
    if key_file.exists():
        key = key_file.read_text().strip()
        r = httpx.get(f"{platform.api_url}/v1/mentions", params={"limit": 1},
                      headers={"Authorization": f"Bearer {key}"}, timeout=10)
        if r.status_code == 200:
            return key
    listing = platform.admin("tenants", "list")
    if re.search(rf"(^|\s){DEMO_TENANT}(\s|$)", listing, re.MULTILINE):
        out = platform.admin("keys", "create", "--tenant", DEMO_TENANT,
                           "--scopes", "ingest,read,admin")
    else:
        out = platform.admin("tenants", "create", "Demo", "--id", DEMO_TENANT)
    m = KEY_RE.search(out)
    if not m:
        raise RuntimeError(f"no API key in CLI output: {out!r}")
    key_file.write_text(m.group(0))
    key_file.chmod(0o600)
    return m.group(0)


def ensure_demo_queries(api_url: str, key: str) -> list[dict[str, Any]]:
    """Create the demo market's listening queries that do not exist yet (matched by name)."""
    from dengar_cli.demo import demo_queries

    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        existing: dict[str, dict[str, Any]] = {}
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            r = c.get("/v1/queries", params=params)
            r.raise_for_status()
            existing.update({q["name"]: q for q in r.json()["data"]})
            cursor = r.json().get("next_cursor")
            if not cursor:
                break
        out = []
        for q in demo_queries():
            if q["name"] not in existing:
                r = c.post("/v1/queries", json=q)
                r.raise_for_status()
                existing[q["name"]] = r.json()
            out.append(existing[q["name"]])
        return out


def share_of_voice(api_url: str, key: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    params = {"from": (now - timedelta(days=30)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}
    r = httpx.get(f"{api_url}/v1/analytics/share-of-voice", params=params,
                  headers={"Authorization": f"Bearer {key}"}, timeout=30)
    r.raise_for_status()
    return dict(r.json())


def print_share_of_voice(sov: dict[str, Any]) -> None:
    items = sov.get("items") or []
    if not items:
        return
    _out("Share of voice (brand vs competitors, from the listening queries):")
    for item in items:
        _out(f"  - {item.get('name') or item['query_id']} ({item.get('role') or '?'}): "
             f"{100 * float(item['share']):.0f}% of {sov.get('total', 0)}, "
             f"net sentiment {float(item['net_sentiment']):+.2f}")


INSIGHT_CARDS = 6


def demo_period(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The demo stream's week in whole hours: [to - 7 days, to), ``to`` the hour after ``now``."""
    now = now or datetime.now(UTC)
    to = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return to - timedelta(days=7), to


def insight_brief(api_url: str, key: str, start: datetime, end: datetime, *, lang: str = "en",
                  limit: int = INSIGHT_CARDS) -> list[dict[str, Any]]:
    params: dict[str, str | int] = {"from": start.isoformat(), "to": end.isoformat(), "lang": lang,
                                    "limit": limit}
    r = httpx.get(f"{api_url}/v1/insights/brief", params=params,
                  headers={"Authorization": f"Bearer {key}"}, timeout=120)
    r.raise_for_status()
    return list(r.json().get("cards") or [])


def _driver_label(d: dict[str, Any]) -> str:
    value = str(d.get("value", ""))
    if d.get("kind") == "aspect":
        name, _, pol = value.partition(":")
        return f"{name} ({pol})" if pol else name
    return f"'{value}'" if d.get("kind") in ("term", "hashtag") else value


def print_insights(cards: list[dict[str, Any]]) -> None:
    _out("Insights (the week's brief, GET /v1/insights/brief):")
    if not cards:
        _out("  nothing unusual found")
        return
    for i, c in enumerate(cards, 1):
        _out(f"  {i}. {c.get('title', '')}")
        _out(f"     {c.get('narrative', '')}")
        drivers = [d for d in c.get("drivers") or [] if d.get("kind") in ("aspect", "term", "hashtag")]
        if drivers:
            # A hashtag and the word it is made of read the same here.
            labels = list(dict.fromkeys(_driver_label(d).replace("'#", "'") for d in drivers))
            _out("     drivers: " + ", ".join(labels[:4]))


def _insight_get(api_url: str, key: str, route: str, start: datetime, end: datetime,
                 **params: str | int) -> dict[str, Any]:
    r = httpx.get(f"{api_url}/v1/insights/{route}",
                  params={"from": start.isoformat(), "to": end.isoformat(), **params},
                  headers={"Authorization": f"Bearer {key}"}, timeout=120)
    r.raise_for_status()
    return dict(r.json())


def print_topics(doc: dict[str, Any], limit: int = 5) -> None:
    _out("Emerging topics (GET /v1/insights/topics):")
    topics = sorted(doc.get("topics") or [], key=lambda t: -int(t.get("change", 0)))[:limit]
    if not topics:
        _out("  none found")
    for t in topics:
        rel = t.get("relative_change")
        growth = "new" if t.get("status") == "new" else (
            f"{t.get('status')}, {rel:+.0%}" if isinstance(rel, int | float) else str(t.get("status")))
        neg = int((t.get("sentiment") or {}).get("negative", 0))
        _out(f"  - {', '.join((t.get('keywords') or [])[:4])}: {t.get('volume')} mentions "
             f"({growth}; {neg} negative)")


def print_voices(doc: dict[str, Any], limit: int = 3) -> None:
    _out("Top voices by reach (GET /v1/insights/authors?rank_by=reach):")
    for a in (doc.get("authors") or [])[:limit]:
        _out(f"  - @{str(a.get('handle') or a.get('id')).lstrip('@')} ({a.get('platform')}): "
             f"{a.get('followers'):,} followers, {a.get('mentions')} mentions, "
             f"net sentiment {float(a.get('net_sentiment', 0)):+.2f}")


def feed_demo(api_url: str, key: str, n: int, seed: int, *, now: datetime | None = None) -> int:
    """POSTs the demo posts in batches; returns how many the API accepted.

    The demo's times are relative to ``now``, so a second ``dengar run`` on the same data folder sends
    the same posts (same ids) at other times.  Each batch's Idempotency-Key is therefore derived from
    its body: a retried batch is answered from the first response, and a rerun is a new request whose
    posts the collector recognises as already stored, instead of a 409 for a reused key."""
    from dengar_cli.demo import generate_demo_posts

    posts = generate_demo_posts(n, seed=seed, now=now)
    accepted = 0
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        for start in range(0, len(posts), 500):
            body = json.dumps({"posts": posts[start:start + 500]}, separators=(",", ":")).encode()
            r = c.post("/v1/posts", content=body, headers={
                "Content-Type": "application/json",
                "Idempotency-Key": "demo-" + hashlib.sha256(body).hexdigest()[:40]})
            r.raise_for_status()
            accepted += int(r.json()["accepted"])
    return accepted


def summary(api_url: str, key: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    params = {"from": (now - timedelta(days=30)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}
    r = httpx.get(f"{api_url}/v1/analytics/summary", params=params,
                  headers={"Authorization": f"Bearer {key}"}, timeout=30)
    r.raise_for_status()
    return dict(r.json())


class Progress:
    """One bar on a terminal; elsewhere (a log, CI) a line at each quarter, not one per poll."""

    def __init__(self, total: int, desc: str, *, tty: bool | None = None) -> None:
        self.total = total
        self.desc = desc
        self.tty = sys.stdout.isatty() if tty is None else tty
        self._bar = tqdm(total=total, desc=desc, unit=" posts", file=sys.stdout, leave=True,
                         dynamic_ncols=True) if self.tty else None
        self._done = 0
        self._next_quarter = 1 if total > 0 else 5

    def update_to(self, done: int) -> None:
        done = min(done, self.total)
        if self._bar is not None:
            self._bar.update(done - self._done)
        else:
            crossed = False
            while self._next_quarter <= 4 and done * 4 >= self._next_quarter * self.total:
                self._next_quarter += 1
                crossed = True
            # One line per poll however many quarters it crossed (all four when a rerun's posts were
            # already counted).
            if crossed:
                _out(f"  {self.desc}: {done}/{self.total} posts")
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def wait_processed(api_url: str, key: str, expected: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    progress = Progress(expected, "enriched and counted")
    try:
        while time.monotonic() < deadline:
            last = summary(api_url, key)
            volume = int(last.get("volume", 0))
            progress.update_to(volume)
            if volume >= expected:
                break
            time.sleep(2)
    finally:
        progress.close()
    if int(last.get("volume", 0)) < expected:
        _out(f"  only {last.get('volume', 0)}/{expected} posts counted after {timeout:.0f}s; "
             "the rest will follow")
    return last


def print_summary(s: dict[str, Any]) -> None:
    volume = int(s.get("volume", 0))
    sent = s.get("sentiment") or {k: s.get(k, 0) for k in ("negative", "neutral", "positive")}
    _out(f"Volume: {volume} mentions")
    if volume:
        _out("Sentiment: " + ", ".join(f"{k} {int(v)} ({100 * int(v) / volume:.0f}%)"
                                      for k, v in sent.items()))
    aspects = s.get("aspects") or s.get("top_negative_aspects") or []
    if aspects:
        _out("Top negative aspects:")
        for a in aspects[:5]:
            _out(f"  - {a.get('name')}: {a.get('negative', 0)} negative of "
                 f"{int(a.get('negative', 0)) + int(a.get('neutral', 0)) + int(a.get('positive', 0))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dengar run", description=__doc__)
    parser.add_argument("--home", type=Path, default=None,
                        help="state directory: data, logs and platform.json, which the other commands "
                             "read to find this platform (env DENGAR_HOME, default ./.dengar)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("DENGAR_GATEWAY__HTTP_PORT", 8080)))
    parser.add_argument("--demo-posts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--exit-after-demo", action="store_true",
                        help="stop after printing the summary (smoke test)")
    ns = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    home = resolve_home(ns.home).resolve()
    running = read_state(home)
    if running is not None:
        _out(f"Dengar is already running from {home} (pid {running.pid}, API {running.api_url}).")
        return 2
    port = ns.port
    try:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
    except OSError:
        port = free_port()
    platform = Platform(home=home, gateway_port=port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # A shell starts background jobs (`make run &`) with SIGINT ignored; `kill -INT` should still stop
    # the platform as Ctrl-C does.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _out(f"Starting Dengar (data in {home}) ...")

    def give_up(exc: CrashLoopError) -> None:
        # From the supervisor's thread: end whatever the main thread is doing (the demo, the wait) as
        # Ctrl-C would. (Not through ``stop``: the interrupt would then land in the shutdown.)
        _out(str(exc))
        _thread.interrupt_main()

    supervisor = Supervisor(platform, on_give_up=give_up)
    try:
        platform.start()
        # From here on a crashed process is restarted with back-off instead of ending the platform.
        supervisor.start()
        assert platform.infra is not None
        write_state(home, LocalPlatform(
            pid=os.getpid(), mongo_uri=platform.infra.mongo_uri, nats_url=platform.infra.nats_url,
            api_url=platform.api_url, gateway_db=f"{platform.db_prefix}_gateway",
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            collector_target=f"127.0.0.1:{platform.procs['collector'].port}",
            insights_target=f"127.0.0.1:{platform.procs['insights'].port}"))
        key = ensure_demo_key(platform, home / "demo-key")
        _out(f"API:        {platform.api_url}/v1   (OpenAPI: {platform.api_url}/docs)")
        _out(f"Dashboard:  {platform.api_url}/")
        _out(f"Demo key:   {key}")
        queries = ensure_demo_queries(platform.api_url, key)
        _out("Listening:  " + "; ".join(f"{q['name']} ({q['role']})" for q in queries))
        if not ns.no_demo:
            _out(f"Feeding {ns.demo_posts} demo posts (English and Indonesian, 3 competing brands) ...")
            accepted = feed_demo(platform.api_url, key, ns.demo_posts, ns.seed)
            summary = wait_processed(platform.api_url, key, accepted, timeout=600)
            _out("")
            print_summary(summary)
            print_share_of_voice(share_of_voice(platform.api_url, key))
        _out("")
        _out(f"Try: curl -H 'Authorization: Bearer {key}' "
             f"'{platform.api_url}/v1/mentions?sentiment=negative&limit=3'")
        if not ns.no_demo:
            # Last, so that the summary ends with what the week's stream says.
            _out("")
            try:
                week = demo_period()
                print_voices(_insight_get(platform.api_url, key, "authors", *week, rank_by="reach"))
                _out("")
                print_topics(_insight_get(platform.api_url, key, "topics", *week))
                _out("")
                print_insights(insight_brief(platform.api_url, key, *week))
            except httpx.HTTPError as exc:
                _out(f"Insights: unavailable ({exc})")
        if ns.exit_after_demo:
            return 0
        _out("Press Ctrl-C to stop.")
        while not stop.wait(1.0):
            pass
        return 1 if supervisor.failure else 0
    except KeyboardInterrupt:
        return 1 if supervisor.failure else 0
    finally:
        # First, so that commands run during the shutdown already say "not running".
        clear_state(home, os.getpid())
        _out("Stopping ...")
        supervisor.stop()
        platform.stop()
        _out("Stopped.")
