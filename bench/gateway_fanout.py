"""The gateway's fan-out client against its two baselines, on the same local upstream, in one run.

    uv run python -m bench.gateway_fanout [--seconds 5] [--concurrency 64] [--fanout 3] [--rounds 3]

Clients, each issuing `fanout` concurrent GETs per operation (as a view would) from `concurrency` tasks:
  gateway        gateway.upstreams.Upstream.request — what the proxy calls: httpx Request/Response straight on
                 gateway.transport.LeanAiohttpTransport, with the deadline, retry policy and circuit breaker
  httpx-aiohttp  httpx.AsyncClient on the httpx-aiohttp package's AiohttpTransport
  httpx          httpx.AsyncClient with its default transport (httpcore)
  aiohttp     a plain aiohttp.ClientSession
The upstream is a raw ASGI small-JSON app on uvicorn (uvloop + httptools) in its own process. Rounds
alternate the clients so machine noise hits all of them alike; the median round is printed.
Goal (issue 7): gateway ≥ 90% of aiohttp's operations/s and ≥ 8× httpx-default.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

BODY = b'{"id":"7d8f2a5e-5b1c-4e0a-9d55-6b8e1d2f3a4b","ups":12,"downs":3,"score":9}'


async def upstream_app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": BODY})


def serve_upstream(port: int) -> None:
    import uvicorn

    uvicorn.run(upstream_app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning", access_log=False)


Get = Callable[[str], Awaitable[None]]


async def drive(get: Get, seconds: float, concurrency: int, fanout: int) -> tuple[float, float, float]:
    latencies: list[float] = []
    stop = time.perf_counter() + seconds
    paths = [f"/v1/tallies/{i}" for i in range(fanout)]

    async def worker() -> None:
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            await asyncio.gather(*(get(p) for p in paths))
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return len(latencies) / elapsed, latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99)] * 1000


async def run_round(base: str, name: str, seconds: float, concurrency: int, fanout: int) -> tuple[float, float, float]:
    if name == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(base_url=base, connector=connector) as session:
            async def get(path: str) -> None:
                async with session.get(path) as r:
                    await r.read()
                    assert r.status == 200

            await drive(get, 0.5, concurrency, fanout)  # warm the pool
            return await drive(get, seconds, concurrency, fanout)

    if name == "gateway":
        from gateway.config import Settings
        from gateway.upstreams import make_upstreams

        settings = Settings(kafka_bootstrap_servers="127.0.0.1:9", upstream_max_connections=200, voting_url=base)
        upstream = make_upstreams(settings)["voting"]
        headers = {"accept": "application/json", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}

        async def uget(path: str) -> None:
            r = await upstream.request("GET", path, headers=headers)
            assert r.status_code == 200

        try:
            await drive(uget, 0.5, concurrency, fanout)
            return await drive(uget, seconds, concurrency, fanout)
        finally:
            await upstream.aclose()
    if name == "httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport

        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        client = httpx.AsyncClient(base_url=base, limits=limits, timeout=30, transport=AiohttpTransport(limits=limits))
    else:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        client = httpx.AsyncClient(base_url=base, limits=limits, timeout=30)
    async with client:
        async def hget(path: str) -> None:
            r = await client.get(path)
            assert r.status_code == 200

        await drive(hget, 0.5, concurrency, fanout)
        return await drive(hget, seconds, concurrency, fanout)


async def main(args: argparse.Namespace) -> None:
    from tests.support.processes import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", f"from bench.gateway_fanout import serve_upstream; serve_upstream({port})"])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        names = ["gateway", "httpx-aiohttp", "httpx", "aiohttp"]
        results: dict[str, list[tuple[float, float, float]]] = {n: [] for n in names}
        for r in range(args.rounds):
            for name in names:
                results[name].append(await run_round(base, name, args.seconds, args.concurrency, args.fanout))
                print(f"round {r + 1} {name:14s} {results[name][-1][0]:8.0f} ops/s", file=sys.stderr)
        print(f"\n{args.fanout}-way fan-out, {args.concurrency} concurrent operations, {args.seconds:.0f} s x {args.rounds} rounds (median round)")
        print(f"{'client':14s} {'ops/s':>8s} {'GETs/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s}")
        median = {}
        for name in names:
            ops, p50, p99 = sorted(results[name])[len(results[name]) // 2]
            median[name] = ops
            print(f"{name:14s} {ops:8.0f} {ops * args.fanout:8.0f} {p50:8.1f} {p99:8.1f}")
        print(f"\ngateway / aiohttp = {median['gateway'] / median['aiohttp']:.0%} (goal >= 90%)")
        print(f"gateway / httpx-default = {median['gateway'] / median['httpx']:.1f}x (goal >= 8x)")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--fanout", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(p.parse_args()))
