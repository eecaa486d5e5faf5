"""A minimal Server-Sent Events client for tests (httpx streaming, the text/event-stream framing by hand)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson


@dataclass
class Event:
    event: str
    id: str | None
    data: Any
    retry: int | None = None


class Stream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()
        self.heartbeats = 0

    async def next(self, timeout: float = 15.0) -> Event:
        return await asyncio.wait_for(self._next(), timeout)

    async def _next(self) -> Event:
        fields: dict[str, str] = {}
        async for line in self.lines:
            if line == "":
                if "data" in fields or "event" in fields:
                    return Event(fields.get("event", "message"), fields.get("id"), orjson.loads(fields["data"]) if "data" in fields else None,
                                 int(fields["retry"]) if "retry" in fields else None)
                continue
            if line.startswith(":"):
                self.heartbeats += 1
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        raise EOFError("stream ended")

    async def events(self, n: int, timeout: float = 20.0) -> list[Event]:
        """The next n events (control events excluded)."""
        out: list[Event] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(out) < n:
            e = await self.next(max(0.01, deadline - asyncio.get_running_loop().time()))
            if e.event not in ("ready",):
                out.append(e)
        return out


@asynccontextmanager
async def open_stream(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[Stream]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=30)) as client:
        async with client.stream("GET", url, headers=headers or {}) as response:
            assert response.status_code == 200, (await response.aread()).decode()
            assert response.headers["content-type"].startswith("text/event-stream")
            yield Stream(response)
