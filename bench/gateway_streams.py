"""Live streams under load: N concurrent SSE subscribers on one gateway process while events are published
to Kafka at a fixed rate; delivery latency p50/p99 (publish → client) and loss, in one run.

    uv run python -m bench.gateway_streams [--subscribers 200] [--rate 200] [--seconds 10] [--distinct]

Without --distinct every subscriber is on one channel and gets every event (deliveries = rate × subscribers);
with it each subscriber has its own channel and events are spread over them (deliveries = rate), which is
how `me` and `post:{id}` streams look in production.

Issue 7's target is 1,000 subscribers at 1,000 events/s with p99 < 500 ms and zero loss; the defaults are
smaller because the subscribers' own parsing runs on the same two cores as the gateway. Needs Kafka
(KAFKA_BOOTSTRAP_SERVERS); uses its own topic prefix and deletes its topics afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import aiohttp
import orjson
import psutil
from aiokafka import AIOKafkaProducer

from services.catalog import TOPICS
from services.kit.events import CloudEvent
from services.kit.topics import ensure_topics
from tests.support.infra import delete_topics
from tests.support.processes import free_port


async def subscriber(session: aiohttp.ClientSession, url: str, latencies: list[float], counts: list[int], i: int, ready: asyncio.Event, n: int) -> None:
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=None, sock_read=60)) as resp:
        assert resp.status == 200, await resp.text()
        async for raw in resp.content:
            line = raw.rstrip(b"\n")
            if line.startswith(b"event: ready"):
                counts[i] = 0
                if sum(1 for c in counts if c >= 0) == n:
                    ready.set()
            elif line.startswith(b"data: ") and counts[i] >= 0:
                body = orjson.loads(line[6:])
                if body.get("type") == "post.created":
                    latencies.append(time.time() - body["data"]["sent_at"])
                    counts[i] += 1


async def main(args: argparse.Namespace) -> None:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:59092")
    prefix = f"bench{secrets.token_hex(3)}."
    await ensure_topics(bootstrap, TOPICS, prefix)
    port = free_port()
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=bootstrap, AGORA_TOPIC_PREFIX=prefix, GATEWAY_HTTP_PORT=str(port), AGORA_LOG_LEVEL="WARNING")
    gateway = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "gateway"], env=env)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2)
    await producer.start()
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            for _ in range(300):
                try:
                    async with session.get(base + "/readyz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            latencies: list[float] = []
            counts = [-1] * args.subscribers
            ready = asyncio.Event()
            def url(i: int) -> str:
                return f"{base}/v1/streams/topic:" + (f"b{i}" if args.distinct else "bench")

            tasks = [asyncio.create_task(subscriber(session, url(i), latencies, counts, i, ready, args.subscribers)) for i in range(args.subscribers)]
            await asyncio.wait_for(ready.wait(), 120)
            total = int(args.rate * args.seconds)
            cpu = psutil.Process(gateway.pid)
            cpu_before = sum(cpu.cpu_times()[:2])
            started = time.perf_counter()
            topic = prefix + "agora.content"
            for k in range(total):
                post_id = str(uuid.uuid4())
                event = CloudEvent(id=str(uuid.uuid4()), source="agora/bench", type="post.created", time=datetime.now(UTC),
                                   data={"post_id": post_id, "topics": [f"b{k % args.subscribers}" if args.distinct else "bench"], "sent_at": time.time()}, subject=post_id)
                await producer.send(topic, value=event.value(), key=post_id.encode(), headers=event.headers())
                lag = started + (k + 1) / args.rate - time.perf_counter()
                if lag > 0:
                    await asyncio.sleep(lag)
            await producer.flush()
            deadline = time.monotonic() + 30
            each = total // args.subscribers if args.distinct else total
            while min(counts) < each and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            busy = time.perf_counter() - started
            gateway_cpu = sum(cpu.cpu_times()[:2]) - cpu_before
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        latencies.sort()
        delivered = sum(counts)
        expected = total if args.distinct else total * args.subscribers
        shape = "each on its own channel" if args.distinct else "all on one channel"
        print(f"{args.subscribers} SSE subscribers ({shape}) on one gateway process, {args.rate:.0f} events/s for {args.seconds:.0f} s ({total} events)")
        print(f"delivered {delivered} of {expected} ({expected - delivered} not delivered within 30 s: slow subscribers are cut off by design)")
        print(f"gateway process CPU {gateway_cpu:.1f} s over {busy:.1f} s ({gateway_cpu / busy:.0%} of one core), "
              f"{gateway_cpu / max(1, delivered) * 1e6:.0f} µs per delivered event")
        if latencies:
            print(f"publish → client latency p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
                  f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    finally:
        await producer.stop()
        gateway.terminate()
        gateway.wait(20)
        await delete_topics(bootstrap, prefix)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subscribers", type=int, default=200)
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--distinct", action="store_true", help="each subscriber on its own channel (topic:b<i>); events spread over them")
    asyncio.run(main(p.parse_args()))
