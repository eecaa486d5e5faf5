"""kit's Coalescer: concurrent callers' items go to `run` together (at most `concurrency` calls in flight,
`max_items` each), every caller gets its own result or the call's error, an idle caller is not kept waiting,
and a caller cancelled before its call started is left out."""

from __future__ import annotations

import asyncio

import pytest

from services.kit.coalesce import Coalescer


class Recorder:
    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.release = asyncio.Event()

    async def run(self, items: list[int]) -> list[int]:
        self.calls.append(items)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await self.release.wait()
        self.in_flight -= 1
        if -1 in items:
            raise ValueError("refused")
        return [i * 10 for i in items]


async def test_items_arriving_while_calls_are_in_flight_go_together() -> None:
    r = Recorder()
    c: Coalescer[int, int] = Coalescer(r.run, max_items=3, concurrency=2)
    callers = [asyncio.ensure_future(c.submit(i)) for i in range(8)]
    await asyncio.sleep(0.01)
    assert r.calls == [[0, 1, 2], [3, 4, 5]] and r.most_in_flight == 2  # two calls in flight, the rest queued
    r.release.set()
    assert await asyncio.gather(*callers) == [i * 10 for i in range(8)]
    assert sorted(i for call in r.calls for i in call) == list(range(8)) and len(r.calls) == 3
    assert (c.calls, c.items) == (3, 8)


async def test_an_idle_caller_runs_at_once_and_again_after_a_pause() -> None:
    r = Recorder()
    r.release.set()
    c: Coalescer[int, int] = Coalescer(r.run)
    assert await c.submit(1) == 10
    await asyncio.sleep(0)
    assert await c.submit(2) == 20
    assert r.calls == [[1], [2]]


async def test_a_failed_call_fails_each_of_its_callers_only() -> None:
    r = Recorder()
    c: Coalescer[int, int] = Coalescer(r.run, max_items=2, concurrency=1)
    first = [asyncio.ensure_future(c.submit(i)) for i in (-1, 1)]
    await asyncio.sleep(0.01)
    later = asyncio.ensure_future(c.submit(2))
    r.release.set()
    for f in first:
        with pytest.raises(ValueError, match="refused"):
            await f
    assert await later == 20


async def test_a_caller_cancelled_before_its_call_is_left_out() -> None:
    r = Recorder()
    c: Coalescer[int, int] = Coalescer(r.run, max_items=10, concurrency=1)
    running = asyncio.ensure_future(c.submit(1))
    await asyncio.sleep(0.01)
    gone = asyncio.ensure_future(c.submit(2))
    kept = asyncio.ensure_future(c.submit(3))
    await asyncio.sleep(0.01)
    gone.cancel()
    r.release.set()
    assert await running == 10 and await kept == 30
    assert r.calls == [[1], [3]]
