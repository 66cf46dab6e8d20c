"""Batches handled at once keep the copies of one post in arrival order (entrypoints/consumer.py)."""

from __future__ import annotations

import asyncio

from dengar_insights.entrypoints.consumer import _PostOrder


async def test_a_batch_waits_only_for_earlier_batches_holding_its_posts() -> None:
    order = _PostOrder()
    log: list[str] = []

    async def batch(name: str, keys: list[str], work: asyncio.Event) -> None:
        earlier, mine = order.enter(keys)
        try:
            if earlier:
                await asyncio.wait(earlier)
            log.append(f"{name} start")
            await work.wait()
            log.append(f"{name} end")
        finally:
            order.leave(keys, mine)

    a_work, b_work, c_work, d_work = (asyncio.Event() for _ in range(4))
    # Registered in this order, as the worker fetches them.
    a = asyncio.create_task(batch("a", ["t|p1", "t|p2"], a_work))
    b = asyncio.create_task(batch("b", ["t|p2", "t|p3"], b_work))
    c = asyncio.create_task(batch("c", ["t|p4"], c_work))
    d = asyncio.create_task(batch("d", ["t|p3"], d_work))
    await asyncio.sleep(0.01)
    # c shares nothing and runs beside a; b waits for a (p2), d for b (p3).
    assert log == ["a start", "c start"]
    c_work.set()
    await c
    a_work.set()
    await a
    await asyncio.sleep(0.01)
    assert log[-1] == "b start" and "d start" not in log
    b_work.set()
    d_work.set()
    await asyncio.gather(b, d)
    assert log.index("b end") < log.index("d start")
    # Nothing is held once every batch left.
    assert order._last == {}
