"""A scratch database for a benchmark: created, migrated for the services it names, dropped at the end.

Uses DATABASE_URL (default: the local platform's postgresql://agora@127.0.0.1:55432/agora) as the admin
connection; the benchmark data never touches that database itself.

    async with scratch_database("content", "content", keep=args.keep) as url: ...
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import infra  # noqa: E402


@asynccontextmanager
async def scratch_database(tag: str, *services: str, keep: bool = False) -> AsyncIterator[str]:
    """The URL of a fresh database `agora_bench_<tag>_<hex>` with the services' migrations applied
    (every service when none is named); dropped on exit unless `keep`."""
    admin = infra.base_database_url()
    name = f"agora_bench_{tag}_{secrets.token_hex(3)}"
    url = infra._with_db(admin, name)
    await infra.create_database(admin, name)
    try:
        env = dict(os.environ, DATABASE_URL=url, KAFKA_BOOTSTRAP_SERVERS=infra.bootstrap_servers())
        subprocess.run([sys.executable, "-m", "services.cli", "migrate", *services], cwd=ROOT, env=env, check=True, capture_output=True)
        yield url
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            await infra.drop_database(admin, name)
