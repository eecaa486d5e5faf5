"""Profile reads and member search on 100,000 generated members, next to a bare FastAPI endpoint.

    uv run python bench/profiles_read.py [--members 100000] [--requests 2000] [--concurrency 4] [--keep]

Creates a scratch database (agora_bench_profiles_<hex>) with profiles' migrations and generates, server-side
(INSERT ... SELECT generate_series, so the search trigger builds every document as in production):
  members      --members accounts + profiles: names from 60 x 60 first/last names, a headline (role at
               company), 3 skills of 40, 2 topics of 30; 10 % keep their headline for connections, 5 %
               their name private
  reader       one member connected to 200 others (the read model profiles keeps from connection events)
then, through the in-process app (ASGI: routing, auth, session, SQL, pydantic, JSON — no socket), with
--concurrency requests in flight, times:
  baseline     GET /ping on a bare FastAPI app returning a small JSON object (same transport, same loop)
  read/anon    GET /v1/profiles/{random member}, anonymous
  read/member  the same with the reader's access token (token verified, connection looked up)
  search/name  GET /v1/members/search?q=<first last>   (full text)
  search/part  ...?q=<5-letter prefix of a last name>   (trigram word similarity)
  search/skill ...?q=<skill> as the signed-in reader   (their connections' connections-only fields too)
Prints requests/s and p50/p99/max latency in ms. No assertions: figures only. Login is not timed (argon2
is slow on purpose).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.profiles import keys  # noqa: E402
from services.profiles.config import Settings  # noqa: E402
from services.profiles.main import create_app  # noqa: E402

FIRST = ["ada", "grace", "alan", "barbara", "donald", "edsger", "frances", "guido", "hedy", "ivan", "john", "katherine", "linus",
         "margaret", "niklaus", "olga", "peter", "radia", "sophie", "tim", "ursula", "vint", "whitfield", "xiaoyu", "yukihiro",
         "zhang", "adele", "bjarne", "claude", "dennis", "elena", "fernando", "gerald", "hal", "ingrid", "jean", "ken", "leslie",
         "marvin", "noam", "ole", "pat", "quentin", "rob", "shafi", "tony", "ulf", "valerie", "wendy", "yann", "zoe", "amir",
         "bea", "carl", "dora", "emil", "fatima", "gita", "hugo", "isla"]
LAST = ["lovelace", "hopper", "turing", "liskov", "knuth", "dijkstra", "allen", "rossum", "lamarr", "sutherland", "mccarthy",
        "johnson", "torvalds", "hamilton", "wirth", "taussky", "naur", "perlman", "wilson", "bernerslee", "franklin", "cerf",
        "diffie", "wang", "matsumoto", "wei", "goldberg", "stroustrup", "shannon", "ritchie", "ostrom", "corbato", "sussman",
        "abelson", "karlsson", "sammet", "thompson", "lamport", "minsky", "chomsky", "dahl", "hanrahan", "tarantino", "pike",
        "goldwasser", "hoare", "ekman", "aurora", "hall", "lecun", "clarke", "nazari", "moreau", "lindqvist", "okafor", "patel",
        "novak", "garcia", "kowalski", "tanaka"]
ROLES = ["Engineer", "Designer", "Researcher", "Product manager", "Data scientist", "Founder", "Teacher", "Writer", "Architect", "Analyst"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne", "Aperture", "Soylent"]
SKILLS = ["python", "rust", "go", "sql", "kubernetes", "react", "typescript", "java", "kotlin", "swift", "c", "haskell", "ocaml", "elixir",
          "terraform", "aws", "gcp", "azure", "pytorch", "tensorflow", "pandas", "spark", "kafka", "postgres", "redis", "graphql",
          "figma", "ux", "writing", "teaching", "statistics", "economics", "marketing", "sales", "leadership", "security",
          "networking", "linux", "compilers", "robotics"]
TOPICS = ["machine-learning", "open-source", "climate", "startups", "design", "education", "health", "fintech", "privacy", "gaming",
          "music", "space", "biology", "history", "philosophy", "cities", "energy", "farming", "chess", "cycling", "photography",
          "cooking", "travel", "languages", "mathematics", "physics", "poetry", "film", "architecture", "volunteering"]
READER = uuid.UUID("ffffffff-ffff-4fff-8fff-ffffffffffff")


def member(k: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-8000-{k:012x}")


def sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def member_sql(expr: str) -> str:
    return f"('00000000-0000-4000-8000-' || lpad(to_hex({expr}), 12, '0'))::uuid"


async def load(url: str, n: int) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        first, last = sql_array(FIRST), sql_array(LAST)
        await conn.execute(f"""
            INSERT INTO profiles.accounts (id, email, handle, password_hash, created_at, email_verified_at, trust_level, karma)
            SELECT {member_sql('i')}, 'm' || i || '@bench.example', ({first})[1 + i % 60] || '_' || i, 'not-a-hash',
                   now() - (i % 700) * interval '1 day', CASE WHEN i % 3 = 0 THEN now() END, 'new', (i * 7919) % 300
            FROM generate_series(1, {n}) AS i""")
        await conn.execute(f"""
            INSERT INTO profiles.profiles (member_id, handle, display_name, headline, bio, location, company, skills, topics, visibility)
            SELECT {member_sql('i')}, ({first})[1 + i % 60] || '_' || i,
                   initcap(({first})[1 + i % 60]) || ' ' || initcap(({last})[1 + (i / 60) % 60]),
                   ({sql_array(ROLES)})[1 + i % 10] || ' at ' || ({sql_array(COMPANIES)})[1 + (i / 7) % 12],
                   'Working on ' || ({sql_array(TOPICS)})[1 + (i / 3) % 30] || ' and ' || ({sql_array(SKILLS)})[1 + (i / 11) % 40],
                   'City ' || (i % 500), ({sql_array(COMPANIES)})[1 + (i / 7) % 12],
                   ARRAY[({sql_array(SKILLS)})[1 + i % 40], ({sql_array(SKILLS)})[1 + (i / 40) % 40], ({sql_array(SKILLS)})[1 + (i / 13) % 40]],
                   ARRAY[({sql_array(TOPICS)})[1 + i % 30], ({sql_array(TOPICS)})[1 + (i / 30) % 30]],
                   CASE WHEN i % 10 = 1 THEN '{{"headline": "connections"}}'::jsonb
                        WHEN i % 20 = 2 THEN '{{"display_name": "private"}}'::jsonb ELSE '{{}}'::jsonb END
            FROM generate_series(1, {n}) AS i""")
        await conn.execute("INSERT INTO profiles.accounts (id, email, handle, password_hash) VALUES ($1, 'reader@bench.example', 'bench_reader', 'x')", READER)
        await conn.execute("INSERT INTO profiles.profiles (member_id, handle) VALUES ($1, 'bench_reader')", READER)
        await conn.execute(f"""
            INSERT INTO profiles.connections (low_id, high_id, connected, changed_at)
            SELECT LEAST($1::uuid, {member_sql('i * 97')}), GREATEST($1::uuid, {member_sql('i * 97')}), true, now()
            FROM generate_series(1, 200) AS i""", READER)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def measure(client: httpx.AsyncClient, make: Callable[[random.Random], tuple[str, dict[str, Any], dict[str, str]]], total: int, concurrency: int) -> dict[str, float]:
    rng = random.Random(7)
    latencies: list[float] = []
    errors = 0
    queue = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for _ in queue:
            path, params, headers = make(rng)
            t0 = time.perf_counter()
            resp = await client.get(path, params=params, headers=headers)
            latencies.append((time.perf_counter() - t0) * 1000)
            if resp.status_code != 200:
                errors += 1

    for _ in range(min(50, total)):  # warm-up: connections, caches, plans
        path, params, headers = make(rng)
        await client.get(path, params=params, headers=headers)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    s = sorted(latencies)
    return {"rps": len(s) / elapsed, "p50": statistics.median(s), "p99": s[int(len(s) * 0.99) - 1], "max": s[-1], "n": len(s), "errors": errors}


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, Any]:
        return {"member_id": str(READER), "handle": "bench_reader", "headline": None}

    return app


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--members", type=int, default=100_000)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--keep", action="store_true", help="keep the scratch database")
    a = p.parse_args()

    from bench.scratch import scratch_database

    async with scratch_database("profiles", "profiles", keep=a.keep) as url:
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:59092")
        took = await load(url, a.members)
        print(f"generated {a.members:,} members (+ search documents by trigger) in {took:.1f} s")

        with tempfile.TemporaryDirectory() as tmp:
            key_file = Path(tmp) / "keys.json"
            keys.generate(key_file)
            settings = Settings(database_url=url, kafka_bootstrap_servers=kafka, signing_keys_file=key_file, log_level="WARNING")
            app = create_app(settings)
            ring = keys.KeyRing.from_file(key_file)
            now = int(time.time())
            token = ring.sign({"iss": "agora", "aud": "agora", "sub": str(READER), "iat": now, "exp": now + 3600, "jti": "bench", "typ": "access"})
            auth = {"authorization": f"Bearer {token}"}
            n = a.members

            def read(headers: dict[str, str]) -> Callable[[random.Random], tuple[str, dict[str, Any], dict[str, str]]]:
                return lambda r: (f"/v1/profiles/{member(r.randint(1, n))}", {}, headers)

            cases: list[tuple[str, Any, Callable[[random.Random], tuple[str, dict[str, Any], dict[str, str]]], int]] = [
                ("baseline (bare FastAPI)", "bare", lambda r: ("/ping", {}, {}), a.requests),
                ("read/anon", "app", read({}), a.requests),
                ("read/member", "app", read(auth), a.requests),
                ("search/name", "app", lambda r: ("/v1/members/search", {"q": f"{r.choice(FIRST)} {r.choice(LAST)}"}, {}), a.requests // 4),
                ("search/part", "app", lambda r: ("/v1/members/search", {"q": r.choice(LAST)[:5]}, {}), a.requests // 4),
                ("search/skill", "app", lambda r: ("/v1/members/search", {"q": r.choice(SKILLS)}, auth), a.requests // 4),
            ]
            async with app.router.lifespan_context(app):
                clients = {
                    "app": httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench"),
                    "bare": httpx.AsyncClient(transport=httpx.ASGITransport(app=bare_app()), base_url="http://bench"),
                }
                print(f"{'case':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'n':>7}{'errors':>8}   (concurrency {a.concurrency}, {os.cpu_count()} CPUs, shared)")
                for label, which, make, total in cases:
                    r = await measure(clients[which], make, total, a.concurrency)
                    print(f"{label:<26}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['max']:>9.2f}{r['n']:>7}{r['errors']:>8}")
                for c in clients.values():
                    await c.aclose()


if __name__ == "__main__":
    asyncio.run(main())
