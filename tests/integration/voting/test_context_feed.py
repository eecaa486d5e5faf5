"""The context log the tally consumers read (services/voting/context_feed.py), on the real database:
read in commit order without gaps, and compacted without changing what a reader ends up knowing."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg

from services.voting.context_feed import CONTEXT_LOG_LOCK, ContextFeed, compact
from services.voting.integrity import VotePipeline


async def _log(conn: asyncpg.Connection, kind: str, key: str | None, data: dict[str, Any], age_seconds: float = 0.0) -> None:
    await conn.execute("INSERT INTO voting.context_log (kind, key, data, recorded_at) VALUES ($1, $2, $3::jsonb, now() - make_interval(secs => $4))",
                       kind, key, json.dumps(data), age_seconds)


async def test_an_appender_waits_for_the_one_before_so_no_row_commits_behind_a_reader(test_infra: Any) -> None:
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    pool = await asyncpg.create_pool(test_infra.database_url, min_size=1, max_size=2)
    slow = await asyncpg.connect(test_infra.database_url)
    fast = await asyncpg.connect(test_infra.database_url)
    try:
        feed, pipeline = ContextFeed("voting"), VotePipeline()
        await feed.catch_up(pool, pipeline, lambda t: None)
        lock = "SELECT pg_advisory_xact_lock($1)"  # what handlers._log takes before appending
        tx = slow.transaction()
        await tx.start()
        await slow.execute(lock, CONTEXT_LOG_LOCK)
        await _log(slow, "connection", f"{a}|{b}", {"a": a, "b": b, "at": 1.0})  # takes its seq first, commits late
        second = fast.transaction()
        await second.start()
        waiting = asyncio.ensure_future(fast.execute(lock, CONTEXT_LOG_LOCK))
        await asyncio.sleep(0.3)
        assert not waiting.done(), "a second appender must wait for the first to commit"
        await feed.catch_up(pool, pipeline, lambda t: None)
        assert not pipeline.context.connected(a, b)  # not committed yet
        await tx.commit()
        await waiting
        await _log(fast, "connection", f"{a}|{c}", {"a": a, "b": c, "at": 2.0})
        await second.commit()
        await feed.catch_up(pool, pipeline, lambda t: None)
        assert pipeline.context.connected(a, b) and pipeline.context.connected(a, c)
        rows = await fast.fetch("SELECT seq FROM voting.context_log WHERE key = ANY($1::text[]) ORDER BY seq", [f"{a}|{b}", f"{a}|{c}"])
        assert len(rows) == 2
    finally:
        await slow.close()
        await fast.close()
        await pool.close()


async def test_compaction_keeps_what_a_reader_ends_up_knowing(test_infra: Any) -> None:
    a, b, x, y, m, s, r, t = (str(uuid.uuid4()) for _ in range(8))
    pool = await asyncpg.create_pool(test_infra.database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await _log(conn, "connection", f"{a}|{b}", {"a": a, "b": b, "at": 10.0, "provenance": "invitation"})
            await _log(conn, "connection", f"{a}|{b}", {"a": b, "b": a, "at": 20.0, "removed": True})
            await _log(conn, "connection", f"{a}|{b}", {"a": a, "b": b, "at": 30.0, "provenance": "introduction"})
            await _log(conn, "block", f"{x}|{y}", {"blocker": x, "blocked": y, "at": 10.0})
            await _log(conn, "block", f"{x}|{y}", {"blocker": x, "blocked": y, "at": 20.0, "removed": True})
            await _log(conn, "trust", m, {"member": m, "registered_at": 5.0, "email_verified": False, "trust_level": "new", "deleted": False})
            await _log(conn, "trust", m, {"member": m, "registered_at": 5.0, "email_verified": True, "trust_level": "new", "deleted": False})
            await _log(conn, "solicitation", None, {"sender": s, "recipients": [r], "target": t, "at": 1.0}, age_seconds=3 * 86400)
            await _log(conn, "solicitation", None, {"sender": s, "recipients": [r], "target": x, "at": 2.0})

        full = VotePipeline()
        await ContextFeed("voting").catch_up(pool, full, lambda t: None)
        dropped = await compact(pool, "voting", keep_seconds=86400)
        assert dropped >= 5  # 2 connection rows, 1 block, 1 trust, 1 old solicitation (other tests' rows may go too)
        async with pool.acquire() as conn:
            left = await conn.fetch("SELECT kind FROM voting.context_log WHERE key = ANY($1::text[]) OR data->>'sender' = $2 ORDER BY seq",
                                    [f"{a}|{b}", f"{x}|{y}", m], s)
        assert [r["kind"] for r in left] == ["connection", "block", "trust", "solicitation"]

        compacted = VotePipeline()
        await ContextFeed("voting").catch_up(pool, compacted, lambda t: None)
        for ctx in (full.context, compacted.context):
            assert ctx.connection(a, b) == (30.0, True)
            assert x not in ctx.blocked_by
            assert ctx.standing[m] == (5.0, True, "new", False)
        assert full.context.solicited[r] == {t: (1.0, s), x: (2.0, s)}
        assert compacted.context.solicited[r] == {x: (2.0, s)}  # the expired one is gone
    finally:
        await pool.close()
