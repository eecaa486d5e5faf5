"""A scratch database for a benchmark: created, migrated for the services it names, dropped at the end;
and `PgCpu`, the CPU its PostgreSQL backends use.

Uses DATABASE_URL (default: the local platform's postgresql://agora@127.0.0.1:55432/agora) as the admin
connection; the benchmark data never touches that database itself.

    async with scratch_database("content", "content", keep=args.keep) as url: ...
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import infra  # noqa: E402


@asynccontextmanager
async def scratch_database(tag: str, *services: str, keep: bool = False) -> AsyncIterator[str]:
    """The URL of a fresh database `agora_bench_<tag>_<hex>` with the services' migrations applied
    (every service when none is named); dropped on exit unless `keep`."""
    admin = infra.base_database_url()
    name = f"agora_bench_{tag}_{secrets.token_hex(3)}"
    try:
        yield await migrated_database(name, *services)
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            await infra.drop_database(admin, name)


async def migrated_database(name: str, *services: str) -> str:
    """Create database `name` on the admin connection's server and apply the services' migrations (every
    service when none is named); its URL. The caller drops it (`infra.drop_database`)."""
    url = infra._with_db(infra.base_database_url(), name)
    await infra.create_database(infra.base_database_url(), name)
    env = dict(os.environ, DATABASE_URL=url, KAFKA_BOOTSTRAP_SERVERS=infra.bootstrap_servers())
    subprocess.run([sys.executable, "-m", "services.cli", "migrate", *services], cwd=ROOT, env=env, check=True, capture_output=True)
    return url


class PgCpu:
    """CPU seconds used by the PostgreSQL backends serving one database (sampled every 0.2 s from /proc:
    the bench runs on the database's host), its own sampling connection excluded. On a shared machine
    CPU per vote is steadier than votes/s: other processes' load stretches wall time, not CPU time."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.seen: dict[int, float] = {}
        self.start: dict[int, float] = {}
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            me = await conn.fetchval("SELECT pg_backend_pid()")
            db = await conn.fetchval("SELECT current_database()")
            while True:
                for (pid,) in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> $2", db, me):
                    try:
                        t = psutil.Process(pid).cpu_times()
                    except psutil.Error:
                        continue
                    self.seen[pid] = t.user + t.system
                    self.start.setdefault(pid, self.seen[pid])
                await asyncio.sleep(0.2)
        finally:
            await conn.close()

    def begin(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    def end(self) -> float:
        """CPU seconds since begin() (a backend seen first mid-run counts from its first sample)."""
        assert self.task is not None
        self.task.cancel()
        return sum(v - self.start[p] for p, v in self.seen.items())
