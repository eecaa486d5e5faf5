"""Send throughput and latency of conversations, next to a bare insert of the same rows in the same run.

    uv run python bench/conversations_send.py [--members 10000] [--conversations 50000] [--sends 4000] [--concurrency 8]
                                              [--subscribers 500] [--stream-sends 2000] [--only-stream]

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

Then the running system, issue 9's "p99 to stream delivery": real processes as tests/support/processes.py starts
them (`agora serve connections`, `agora relay connections`, `agora serve gateway`) on the scratch database and a
topic prefix of their own; `--subscribers` members of the seeded conversations hold their `me` SSE stream open
through the gateway, and
  send → stream    POST /v1/conversations/{id}/messages through the gateway (concurrency as above) into
                   conversations that have a subscribed recipient; per delivery, the time from the send's 2xx
                   (and from the request's start) to the `message.sent` event on that recipient's stream
                   (connections → outbox → NOTIFY → relay → Kafka → gateway tail → SSE). Negative = the event
                   arrived before the client had read the 2xx.
  send → service   the same sends straight to the connections process (no gateway hop), with their delivery
  bare publish     the baseline of the delivery half: the same number of `message.sent` events produced straight
                   to the topic (acks=all, same concurrency), from the producer's ack to the same streams
  bare insert      the throughput baseline again, the same message rows as the gateway sends, right after them
Prints msgs/s and p50/p99 in ms. No assertions.
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
    p.add_argument("--subscribers", type=int, default=500, help="members holding their `me` stream open through the gateway")
    p.add_argument("--stream-sends", type=int, default=2000)
    p.add_argument("--only-stream", action="store_true", help="skip the in-process rounds")
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
            if a.only_stream:
                await stream_round(url, a, rng, members, conversations, pool, base_seq)
                return
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
            await stream_round(url, a, rng, members, conversations, pool, base_seq)
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


async def stream_round(url: str, a: argparse.Namespace, rng: random.Random, members: list[uuid.UUID],
                       conversations: list[tuple[uuid.UUID, list[uuid.UUID]]], pool: Any, base_seq: Any) -> None:
    """Send through the gateway, receive on the recipients' `me` streams; next to a bare publish and a bare insert."""
    import os
    import secrets

    import aiohttp
    import orjson
    from aiokafka import AIOKafkaProducer

    from services.catalog import CONVERSATIONS, TOPICS
    from services.kit.events import CloudEvent
    from services.kit.topics import ensure_topics
    from tests.support import processes
    from tests.support.infra import delete_topics
    from tests.support.tokens import TestIssuer

    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:59092")
    prefix = f"bconv{secrets.token_hex(3)}."
    await ensure_topics(bootstrap, TOPICS, prefix)
    subscribed = set(rng.sample(members, min(a.subscribers, len(members))))
    # Sends into conversations with a subscribed recipient: (sender, conversation, text, the subscribed recipients).
    candidates = [(cid, people) for cid, people in conversations if sum(1 for m in people if m in subscribed) >= 1]
    items: list[tuple[uuid.UUID, uuid.UUID, str, list[uuid.UUID]]] = []
    while len(items) < a.stream_sends:
        cid, people = rng.choice(candidates)
        listening = [m for m in people if m in subscribed]
        sender = rng.choice([m for m in people if m != listening[0]])
        items.append((sender, cid, f"stream message {len(items)} about the thing", [m for m in listening if m != sender]))
    procs: list[Any] = []
    with tempfile.TemporaryDirectory() as tmp:
        issuer = TestIssuer(Path(tmp) / "jwks.json")
        env = {"DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "AGORA_TOPIC_PREFIX": prefix, "AGORA_JWKS_URL": issuer.jwks_url,
               "AGORA_LOG_LEVEL": "WARNING", "CONNECTIONS_MESSAGE_RATE_PER_MINUTE": "1000000"}
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        try:
            procs.append(processes.start("bench-connections", ["services.cli", "serve", "connections"], env))
            procs.append(processes.start("bench-relay", ["services.cli", "relay", "connections"], env))
            for proc in procs:
                proc.wait_ready(120)
            procs.append(processes.start("bench-gateway", ["services.cli", "serve", "gateway"], env, extra_env={
                "GATEWAY_CONNECTIONS_URL": procs[0].url, "GATEWAY_RATE_LIMIT_SCALE": "10000"}))
            procs[-1].wait_ready(120)
            gw = procs[-1].url
            await producer.start()
            arrived: dict[tuple[str, str], float] = {}
            ready = asyncio.Event()
            n_ready = [0]

            async def listen(session: aiohttp.ClientSession, member: uuid.UUID) -> None:
                me = str(member)
                async with session.get(f"{gw}/v1/streams/me", headers=issuer.headers(member, ttl=3600),
                                       timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as resp:
                    assert resp.status == 200, await resp.text()
                    async for raw in resp.content:
                        if raw.startswith(b"event: ready"):
                            n_ready[0] += 1
                            if n_ready[0] == len(subscribed):
                                ready.set()
                        elif raw.startswith(b"data: ") and b'"message.sent"' in raw:
                            t = time.perf_counter()
                            arrived[(orjson.loads(raw[6:])["data"]["message_id"], me)] = t

            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                listeners = [asyncio.create_task(listen(session, m)) for m in subscribed]
                await asyncio.wait_for(ready.wait(), 120)
                headers = {m: issuer.headers(m, ttl=3600) for m, *_ in items}
                sent: list[tuple[str, float, float, list[uuid.UUID]]] = []  # message id, start, 2xx, listening recipients

                async def post(item: tuple[uuid.UUID, uuid.UUID, str, list[uuid.UUID]], base: str = gw) -> None:
                    t = time.perf_counter()
                    async with session.post(f"{base}/v1/conversations/{item[1]}/messages", json={"body": item[2]},
                                            headers=headers[item[0]]) as r:
                        body = await r.read()
                        if r.status != 201:
                            raise RuntimeError(body.decode())
                    sent.append((orjson.loads(body)["message_id"], t, time.perf_counter(), item[3]))

                ms, secs = await run_concurrently(items, a.concurrency, post)
                print(f"running system: {len(subscribed)} members on their `me` SSE stream through one gateway process, "
                      f"{len(items)} sends at concurrency {a.concurrency}")
                report("send via gateway (2xx)", ms, secs)
                expected = [(mid, str(m), t0, t1) for mid, t0, t1, who in sent for m in who]
                await wait_for_all(arrived, [(mid, m) for mid, m, _, _ in expected])
                delivered = [(arrived[(mid, m)], t0, t1) for mid, m, t0, t1 in expected if (mid, m) in arrived]
                report_delivery("2xx → stream", [(d - t1) * 1000 for d, _, t1 in delivered], len(expected))
                report_delivery("send start → stream", [(d - t0) * 1000 for d, t0, _ in delivered], len(expected))

                # The same sends straight to the connections process (no gateway hop): where the send time goes.
                sent.clear()
                ms, secs = await run_concurrently(items, a.concurrency, lambda item: post(item, procs[0].url))
                report("send to service (2xx)", ms, secs)
                expected = [(mid, str(m), t0, t1) for mid, t0, t1, who in sent for m in who]
                await wait_for_all(arrived, [(mid, m) for mid, m, _, _ in expected])
                report_delivery("2xx → stream", [(arrived[(mid, m)] - t1) * 1000 for mid, m, _, t1 in expected if (mid, m) in arrived],
                                len(expected))

                # Baseline of the delivery half: the same events published straight to Kafka.
                topic = CONVERSATIONS.qualified(prefix)
                published: list[tuple[str, float, list[uuid.UUID]]] = []

                async def publish(item: tuple[uuid.UUID, uuid.UUID, str, list[uuid.UUID]]) -> None:
                    mid = str(uuid.uuid4())
                    recipients = [str(m) for m in item[3]]
                    event = CloudEvent(id=str(uuid.uuid4()), source="agora/bench", type="message.sent", time=datetime.now(UTC), subject=mid,
                                       data={"message_id": mid, "conversation_id": str(item[1]), "sender_id": str(item[0]),
                                             "recipient_ids": recipients, "muted_ids": [], "sent_at": datetime.now(UTC).isoformat(),
                                             "linked_post_ids": []})
                    await producer.send_and_wait(topic, value=event.value(), key=str(item[1]).encode(), headers=event.headers())
                    published.append((mid, time.perf_counter(), item[3]))

                ms, secs = await run_concurrently(items, a.concurrency, publish)
                report("bare publish (ack)", ms, secs)
                expected_b = [(mid, str(m), t1) for mid, t1, who in published for m in who]
                await wait_for_all(arrived, [(mid, m) for mid, m, _ in expected_b])
                report_delivery("ack → stream", [(arrived[(mid, m)] - t1) * 1000 for mid, m, t1 in expected_b if (mid, m) in arrived],
                                len(expected_b))

                async def bare(item: tuple[uuid.UUID, uuid.UUID, str, list[uuid.UUID]]) -> None:
                    async with pool.acquire() as conn, conn.transaction():
                        await conn.execute(
                            f"INSERT INTO {SCHEMA}.messages (message_id, conversation_id, seq, sender_id, body, sent_at) "
                            "VALUES ($1, $2, $3, $4, $5, now())", uuid.uuid4(), item[1], next(base_seq), item[0], item[2])

                ms, secs = await run_concurrently(items, a.concurrency, bare)
                report("bare insert (same rows)", ms, secs)
                for t in listeners:
                    t.cancel()
                await asyncio.gather(*listeners, return_exceptions=True)
        finally:
            await producer.stop()
            for proc in reversed(procs):
                proc.stop()
            await delete_topics(bootstrap, prefix)


async def wait_for_all(arrived: dict[tuple[str, str], float], keys: list[tuple[str, str]], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while any(k not in arrived for k in keys) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


def report_delivery(name: str, ms: list[float], expected: int) -> None:
    if not ms:
        print(f"  {name:<26} nothing delivered of {expected}")
        return
    print(f"  {name:<26} n={len(ms):>5} of {expected}   p50 {statistics.median(ms):7.2f} ms   p99 {pct(ms, 0.99):7.2f} ms   "
          f"max {max(ms):7.2f} ms   min {min(ms):7.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
