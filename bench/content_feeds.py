"""Feed and comment-thread latency on a generated content database, next to a plain indexed SELECT.

    uv run python bench/content_feeds.py [--posts 1000000] [--comments 1000000] [--samples 200] [--keep]

Creates a scratch database (agora_bench_content_<hex>) with content's migrations, generates server-side
(INSERT ... SELECT generate_series, feed indexes built after the load):
  posts      --posts over 50,000 authors and a year, one topic each from 1,000 (skewed: topic0 ≈ 10 %),
             long-tailed ups/downs, with hot/best/controversial computed as the tally handler would, and
             their topic feed entries
  comments   --comments top-level comments spread over the posts, plus one 1,000-comment thread built as a
             random tree (nesting up to ~15 levels) with random scores
  network    one reader following 150 authors and connected to 100 (≈ 5,000 posts in their network)
(the feed and comment indexes are dropped for the load and rebuilt after it), then times, each sample in
its own transaction as a request runs (first page, and a deep page reached by following 40 cursors =
1,000 posts down), page size 25:
  baseline   SELECT <post columns> FROM posts ORDER BY created_at DESC, id DESC LIMIT 26 on a raw asyncpg
             connection — the floor for any feed page — and the same inside a session transaction (the
             pool checkout, BEGIN and COMMIT every request pays)
  feeds      service.feed(): all/hot, all/top-day, topic/hot (popular and mid-size topic), network/new,
             hot-connections/hot — SQL on the asyncpg connection under the session + pydantic models
  thread     service.comment_thread() on the 1,000-comment thread: best, depth 4, 20 top-level, 5 replies each
  http       GET /v1/feeds/all and the thread through the in-process app (FastAPI, JSON) for the full cost
  tallies    20,000 tally.updated events through the consumer runner's apply() (no Kafka): events/s
Prints p50/p99/max in ms and the load figures. No assertions: figures only (goal: p99 < 50 ms per page).
The search trigger is disabled during the load (search is not timed here).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import tempfile
import logging
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.content import ranking, service  # noqa: E402
from services.content.config import SCHEMA, Settings  # noqa: E402
from services.content.main import create_app  # noqa: E402
from services.content.repository import POST_COLUMNS, driver  # noqa: E402
from services.kit.db import make_engine, make_sessions  # noqa: E402
from tests.support.tokens import TestIssuer  # noqa: E402 - the token issuer the tests use

READER = uuid.UUID("ffffffff-ffff-4fff-8fff-ffffffffffff")
THREAD_POST = uuid.UUID("eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee")
AUTHORS = 50_000
PAGE = 25


def member_sql(expr: str) -> str:
    return f"('00000000-0000-4000-8000-' || lpad(to_hex({expr}), 12, '0'))::uuid"


def member(k: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-8000-{k:012x}")


def feed_indexes() -> list[str]:
    spec = importlib.util.spec_from_file_location("m0002", ROOT / "services/content/migrations/versions/0002_content.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [s for s in module.UPGRADE if s.startswith(("CREATE INDEX ix_posts_", "CREATE INDEX ix_topic_posts_", "CREATE INDEX ix_comments_",
                                                        "CREATE UNIQUE INDEX ix_comments_"))]


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def report(name: str, ms: list[float]) -> None:
    print(f"  {name:<44} n={len(ms):>4}  p50 {statistics.median(ms):7.2f} ms   p99 {pct(ms, 0.99):7.2f} ms   max {max(ms):7.2f} ms", flush=True)


async def timed(n: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    for _ in range(min(10, n)):
        await call()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t) * 1000)
    return out


async def load(url: str, posts: int, comments: int) -> None:
    conn = await asyncpg.connect(url, server_settings={"search_path": SCHEMA})
    try:
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for stmt in feed_indexes():
            await conn.execute(f"DROP INDEX {stmt.split('INDEX ')[1].split()[0]}")
        await conn.execute("ALTER TABLE posts DISABLE TRIGGER posts_search")
        z = ranking.WILSON_Z
        t = time.perf_counter()
        await conn.execute(f"""
            INSERT INTO posts (id, author_id, kind, title, topics, created_at, revision, ups, downs, score, rank_score, tally_version,
                               hot, best, controversial, comment_count, comment_seq, share_count)
            SELECT md5(i::text)::uuid, {member_sql(f"i % {AUTHORS}")}, 'question', 'post ' || i,
                   ARRAY['topic' || floor(power(random(), 3) * 1000)::int], created, 1, ups, downs, ups - downs, ups - downs, 1,
                   round((sign(ups - downs) * log(greatest(abs(ups - downs), 1)) + (extract(epoch FROM created) - {ranking.EPOCH_OFFSET}) / {ranking.HOT_DIVISOR})::numeric, 7),
                   CASE WHEN ups + downs = 0 THEN 0 ELSE
                     (ups::float8 / (ups + downs) + {z * z} / (2 * (ups + downs)) - {z} * sqrt((ups::float8 / (ups + downs) * (1 - ups::float8 / (ups + downs)) + {z * z} / (4 * (ups + downs))) / (ups + downs))) / (1 + {z * z} / (ups + downs)) END,
                   CASE WHEN ups = 0 OR downs = 0 THEN 0 ELSE power(ups + downs, least(ups, downs)::float8 / greatest(ups, downs)) END,
                   0, 0, 0
            FROM (SELECT i, now() - random() * interval '365 days' AS created,
                         floor(power(random(), 6) * 3000)::int AS ups, floor(power(random(), 6) * 600)::int AS downs
                  FROM generate_series(1, $1) i) s""", posts)
        await conn.execute("""INSERT INTO topic_posts (topic, post_id, created_at, hot, rank_score, best, controversial)
                              SELECT t, id, created_at, hot, rank_score, best, controversial FROM posts, unnest(topics) AS t""")
        print(f"  posts: {posts:,} (and their topic feed entries) in {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        await conn.execute(f"""
            INSERT INTO comments (id, post_id, parent_id, author_id, path, depth, body, body_html, created_at, ups, downs, score, rank_score, tally_version, best, controversial)
            SELECT gen_random_uuid(), md5((i % $2 + 1)::text)::uuid, NULL, {member_sql(f"(i * 7) % {AUTHORS}")},
                   lpad(to_hex(i / $2 + 1), 6, '0'), 0, 'comment ' || i, '<p>comment ' || i || '</p>', now() - random() * interval '365 days',
                   0, 0, 0, 0, 0, 0, 0
            FROM generate_series(0, $1 - 1) i""", comments, posts)
        print(f"  comments: {comments:,} in {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        for stmt in feed_indexes():
            await conn.execute(stmt)
        print(f"  feed and comment indexes built in {time.perf_counter() - t:.1f} s", flush=True)
        await thread(conn)
        rng = random.Random(7)
        authors = rng.sample(range(AUTHORS), 250)
        await conn.executemany("INSERT INTO follows (follower_id, followee_id, followed_at) VALUES ($1, $2, now())", [(READER, member(a)) for a in authors[:150]])
        await conn.executemany("INSERT INTO connections (member_id, other_id, made_at) VALUES ($1, $2, now()), ($2, $1, now())", [(READER, member(a)) for a in authors[150:]])
        await conn.execute("ALTER TABLE posts ENABLE TRIGGER posts_search")
        t = time.perf_counter()
        await conn.execute("VACUUM ANALYZE posts")
        await conn.execute("VACUUM ANALYZE comments")
        await conn.execute("VACUUM ANALYZE topic_posts")
        print(f"  vacuum analyze in {time.perf_counter() - t:.1f} s", flush=True)
    finally:
        await conn.close()


async def thread(conn: asyncpg.Connection) -> None:
    """A 1,000-comment thread as a random tree: a third top-level, the rest replies, favouring recent comments."""
    rng = random.Random(1)
    now = datetime.now(UTC)
    await conn.execute("""INSERT INTO posts (id, author_id, kind, title, topics, created_at, revision, comment_count, comment_seq)
                          VALUES ($1, $2, 'question', 'the big thread', ARRAY['topic1'], $3, 1, 1000, 1000)""", THREAD_POST, member(1), now)
    await conn.execute("""INSERT INTO topic_posts (topic, post_id, created_at, hot, rank_score, best, controversial)
                          VALUES ('topic1', $1, $2, 0, 0, 0, 0)""", THREAD_POST, now)
    rows: list[tuple[Any, ...]] = []
    paths: list[str] = []
    depths: list[int] = []
    replies = [0] * 1000
    parents: list[int | None] = []
    for i in range(1000):
        parent = None if i == 0 or rng.random() < 0.3 else max(0, i - 1 - int(rng.expovariate(1 / 20)))
        parents.append(parent)
        seg = f"{i + 1:06x}"
        paths.append((paths[parent] if parent is not None else "") + seg)
        depths.append(depths[parent] + 1 if parent is not None else 0)
        if parent is not None:
            replies[parent] += 1
    ids = [uuid.uuid4() for _ in range(1000)]
    for i in range(1000):
        ups, downs = int(rng.paretovariate(1.2)) - 1, int(rng.paretovariate(1.5)) - 1
        rows.append((ids[i], THREAD_POST, ids[parents[i]] if parents[i] is not None else None, member(i), paths[i], depths[i], f"c{i}", f"<p>c{i}</p>",
                     now + timedelta(seconds=i), replies[i], ups, downs, ups - downs, ups - downs, 1, ranking.best(ups, downs), ranking.controversial(ups, downs)))
    await conn.copy_records_to_table("comments", schema_name=SCHEMA, records=rows, columns=[
        "id", "post_id", "parent_id", "author_id", "path", "depth", "body", "body_html", "created_at", "reply_count",
        "ups", "downs", "score", "rank_score", "tally_version", "best", "controversial"])
    print(f"  thread: 1,000 comments, max depth {max(depths)}, {sum(1 for p in parents if p is None)} top-level", flush=True)


async def measure(url: str, samples: int) -> None:
    settings = Settings(database_url=url, kafka_bootstrap_servers="127.0.0.1:9", db_pool_size=2)
    engine = make_engine(settings, SCHEMA, pool_size=2)
    sessions = make_sessions(engine)
    raw = await asyncpg.connect(url, server_settings={"search_path": SCHEMA})

    async def baseline() -> None:
        await raw.fetch(f"SELECT {POST_COLUMNS} FROM posts p WHERE p.deleted_at IS NULL ORDER BY p.created_at DESC, p.id DESC LIMIT {PAGE + 1}")

    def feed(kw: dict[str, Any], cursor: str | None = None) -> Callable[[], Awaitable[Any]]:
        async def call() -> Any:
            async with sessions() as s, s.begin():
                return await service.feed(s, limit=PAGE, cursor=cursor, **kw)

        return call

    async def deep_cursor(kw: dict[str, Any], pages: int = 40) -> str | None:
        cursor = None
        for _ in range(pages):
            cursor = (await feed(kw, cursor)()).next_cursor
            if cursor is None:
                break
        return cursor

    async def thread_page() -> None:
        async with sessions() as s, s.begin():
            await service.comment_thread(s, THREAD_POST, sort="best", depth=4, limit=20, replies=5, cursor=None)

    async def baseline_in_session() -> None:
        async with sessions() as s, s.begin():
            await (await driver(s)).fetch(
                f"SELECT {POST_COLUMNS} FROM posts p WHERE p.deleted_at IS NULL ORDER BY p.created_at DESC, p.id DESC LIMIT {PAGE + 1}")

    print("\nlatency per page (each sample one transaction; page size 25):", flush=True)
    report("baseline: indexed SELECT LIMIT 26 (asyncpg)", await timed(samples, baseline))
    report("baseline, in a session transaction", await timed(samples, baseline_in_session))
    cases = [
        ("all / hot", {"name": "all", "sort": "hot", "window": "day"}),
        ("all / top day", {"name": "all", "sort": "top", "window": "day"}),
        ("topic0 (~10 % of posts) / hot", {"name": "topic", "sort": "hot", "window": "day", "topic": "topic0"}),
        ("topic100 (~0.15 %) / hot", {"name": "topic", "sort": "hot", "window": "day", "topic": "topic100"}),
        ("network / new", {"name": "network", "sort": "new", "window": "day", "member": READER}),
        ("hot-connections / hot", {"name": "hot-connections", "sort": "hot", "window": "day", "member": READER}),
    ]
    for label, kw in cases:
        report(f"{label}, first page", await timed(samples, feed(kw)))
    for label, kw in cases:
        cursor = await deep_cursor(kw)
        if cursor is None:
            print(f"  {label}: fewer than 1,000 posts, no deep page")
            continue
        report(f"{label}, page 41 (1,000 deep)", await timed(samples, feed(kw, cursor)))
    report("thread of 1,000: best, depth 4, 20 x 5", await timed(samples, thread_page))


    with tempfile.TemporaryDirectory() as tmp:
        issuer = TestIssuer(Path(tmp) / "jwks.json")
        app = create_app(Settings(database_url=url, kafka_bootstrap_servers="127.0.0.1:9", jwks_url=issuer.jwks_url, db_pool_size=2, log_level="WARNING"))
        async with app.router.lifespan_context(app):
            logging.getLogger("httpx").setLevel(logging.WARNING)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
                headers = issuer.headers(READER)

                async def get(path: str) -> None:
                    resp = await http.get(path, headers=headers)
                    assert resp.status_code == 200, resp.text

                report("http: GET /v1/feeds/all?sort=hot", await timed(samples, lambda: get("/v1/feeds/all?sort=hot")))
                report("http: GET /v1/feeds/network", await timed(samples, lambda: get("/v1/feeds/network")))
                report("http: GET thread (best, depth 4)", await timed(samples, lambda: get(f"/v1/posts/{THREAD_POST}/comments?sort=best&depth=4")))
    await tally_rate(sessions, raw)
    await raw.close()
    await engine.dispose()


async def tally_rate(sessions: Any, raw: asyncpg.Connection, n: int = 20_000, batch: int = 500) -> None:
    """tally.updated events through the consumer runner's apply() (inbox rows, handler, stored offsets, one
    transaction per batch), as `agora consume content events` applies them — minus Kafka. Baseline in the
    same run: the per-event handler (inbox row, savepoint and one UPDATE per event)."""
    from types import SimpleNamespace

    from aiokafka import TopicPartition

    from services.content.handlers import SUBSCRIPTION, on_tally
    from services.kit.consumer import ConsumerRunner, Subscription
    from services.kit.events import CloudEvent

    ids = [r["id"] for r in await raw.fetch("SELECT id FROM posts ORDER BY random() LIMIT 5000")]
    rng = random.Random(3)
    per_event = Subscription(name="bench.per_event", topics=SUBSCRIPTION.topics, handlers={"tally.updated": on_tally})
    tp = TopicPartition("agora.tallies", 0)
    version = 10
    for label, sub in (("baseline: per-event handler", per_event), ("batch handler (what runs)", SUBSCRIPTION)):
        runner = ConsumerRunner(subscription=sub, sessions=sessions, schema=SCHEMA, bootstrap_servers="127.0.0.1:9")
        msgs = []
        for i in range(n):
            target = rng.choice(ids)
            ups, downs = rng.randint(0, 5000), rng.randint(0, 800)
            version += 1
            event = CloudEvent(id=str(uuid.uuid4()), source="agora/voting", type="tally.updated", time=datetime.now(UTC), data={
                "target_id": str(target), "target_kind": "post", "author_id": str(member(1)), "ups": ups, "downs": downs,
                "score": ups - downs, "trusted_score": (ups - downs) / 2, "version": version, "updated_at": datetime.now(UTC).isoformat()})
            msgs.append(SimpleNamespace(headers=event.headers(), value=event.value(), offset=i, topic=tp.topic, partition=0, key=None))
        t = time.perf_counter()
        for start in range(0, n, batch):
            await runner.apply({tp: msgs[start:start + batch]})
        elapsed = time.perf_counter() - t
        print(f"\ntally.updated through the consumer runner, {label}: {n:,} events in {elapsed:.1f} s = {n / elapsed:,.0f} events/s "
              f"(batches of {batch}, {len(ids):,} distinct posts)", flush=True)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--comments", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = ap.parse_args()

    from bench.scratch import scratch_database

    async with scratch_database("content", "content", keep=args.keep) as url:
        print(f"scratch database {url.rpartition('/')[2]}; generating:", flush=True)
        t = time.perf_counter()
        await load(url, args.posts, args.comments)
        print(f"  load total {time.perf_counter() - t:.1f} s", flush=True)
        await measure(url, args.samples)


if __name__ == "__main__":
    asyncio.run(main())
