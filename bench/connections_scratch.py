"""A scratch database for the connections benchmarks (bench/scratch.py, migrated for connections only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bench.scratch import scratch_database as _scratch


@asynccontextmanager
async def scratch_database(tag: str) -> AsyncIterator[str]:
    async with _scratch(tag, "connections") as url:
        yield url
