"""`dengar run`'s demo feed against the real gateway over HTTP: running it again is not an error."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dengar_cli.run_local import feed_demo
from dengar_gateway.domain.keys import Scope


async def test_the_demo_feed_runs_again_and_retries_are_replayed(gateway_for: Any, fakes: Any,
                                                                  tmp_path: Path) -> None:
    port_file = tmp_path / "gateway.port"
    gateway = await gateway_for(port_file=str(port_file))
    key = (await gateway.new_key("demo", Scope.INGEST)).secret
    url = f"http://127.0.0.1:{port_file.read_text().strip()}"
    t0 = datetime(2026, 12, 1, 12, tzinfo=UTC)

    assert await asyncio.to_thread(feed_demo, url, key, 600, 7, now=t0) == 600
    assert len(fakes.collector.calls) == 2  # two batches of at most 500
    # `make run` again, hours later, on the same data folder: the same demo posts at other times. That
    # is a new request (the collector then finds the posts already stored), not a reused key's 409.
    assert await asyncio.to_thread(feed_demo, url, key, 600, 7, now=t0 + timedelta(hours=3)) == 600
    assert len(fakes.collector.calls) == 4
    # The same feed retried (same posts, same times) is answered from the first responses.
    assert await asyncio.to_thread(feed_demo, url, key, 600, 7, now=t0) == 600
    assert len(fakes.collector.calls) == 4
