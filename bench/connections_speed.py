"""Latency of degrees, mutual connections and suggestions on the real ego-Facebook graph.

    uv run python bench/connections_speed.py [--samples 1000] [--seed 1]

Loads ego-Facebook (4,039 members, 88,234 connections) into a scratch database with the importer, then
times, for random members / random pairs (the same sample for every variant):
  degree        service.degrees(): 1st/2nd/3rd/beyond + mutuals + one shortest path (what GET /v1/degrees runs)
  mutuals       the two neighbour lists and their intersection (the mutual-connections part alone)
  suggestions   the Adamic–Adar friends-of-friends query, top 10 (what GET /v1/suggestions runs)
  hubs          suggestions for the 9 ego-network centres (degrees 347–1,045), the worst case
  http          GET /v1/degrees and GET /v1/suggestions through the in-process app (auth, FastAPI, pydantic)
and, as the baseline of the hot-path choice, the neighbour-list query through SQLAlchemy Core next to
the same query on the raw asyncpg connection. Each sample runs in its own transaction, as a request does.
Prints p50/p99/max in ms. No assertions: figures only. Goals (issue 4): p99 < 20 ms for degree and
mutuals, < 100 ms for suggestions.
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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from bench.connections_scratch import scratch_database  # noqa: E402
from services.connections import service  # noqa: E402
from services.connections.config import SCHEMA, Settings  # noqa: E402
from services.connections.importer import DATASETS, DEFAULT_DATA_DIR, import_graph, member_id, read_edges  # noqa: E402
from services.connections.repository import Graph  # noqa: E402
from services.kit.db import make_engine, make_sessions  # noqa: E402

HUBS = [0, 107, 348, 414, 686, 698, 1684, 1912, 3437]


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def report(name: str, ms: list[float]) -> None:
    print(f"  {name:<34} n={len(ms):>5}  p50 {statistics.median(ms):7.2f} ms   p99 {pct(ms, 0.99):7.2f} ms   max {max(ms):7.2f} ms")


async def timed(n: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        await call(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    nodes = sorted({n for e in read_edges(DEFAULT_DATA_DIR / DATASETS["ego-facebook"]) for n in e})
    rng = random.Random(a.seed)
    pairs = [tuple(rng.sample(nodes, 2)) for _ in range(a.samples)]
    singles = [rng.choice(nodes) for _ in range(a.samples)]
    ids = {n: member_id("ego-facebook", n) for n in nodes}

    async with scratch_database("speed") as url:
        imported = await import_graph(url, "ego-facebook")
        print(f"ego-Facebook: {imported.members} members, {imported.edges} connections imported in {imported.seconds:.1f}s")
        settings = Settings(database_url=url, kafka_bootstrap_servers="127.0.0.1:1", db_pool_size=2)
        engine = make_engine(settings, SCHEMA, pool_size=2)
        sessions = make_sessions(engine)
        degrees_seen: dict[Any, int] = {}

        async def degree(i: int) -> None:
            u, v = pairs[i]
            async with sessions() as s, s.begin():
                d = await service.degrees(s, ids[u], ids[v])
            degrees_seen[d.separation.degree] = degrees_seen.get(d.separation.degree, 0) + 1

        async def mutuals(i: int) -> None:
            u, v = pairs[i]
            async with sessions() as s, s.begin():
                na, nb = await Graph(s).neighbour_sets(ids[u], ids[v])
                _ = na & nb

        async def mutuals_core(i: int) -> None:
            u, v = pairs[i]
            async with sessions() as s, s.begin():
                rows = await s.execute(text(f"SELECT member_id, other_id FROM {SCHEMA}.edges WHERE member_id = ANY(:ids)"), {"ids": [ids[u], ids[v]]})
                na = {o for m, o in rows if m == ids[u]}
                _ = na

        async def suggest(i: int) -> None:
            async with sessions() as s, s.begin():
                await service.suggestions(s, ids[singles[i]], 10)

        async def suggest_hub(i: int) -> None:
            async with sessions() as s, s.begin():
                await service.suggestions(s, ids[HUBS[i % len(HUBS)]], 10)

        for warm in (degree, suggest):  # prepared statements, caches
            await timed(20, warm)
        print(f"service calls on one connection pool (samples: {a.samples}; seed {a.seed})")
        report("degree (+ mutuals + path)", await timed(a.samples, degree))
        print(f"    degrees in the sample: {dict(sorted(degrees_seen.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)))}")
        report("mutuals, raw asyncpg", await timed(a.samples, mutuals))
        report("mutuals, SQLAlchemy Core (baseline)", await timed(a.samples, mutuals_core))
        report("suggestions (top 10)", await timed(a.samples, suggest))
        report("suggestions, the 9 hubs x 5", await timed(len(HUBS) * 5, suggest_hub))
        await engine.dispose()

        # Through the app: token verification, routing, validation, serialisation.
        from tests.conftest import AppClient
        from tests.support.tokens import TestIssuer

        from services.connections.main import create_app

        with tempfile.TemporaryDirectory() as tmp:
            issuer = TestIssuer(Path(tmp) / "jwks.json")
            app = create_app(Settings(database_url=url, kafka_bootstrap_servers="127.0.0.1:1", jwks_url=issuer.jwks_url, db_pool_size=2))
            headers = {n: issuer.headers(ids[n]) for n in set(singles) | {u for u, _ in pairs}}
            async with AppClient(app) as http:
                logging.getLogger("httpx").setLevel(logging.WARNING)  # the app's lifespan set INFO JSON logs
                async def http_degree(i: int) -> None:
                    u, v = pairs[i]
                    r = await http.get(f"/v1/degrees/{ids[v]}", headers=headers[u])
                    assert r.status_code == 200, r.text

                async def http_suggest(i: int) -> None:
                    r = await http.get("/v1/suggestions", headers=headers[singles[i]])
                    assert r.status_code == 200, r.text

                await timed(20, http_degree)
                print("HTTP through the in-process app (httpx ASGI transport)")
                report("GET /v1/degrees/{id}", await timed(a.samples, http_degree))
                report("GET /v1/suggestions", await timed(a.samples, http_suggest))


if __name__ == "__main__":
    asyncio.run(main())
