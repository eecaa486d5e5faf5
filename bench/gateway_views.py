"""What the gateway costs on a read, and what the home-feed view does at a fixed offered rate, on the real
processes, in one run.

    uv run python -m bench.gateway_views [--seconds 10] [--concurrency 32] [--rate 300,0] [--posts 10]

Starts its own system (tests/support/processes.py): the four services, their relays and consumers, and a
gateway (rate limits and streams off), on its own database (agora_bench_views_<hex>) and topic prefix,
both removed at the end. Seeds one author with `--posts` posts under one topic, tallied, and a reader who
voted on half of them.

  (a) a simple read, GET /v1/posts/{id}: straight from content (the baseline) and through the gateway,
      closed loop, first one request at a time (added latency), then `--concurrency` at once (throughput
      ratio and latency under load). Rounds alternate baseline and gateway; the median round is printed.
  (b) GET /v1/views/home (signed-in reader, feed=topic, limit=`--posts`: 1 content call, then one batch
      read each of tallies, votes, connections' votes and author cards = 5 upstream calls): first closed
      loop, one view at a time (a lone view's latency) and 8 at a time (capacity); then at each fixed offered rate (the goal,
      300/s, and 70% of the capacity just measured) with an open-loop generator: request i is sent at
      start + i/rate whether or not earlier ones have answered, and its latency counts from that scheduled
      instant (no coordinated omission).
Prints figures only; the load generator runs on the same cores as the system.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.catalog import TOPICS  # noqa: E402
from services.kit.topics import ensure_topics  # noqa: E402
from tests.support import infra, processes  # noqa: E402
from tests.support.tokens import TestIssuer  # noqa: E402

SERVICES = ["profiles", "connections", "content", "voting"]
# What the seed needs: relays, voting learning of posts, the tally consumer, content's copy of tallies.
WORKERS = [("relay", s) for s in SERVICES] + [("consume", "voting", "events"), ("consume", "voting", "tally"), ("consume", "content", "events")]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] * 1000 if values else float("nan")


async def closed_loop(session: aiohttp.ClientSession, url: str, headers: dict[str, str], seconds: float, concurrency: int) -> tuple[float, float, float]:
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            async with session.get(url, headers=headers) as r:
                await r.read()
                assert r.status == 200, r.status
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies) / (time.perf_counter() - started), pct(latencies, 0.5), pct(latencies, 0.99)


async def open_loop(session: aiohttp.ClientSession, url: str, headers: dict[str, str], rate: float, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    ok_latencies: list[float] = []
    statuses: dict[int | str, int] = {}
    warned = 0
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    total = int(rate * seconds)

    async def one(scheduled: float) -> None:
        nonlocal warned
        try:
            async with session.get(url, headers=headers) as r:
                body = await r.json()
                statuses[r.status] = statuses.get(r.status, 0) + 1
                warned += bool(r.status == 200 and body["warnings"])
                if r.status == 200:
                    ok_latencies.append(loop.time() - scheduled)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
        latencies.append(loop.time() - scheduled)

    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    sent_in = loop.time() - start
    await asyncio.gather(*tasks)
    done_in = loop.time() - start
    return {"sent": total, "sent_in": sent_in, "done_in": done_in, "statuses": statuses, "warned": warned,
            "p50": pct(latencies, 0.5), "p99": pct(latencies, 0.99), "max": max(latencies) * 1000,
            "ok_p50": pct(ok_latencies, 0.5), "ok_p99": pct(ok_latencies, 0.99)}


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("the system did not settle")
        await asyncio.sleep(0.2)


async def seed(gateway: str, issuer: TestIssuer, posts: int) -> tuple[str, str, dict[str, str]]:
    topic = f"bench-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        handle = f"author_{uuid.uuid4().hex[:8]}"
        r = await client.post("/v1/accounts", json={"email": f"{handle}@example.org", "handle": handle, "password": "correct horse battery"})
        assert r.status_code == 201, r.text
        author = issuer.headers(uuid.UUID(r.json()["id"]))
        ids = []
        for i in range(posts):
            r = await client.post("/v1/posts", json={"kind": "question", "title": f"Post {i}", "topics": [topic]}, headers=author)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        reader = issuer.headers(uuid.uuid4())

        async def votable() -> bool:
            answers = await asyncio.gather(*(client.get(f"/v1/tallies/{p}") for p in ids))
            return all(a.status_code == 200 for a in answers)

        await wait_until(votable)
        for p in ids[::2]:
            r = await client.post("/v1/votes", json={"target_id": p, "value": 1}, headers=reader)
            assert r.status_code == 202, r.text

        async def tallied() -> bool:
            return (await client.get(f"/v1/tallies/{ids[0]}")).json()["ups"] == 1

        await wait_until(tallied)
    return topic, ids[0], reader


async def main(args: argparse.Namespace) -> None:
    run_id = infra.new_run_id()
    admin = infra.base_database_url()
    database = f"agora_bench_views_{run_id}"
    prefix = f"bv{run_id}."
    await infra.create_database(admin, database)
    procs: list[processes.Proc] = []
    try:
        url = infra._with_db(admin, database)
        await asyncio.to_thread(infra.migrate_all, url)
        await ensure_topics(infra.bootstrap_servers(), TOPICS, prefix)
        issuer = TestIssuer(Path(tempfile.mkdtemp()) / "jwks.json")
        env = {"DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap_servers(), "AGORA_TOPIC_PREFIX": prefix,
               "AGORA_JWKS_URL": issuer.jwks_url, "AGORA_LOG_LEVEL": "WARNING", "PROFILES_ARGON2_TIME_COST": "1",
               "PROFILES_ARGON2_MEMORY_KIB": "8192", "PROFILES_ARGON2_PARALLELISM": "1"}
        services = {s: processes.start(f"bench-{s}", ["services.cli", "serve", s], env) for s in SERVICES}
        procs += services.values()
        procs += [processes.start("bench-" + "-".join(w[1:]), ["services.cli", *w], env) for w in WORKERS]
        gw_env = dict(env, GATEWAY_RATE_LIMITS_ENABLED="false", GATEWAY_STREAMS_ENABLED="false",
                      **{f"GATEWAY_{s.upper()}_URL": p.url for s, p in services.items()})
        gateway = processes.start("bench-gateway", ["services.cli", "serve", "gateway"], gw_env)
        procs.append(gateway)
        for p in procs:
            await asyncio.to_thread(p.wait_ready, 120)
        topic, post, reader = await seed(gateway.url, issuer, args.posts)
        print(f"system up: {len(procs)} processes, seeded {args.posts} posts; machine: {os.cpu_count()} cores, shared", file=sys.stderr)

        connector = aiohttp.TCPConnector(limit=1000)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
            read = {"content (baseline)": f"{services['content'].url}/v1/posts/{post}", "gateway": f"{gateway.url}/v1/posts/{post}"}
            results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
            for name, u in read.items():  # warm both paths
                await closed_loop(session, u, {}, 1.0, args.concurrency)
            for rnd in range(args.rounds):
                for concurrency in (1, args.concurrency):
                    for name, u in read.items():
                        results.setdefault((name, concurrency), []).append(await closed_loop(session, u, {}, args.seconds / 2, concurrency))
                print(f"round {rnd + 1} done", file=sys.stderr)
            median = {k: sorted(v)[len(v) // 2] for k, v in results.items()}

            print(f"\n(a) GET /v1/posts/{{id}}, closed loop, {args.seconds / 2:.0f} s x {args.rounds} rounds (median round)")
            print(f"{'path':20s} {'conc':>5s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s}")
            for (name, concurrency), (rps, p50, p99) in sorted(median.items(), key=lambda kv: (kv[0][1], kv[0][0])):
                print(f"{name:20s} {concurrency:5d} {rps:8.0f} {p50:8.2f} {p99:8.2f}")
            for concurrency in (1, args.concurrency):
                base, gw = median[("content (baseline)", concurrency)], median[("gateway", concurrency)]
                print(f"concurrency {concurrency:3d}: gateway/direct throughput = {gw[0] / base[0]:.0%}; "
                      f"added p50 {gw[1] - base[1]:+.2f} ms, added p99 {gw[2] - base[2]:+.2f} ms")

            home = f"{gateway.url}/v1/views/home?feed=topic&topic={topic}&sort=new&limit={args.posts}"
            async with session.get(home, headers=reader) as r:
                sample = await r.json()
                assert r.status == 200 and len(sample["items"]) == args.posts and not sample["warnings"], sample
            calls = 5  # the feed page, then at once: tallies, my votes, connections' votes (voting), author cards (profiles)
            print(f"\n(b) GET /v1/views/home (signed in, {args.posts} posts: {calls} upstream calls per view)")
            author = sample["items"][0]["post"]["author_id"]
            ids = "&".join(f"target_id={i['post']['id']}" for i in sample["items"])
            parts = {"content feed page": (f"{services['content'].url}/v1/topics/{topic}/posts?sort=new&limit={args.posts}", {}, 1),
                     "profiles cards (batch)": (f"{services['profiles'].url}/v1/profiles?member_id={author}", reader, 1),
                     "voting tallies (batch)": (f"{services['voting'].url}/v1/tallies?{ids}", {}, 1),
                     "voting my votes (batch)": (f"{services['voting'].url}/v1/votes/mine/batch?{ids}", reader, 1),
                     "voting network (batch)": (f"{services['voting'].url}/v1/tallies/network?{ids}", reader, 1)}
            for name, (u, h, conc) in parts.items():
                rps, p50, p99 = await closed_loop(session, u, h, 2, conc)
                print(f"direct, the view's parts: {name:24s} p50 {p50:6.1f} ms, p99 {p99:6.1f} ms ({rps:.0f}/s)")
            capacity = 0.0
            for concurrency in (1, 8):
                await asyncio.sleep(2)
                rps, p50, p99 = await closed_loop(session, home, reader, args.seconds / 2, concurrency)
                capacity = max(capacity, rps)
                print(f"closed loop, {concurrency} at a time: {rps:.0f} views/s ({rps * calls:.0f} upstream calls/s), p50 {p50:.0f} ms, p99 {p99:.0f} ms")
            for rate in args.rate:
                rate = rate or round(capacity * 0.7, 1)  # 0: 70% of the closed-loop capacity just measured
                await asyncio.sleep(5)  # let the previous load drain and open circuits close
                res = await open_loop(session, home, reader, rate, args.seconds)
                print(f"open loop at {rate:.0f} views/s for {args.seconds:.0f} s:")
                ok = res["statuses"].get(200, 0)
                print(f"sent {res['sent']} in {res['sent_in']:.1f} s, all answered in {res['done_in']:.1f} s; "
                      f"200s: {ok} ({ok / res['done_in']:.0f}/s)")
                print(f"statuses {res['statuses']}; 200s with warnings (degraded): {res['warned']}")
                print(f"latency from the scheduled send, all answers: p50 {res['p50']:.0f} ms, p99 {res['p99']:.0f} ms, max {res['max']:.0f} ms; "
                      f"200s only: p50 {res['ok_p50']:.0f} ms, p99 {res['ok_p99']:.0f} ms")
    finally:
        for p in procs:
            p.stop()
        await infra.drop_database(admin, database)
        await infra.delete_topics(infra.bootstrap_servers(), prefix)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--rate", type=lambda v: [float(r) for r in v.split(",")], default=[300.0, 0.0],
                   help="offered rates in views/s, comma-separated; 0 = 70%% of the measured closed-loop capacity (default 300,0)")
    p.add_argument("--posts", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(p.parse_args()))
