"""Group commit for hot paths: the items of many concurrent callers, run together in one call.

    caller ──submit(item)──▶ queue ──▶ run([item, item, ...]) ──▶ one result per item ──▶ each caller

`Coalescer.submit(item)` queues the item and waits for its result. While fewer than `concurrency` calls
of `run` are in flight, one starts with every queued item (at most `max_items`): an idle process runs an
item at once, alone; a busy one runs the items that arrived meanwhile together — one round trip and one
transaction for many requests instead of one each. `run(items)` returns one result per item, in order;
what it raises, each of that call's callers raises. An item whose caller was cancelled before its call
started is left out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Coalescer(Generic[T, R]):
    def __init__(self, run: Callable[[list[T]], Awaitable[list[R]]], *, max_items: int = 256, concurrency: int = 2) -> None:
        self._run = run
        self.max_items = max_items
        self.concurrency = concurrency
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._active = 0  # drains running; counted by the drain itself, so that none can end unseen
        self._tasks: set[asyncio.Task[None]] = set()  # references to them (the loop keeps only weak ones)
        self.calls = 0  # how many calls of `run` (items / calls = the mean group size)
        self.items = 0

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if self._active < self.concurrency:
            self._active += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        try:
            await self._drain_queue()
        finally:
            self._active -= 1  # no await between the empty queue and this: a later submit starts a new drain

    async def _drain_queue(self) -> None:
        while self._queue:
            group = [(item, f) for item, f in self._queue[: self.max_items] if not f.done()]
            del self._queue[: self.max_items]
            if not group:
                continue
            self.calls += 1
            self.items += len(group)
            try:
                results = await self._run([item for item, _ in group])
            except asyncio.CancelledError:
                for _, f in group:
                    f.cancel()
                raise
            except Exception as exc:  # noqa: BLE001 - handed to every caller of this call
                for _, f in group:
                    if not f.done():
                        f.set_exception(exc)
                continue
            if len(results) != len(group):
                error = RuntimeError(f"run returned {len(results)} results for {len(group)} items")
                for _, f in group:
                    if not f.done():
                        f.set_exception(error)
                continue
            for (_, f), result in zip(group, results, strict=True):
                if not f.done():
                    f.set_result(result)
