"""A scratch database for the connections benchmarks: created, migrated (connections only), dropped.

Uses DATABASE_URL (default: the local platform's postgresql://agora@127.0.0.1:55432/agora) as the admin
connection; the benchmark data never touches that database itself.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]


def admin_url() -> str:
    return os.environ.get("DATABASE_URL") or "postgresql://agora@127.0.0.1:55432/agora"


@asynccontextmanager
async def scratch_database(tag: str) -> AsyncIterator[str]:
    admin = admin_url()
    name = f"agora_bench_{tag}_{secrets.token_hex(3)}"
    url = admin.rpartition("/")[0] + "/" + name
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        env = dict(os.environ, DATABASE_URL=url, KAFKA_BOOTSTRAP_SERVERS=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:59092"))
        subprocess.run([sys.executable, "-m", "services.cli", "migrate", "connections"], cwd=ROOT, env=env, check=True, capture_output=True)
        yield url
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
