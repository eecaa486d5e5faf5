"""The kernel's delivery guarantees on the real PostgreSQL and Kafka, with real processes killed by SIGKILL.

The probe consumer APPENDS a row per event it applies (tests/support/counting.py), so an event applied
twice would show up as a duplicate row: these tests can fail.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import create_async_engine

from services.kit.db import make_sessions
from services.kit.topics import ensure_topics
from tests.conftest import wait_until
from tests.support import counting, processes
from tests.support.kafka import headers, read_all

WORKER = ["tests.support.counting"]


@pytest.fixture(scope="module")
async def probe(test_infra: Any) -> Any:
    await counting.install(test_infra.database_url)
    await ensure_topics(test_infra.bootstrap, [counting.PROBE, counting.DEADLETTER], test_infra.prefix)
    engine = create_async_engine("postgresql+asyncpg://" + test_infra.database_url.split("://", 1)[1])
    yield make_sessions(engine)
    await engine.dispose()


async def write(sessions: Any, batch: str, n: int, *, rollback: bool = False) -> None:
    async with sessions() as session:
        await counting.outbox.publish_many(session, [(counting.COUNTED, counting.Counted(n=i, batch=batch), f"k{i % 7}", None) for i in range(n)])
        if rollback:
            await session.rollback()
        else:
            await session.commit()


async def db(test_infra: Any, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(test_infra.database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def on_topic(test_infra: Any, batch: str) -> list[Any]:
    msgs = await read_all(test_infra.bootstrap, counting.PROBE.qualified(test_infra.prefix))
    return [m for m in msgs if f'"batch":"{batch}"'.encode() in m.value]


def start(kind: str, test_infra: Any, size: int, **extra: str) -> processes.Proc:
    p = processes.start(f"probe-{kind}", [*WORKER, kind, str(size)], test_infra.env, extra_env=extra)
    if not extra:
        p.wait_ready()
    return p


async def test_rolled_back_event_is_never_published_committed_one_is(probe: Any, test_infra: Any, unique: str) -> None:
    await write(probe, f"rb-{unique}", 3, rollback=True)
    await write(probe, f"ok-{unique}", 1)
    # The committed event is in the outbox (so the LIKE below really finds rows when they exist).
    assert await db(test_infra, "SELECT count(*) FROM kit_probe.outbox WHERE convert_from(payload, 'UTF8') LIKE $1", f"%ok-{unique}%") == 1
    relay = start("relay", test_infra, 100)
    try:
        await wait_until(lambda: on_topic(test_infra, f"ok-{unique}"), timeout=30)
    finally:
        relay.stop()
    assert await on_topic(test_infra, f"rb-{unique}") == []
    assert await db(test_infra, "SELECT count(*) FROM kit_probe.outbox WHERE convert_from(payload, 'UTF8') LIKE $1", f"%rb-{unique}%") == 0
    (msg,) = await on_topic(test_infra, f"ok-{unique}")
    h = headers(msg)
    assert h["ce_type"] == "probe.counted" and h["ce_source"] == "agora/tests" and uuid.UUID(h["ce_id"])


async def test_relay_killed_mid_batch_republishes_and_consumer_applies_exactly_once(probe: Any, test_infra: Any, unique: str) -> None:
    batch, n = f"kill-{unique}", 600
    await write(probe, batch, n)
    # The fault hook SIGKILLs the relay after Kafka acked its first batch of 200, before marking it published.
    crashed = start("relay", test_infra, 200, AGORA_FAULT_RELAY_KILL_AFTER_SEND="1")
    assert crashed.popen.wait(60) == -9
    first = await on_topic(test_infra, batch)
    assert len(first) == 200
    assert await db(test_infra, "SELECT count(*) FROM kit_probe.outbox WHERE published_at IS NULL AND convert_from(payload, 'UTF8') LIKE $1", f"%{batch}%") == n

    relay = start("relay", test_infra, 200)
    consumer = start("consume", test_infra, 50)
    try:
        async def all_published() -> bool:
            return await db(test_infra, "SELECT count(*) FROM kit_probe.outbox WHERE published_at IS NULL AND convert_from(payload, 'UTF8') LIKE $1", f"%{batch}%") == 0

        await wait_until(all_published, timeout=60)
        delivered = await on_topic(test_infra, batch)
        ids = [headers(m)["ce_id"] for m in delivered]
        assert len(set(ids)) == n and len(ids) >= n + 200  # the first 200 really were delivered twice

        async def applied() -> int:
            return await db(test_infra, "SELECT count(*) FROM kit_probe.applied WHERE batch = $1", batch)

        await wait_until(lambda: _equals(applied, n), timeout=60)
        await asyncio.sleep(1.0)  # give a duplicate the chance to land
        assert await applied() == n
        assert await db(test_infra, "SELECT count(DISTINCT event_id) FROM kit_probe.applied WHERE batch = $1", batch) == n
    finally:
        relay.stop()
        consumer.stop()


async def test_consumer_killed_after_db_commit_before_kafka_commit_applies_nothing_twice(probe: Any, test_infra: Any, unique: str) -> None:
    batch, n = f"ckill-{unique}", 300
    await write(probe, batch, n)
    relay = start("relay", test_infra, 500)
    try:
        await wait_until(lambda: _has(on_topic(test_infra, batch), n), timeout=60)
    finally:
        relay.stop()
    crashed = start("consume", test_infra, 40, AGORA_FAULT_CONSUMER_KILL_AFTER_DB_COMMIT="1")
    assert crashed.popen.wait(60) == -9
    consumer = start("consume", test_infra, 40)
    try:
        async def applied() -> int:
            return await db(test_infra, "SELECT count(*) FROM kit_probe.applied WHERE batch = $1", batch)

        await wait_until(lambda: _equals(applied, n), timeout=60)
        await asyncio.sleep(1.0)
        assert await applied() == n
        assert await db(test_infra, "SELECT count(DISTINCT event_id) FROM kit_probe.applied WHERE batch = $1", batch) == n
    finally:
        consumer.stop()


async def test_poison_message_goes_to_dead_letter_and_consumer_goes_on(probe: Any, test_infra: Any, unique: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=test_infra.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(counting.PROBE.qualified(test_infra.prefix), value=b"\x00not an event " + unique.encode(), key=b"poison")
    finally:
        await producer.stop()
    batch = f"after-poison-{unique}"
    await write(probe, batch, 5)
    relay = start("relay", test_infra, 100)
    consumer = start("consume", test_infra, 100)
    try:
        async def applied() -> int:
            return await db(test_infra, "SELECT count(*) FROM kit_probe.applied WHERE batch = $1", batch)

        await wait_until(lambda: _equals(applied, 5), timeout=60)

        async def dead() -> list[Any]:
            msgs = await read_all(test_infra.bootstrap, counting.DEADLETTER.qualified(test_infra.prefix))
            return [m for m in msgs if unique.encode() in (m.value or b"")]

        # Dead letters are sent (and acked) before the batch commits, so a retried batch may send one twice:
        # at-least-once, like every delivery on the bus. Every copy names the reason and the origin.
        letters = await wait_until(dead, timeout=30)
        origins = set()
        for letter in letters:
            h = headers(letter)
            assert h["dlq_reason"].startswith("malformed: missing header ce_specversion")
            assert h["dlq_origin"].startswith(counting.PROBE.qualified(test_infra.prefix) + "/")
            origins.add(h["dlq_origin"])
        assert len(origins) == 1  # one poison message, however many copies
    finally:
        relay.stop()
        consumer.stop()


async def _equals(fn: Any, n: int) -> bool:
    return await fn() == n


async def _has(coro: Any, n: int) -> bool:
    return len(await coro) >= n
