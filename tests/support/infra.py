"""The test run's slice of the real infrastructure: its own database and its own topic prefix.

Every pytest run creates `agora_test_<hex>` on the PostgreSQL server and prefixes its Kafka topics and
consumer groups with `t<hex>.`, so runs are isolated from each other, from `make run`'s data and from
earlier runs, and can be repeated on the same running infrastructure. Both are removed at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["profiles", "connections", "content", "voting"]


def base_database_url() -> str:
    return os.environ.get("DATABASE_URL") or "postgresql://agora@127.0.0.1:55432/agora"


def bootstrap_servers() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:59092"


@dataclass
class TestInfra:
    database_url: str
    admin_url: str
    database: str
    bootstrap: str
    prefix: str
    jwks_path: Path
    env: dict[str, str] = field(default_factory=dict)


def _with_db(url: str, db: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{db}"


async def create_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def migrate_all(database_url: str) -> None:
    # Alembic's env runs its own event loop: run it in a child process, as `agora migrate` runs in production.
    env = dict(os.environ, DATABASE_URL=database_url, KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers())
    subprocess.run([sys.executable, "-m", "services.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)


async def delete_topics(bootstrap: str, prefix: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


def new_run_id() -> str:
    return secrets.token_hex(4)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)
