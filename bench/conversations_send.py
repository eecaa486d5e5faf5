"""Send throughput and latency of conversations, next to a bare insert of the same rows in the same run.

    uv run python bench/conversations_send.py [--members 10000] [--conversations 50000] [--sends 4000] [--concurrency 8]

Seeds a scratch database (COPY) with 10,000 members in 50,000 conversations (80% direct, 20% groups of
3–8), then, for the same random (sender, conversation, text) sample:
  send (service)   `conversations.service.send()` in its own transaction, as POST …/messages runs it: the
                   sender's row lock and rate count, the conversation row lock and seq, the message, the
                   sender's markers, the members for the recipients, `message.sent` into the outbox;
                   1 in 10 messages links a post (+ `message.post_linked`)
  bare insert      the same message rows, one INSERT per transaction on raw asyncpg (the floor: what storing
                   a message costs with no rule, no lock and no event)
  send (HTTP)      POST /v1/conversations/{id}/messages through the in-process app (auth, FastAPI, pydantic),
                   a smaller sample
  list             GET-equivalent `conversations()` for random members: the inbox with unread counts
Both write paths run with the same concurrency, twice, alternating, to show the noise of a shared box.
Prints msgs/s and p50/p99 in ms. No assertions. Not measured here: delivery to a member's stream (the
gateway's part, issue 9's "p99 to stream delivery"), which needs the relay and the gateway running.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402

from bench.connections_scratch import scratch_database  # noqa: E402
from services.connections.config import SCHEMA, Settings  # noqa: E402
from services.connections.conversations import service  # noqa: E402
from services.connections.conversations.repository import direct_key  # noqa: E402
from services.kit.db import make_engine, make_sessions  # noqa: E402


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def report(name: str, ms: list[float], seconds: float) -> None:
    print(f"  {name:<26} n={len(ms):>5}  {len(ms) / seconds:8.0f} msgs/s   p50 {statistics.median(ms):6.2f} ms   "
          f"p99 {pct(ms, 0.99):7.2f} ms   max {max(ms):7.2f} ms")


async def run_concurrently(items: list[Any], concurrency: int, call: Callable[[Any], Awaitable[None]]) -> tuple[list[float], float]:
    queue = list(reversed(items))
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            item = queue.pop()
            t = time.perf_counter()
            await call(item)
            latencies.append((time.perf_counter() - t) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return latencies, time.perf_counter() - t0


async def seed(url: str, n_members: int, n_conversations: int, rng: random.Random) -> tuple[list[uuid.UUID], list[tuple[uuid.UUID, list[uuid.UUID]]]]:
    now = datetime.now(UTC)
    members = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(n_members)]
    conversations: list[tuple[uuid.UUID, list[uuid.UUID]]] = []
    conv_rows, member_rows, seen = [], [], set()
    while len(conversations) < n_conversations:
        group = rng.random() < 0.2
        people = rng.sample(members, rng.randint(3, 8) if group else 2)
        key = None if group else direct_key(people[0], people[1])
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        cid = uuid.UUID(int=rng.getrandbits(128), version=4)
        conversations.append((cid, people))
        conv_rows.append((cid, "group" if group else "direct", None, people[0], "member", key, None, None, now, now, 0, None))
        member_rows.extend((cid, m, now, None, False, 0, 0, None) for m in people)
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("members", schema_name=SCHEMA, columns=["member_id", "handle", "registered_at"],
                                         records=[(m, f"b-{i}", now) for i, m in enumerate(members)])
        await conn.copy_records_to_table("conversations", schema_name=SCHEMA, records=conv_rows, columns=[
            "conversation_id", "kind", "title", "created_by", "origin", "direct_key", "request_status", "request_to",
            "created_at", "last_message_at", "last_seq", "closed_at"])
        await conn.copy_records_to_table("conversation_members", schema_name=SCHEMA, records=member_rows, columns=[
            "conversation_id", "member_id", "joined_at", "left_at", "muted", "last_delivered_seq", "last_read_seq", "last_read_at"])
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()
    return members, conversations


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--members", type=int, default=10_000)
    p.add_argument("--conversations", type=int, default=50_000)
    p.add_argument("--sends", type=int, default=4_000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = random.Random(a.seed)
    logging.disable(logging.INFO)

    async with scratch_database("conversations") as url:
        t = time.perf_counter()
        members, conversations = await seed(url, a.members, a.conversations, rng)
        n_rows = sum(len(p) for _, p in conversations)
        print(f"seeded {len(members)} members in {len(conversations)} conversations ({n_rows} memberships) in {time.perf_counter() - t:.1f}s; "
              f"{a.sends} sends per variant, concurrency {a.concurrency}")

        def sample(n: int) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
            out = []
            for i in range(n):
                cid, people = rng.choice(conversations)
                link = f" https://agora.example/posts/{uuid.uuid4()}" if i % 10 == 0 else ""
                out.append((rng.choice(people), cid, f"message {i} about the thing we discussed{link}"))
            return out

        settings = Settings(database_url=url, kafka_bootstrap_servers="127.0.0.1:1", db_pool_size=a.concurrency,
                            message_rate_per_minute=1_000_000, jwks_url=None)
        engine = make_engine(settings, SCHEMA, pool_size=a.concurrency)
        sessions = make_sessions(engine)
        pool = await asyncpg.create_pool(url, min_size=a.concurrency, max_size=a.concurrency)
        base_seq = iter(range(10**9, 10**10))

        async def send(item: tuple[uuid.UUID, uuid.UUID, str]) -> None:
            async with sessions() as s, s.begin():
                await service.send(s, settings, item[0], item[1], item[2])

        async def bare(item: tuple[uuid.UUID, uuid.UUID, str]) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    f"INSERT INTO {SCHEMA}.messages (message_id, conversation_id, seq, sender_id, body, sent_at) VALUES ($1, $2, $3, $4, $5, now())",
                    uuid.uuid4(), item[1], next(base_seq), item[0], item[2])

        try:
            for round_ in (1, 2):
                items = sample(a.sends)
                ms, secs = await run_concurrently(items, a.concurrency, send)
                report(f"send (service) round {round_}", ms, secs)
                ms, secs = await run_concurrently(items, a.concurrency, bare)
                report(f"bare insert    round {round_}", ms, secs)
            async with pool.acquire() as conn:
                events = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.outbox")
                messages = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.messages")
            print(f"  ({messages} message rows, {events} outbox events written)")

            # Through the app: token check, routing, pydantic, the same rule.
            await http_round(url, settings, sample(max(200, a.sends // 4)), a.concurrency)

            readers = [rng.choice(members) for _ in range(1000)]

            async def list_inbox(member: uuid.UUID) -> None:
                async with sessions() as s, s.begin():
                    await service.conversations(s, member, "inbox", 20, None)

            ms, secs = await run_concurrently(readers, a.concurrency, list_inbox)
            report("list inbox + unread", ms, secs)
        finally:
            await pool.close()
            await engine.dispose()


async def http_round(url: str, settings: Settings, items: list[tuple[uuid.UUID, uuid.UUID, str]], concurrency: int) -> None:
    import httpx

    from services.connections.main import create_app
    from tests.support.tokens import TestIssuer

    with tempfile.TemporaryDirectory() as tmp:
        issuer = TestIssuer(Path(tmp) / "jwks.json")
        app = create_app(settings.model_copy(update={"jwks_url": issuer.jwks_url}))
        headers = {m: issuer.headers(m) for m, _, _ in items}
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
                async def post(item: tuple[uuid.UUID, uuid.UUID, str]) -> None:
                    r = await client.post(f"/v1/conversations/{item[1]}/messages", json={"body": item[2]}, headers=headers[item[0]])
                    if r.status_code != 201:
                        raise RuntimeError(r.text)

                ms, secs = await run_concurrently(items, concurrency, post)
                report("send (HTTP, in-process)", ms, secs)


if __name__ == "__main__":
    asyncio.run(main())
