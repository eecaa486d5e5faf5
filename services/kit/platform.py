"""Readiness checks for the infrastructure, used by the local platform scripts (deploy/local/*.sh).

    python -m services.kit.platform wait-postgres --timeout 60   # DATABASE_URL accepts connections
    python -m services.kit.platform wait-kafka --timeout 60      # the broker answers a metadata request
    python -m services.kit.platform wait-http --timeout 60 URL.. # every URL's /readyz answers 200
Exit 0 when ready, 1 with a message when the timeout passes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time


async def postgres_ready(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=3)
    try:
        await conn.execute("SELECT 1")
    finally:
        await conn.close()


async def kafka_ready(bootstrap: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    await admin.start()
    try:
        await admin.describe_cluster()
    finally:
        await admin.close()


async def http_ready(base: str) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=2) as client:
        resp = await client.get(f"{base.rstrip('/')}/readyz")
        if resp.status_code != 200:
            raise RuntimeError(f"{base}/readyz answered {resp.status_code}")


async def wait(check, target: str, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            await asyncio.wait_for(check(target), 5)
            return
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{target} not ready after {timeout:.0f}s: {last.__class__.__name__}: {last}")
        await asyncio.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="services.kit.platform")
    p.add_argument("what", choices=["wait-postgres", "wait-kafka", "wait-http"])
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("urls", nargs="*")
    a = p.parse_intermixed_args(argv)
    try:
        if a.what == "wait-postgres":
            url = os.environ.get("DATABASE_URL")
            if not url:
                print("DATABASE_URL is not set", file=sys.stderr)
                return 1
            asyncio.run(wait(postgres_ready, url, a.timeout))
        elif a.what == "wait-http":
            async def all_ready() -> None:
                await asyncio.gather(*(wait(http_ready, u, a.timeout) for u in a.urls))

            asyncio.run(all_ready())
        else:
            bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
            if not bootstrap:
                print("KAFKA_BOOTSTRAP_SERVERS is not set", file=sys.stderr)
                return 1
            asyncio.run(wait(kafka_ready, bootstrap, a.timeout))
    except TimeoutError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
