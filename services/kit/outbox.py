"""Transactional outbox: a state change and the event announcing it commit together, or not at all.

    service code ──(same transaction)──▶ <schema>.outbox row ──NOTIFY──▶ relay ──idempotent producer──▶ Kafka

`Outbox.publish()` adds the event row in the caller's session; a statement trigger NOTIFYs the relay when
the transaction commits (a rolled-back transaction never notifies and leaves no row). The relay locks a
batch of unpublished rows with `FOR UPDATE SKIP LOCKED` (so several replicas share the work), sends them
keyed by aggregate id, waits for every ack, then marks them published in the same transaction. A crash
between the acks and the commit republishes the batch: delivery is at-least-once, and every consumer
de-duplicates by event id. Several relay replicas keep each one's batch in order, but two replicas may
interleave one key's events; consumers must not rely on cross-batch order (they use versions/times).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from typing import Any

import asyncpg
import orjson
from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, LargeBinary, MetaData, Table, Text, func, insert, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit import tracing
from services.kit.events import CloudEvent, EventType
from services.kit.kafka import make_producer

log = logging.getLogger("agora.outbox")


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("seq", BigInteger, Identity(always=True), primary_key=True),
        Column("id", UUID(as_uuid=False), nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("type", Text, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Index("ix_outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
    )


def channel(schema: str) -> str:
    return f"agora_outbox_{schema}"


def install_sql(schema: str) -> list[str]:
    """DDL run by a service's first migration after the outbox table exists: the commit-time wake-up."""
    return [
        f"""CREATE OR REPLACE FUNCTION {schema}.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('{channel(schema)}', ''); RETURN NULL; END $$""",
        f"""CREATE TRIGGER outbox_notify AFTER INSERT ON {schema}.outbox
            FOR EACH STATEMENT EXECUTE FUNCTION {schema}.outbox_notify()""",
    ]


class Outbox:
    """Writes events into a service's outbox, inside the caller's transaction."""

    def __init__(self, table: Table, source: str) -> None:
        self.table = table
        self.source = source

    def build(self, event_type: EventType[Any], data: BaseModel, *, key: str, subject: str | None = None) -> tuple[CloudEvent, dict[str, Any]]:
        if not isinstance(data, event_type.data):
            raise TypeError(f"{event_type.type} carries {event_type.data.__name__}, not {type(data).__name__}")
        event = CloudEvent.new(source=self.source, event_type=event_type, data=data, subject=subject, traceparent=tracing.current_traceparent.get())
        row = {
            "id": event.id,
            "topic": event_type.topic.name,
            "key": key,
            "type": event.type,
            "headers": [[k, v.decode()] for k, v in event.headers()],
            "payload": event.value(),
        }
        return event, row

    async def publish(self, session: AsyncSession, event_type: EventType[Any], data: BaseModel, *, key: str, subject: str | None = None) -> CloudEvent:
        event, row = self.build(event_type, data, key=key, subject=subject)
        await session.execute(insert(self.table).values(**row))
        return event

    async def publish_many(self, session: AsyncSession, items: list[tuple[EventType[Any], BaseModel, str, str | None]]) -> list[CloudEvent]:
        """One INSERT for many events (one statement, one NOTIFY)."""
        if not items:
            return []
        built = [self.build(et, data, key=key, subject=subject) for et, data, key, subject in items]
        await session.execute(insert(self.table), [row for _, row in built])
        return [event for event, _ in built]


class OutboxRelay:
    """Publishes a schema's outbox to Kafka. Run one or more per service (`agora relay <service>`)."""

    def __init__(
        self,
        *,
        database_url: str,
        schema: str,
        bootstrap_servers: str,
        topic_prefix: str = "",
        batch_size: int = 500,
        idle_poll_seconds: float = 2.0,
        retention_seconds: float = 24 * 3600,
    ) -> None:
        self.database_url = database_url
        self.schema = schema
        self.bootstrap_servers = bootstrap_servers
        self.topic_prefix = topic_prefix
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.retention_seconds = retention_seconds
        self.published = 0
        self.ready = False
        self._wake = asyncio.Event()
        # Fault injection for the crash tests: die after Kafka acked a batch, before marking it published.
        self._kill_after_send = os.environ.get("AGORA_FAULT_RELAY_KILL_AFTER_SEND") == "1"

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                await self._run_connected(stop)
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.TimeoutError) as exc:
                self.ready = False
                log.warning("outbox relay for %s lost a dependency (%s); retrying in %.1fs", self.schema, exc, backoff)
                try:
                    await asyncio.wait_for(stop.wait(), backoff)
                except asyncio.TimeoutError:
                    pass
                backoff = min(backoff * 2, 10)

    async def _run_connected(self, stop: asyncio.Event) -> None:
        # Marking rows published need not wait for the WAL flush: a server crash that loses the mark makes
        # the relay publish those events again, which the at-least-once contract (and every consumer's
        # inbox) already covers; under I/O load the flush wait was most of a round.
        pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=2, server_settings={"synchronous_commit": "off"})
        listener = await asyncpg.connect(self.database_url)
        producer = make_producer(self.bootstrap_servers)
        await producer.start()
        try:
            await listener.add_listener(channel(self.schema), lambda *_: self._wake.set())
            self.ready = True
            last_cleanup = 0.0
            while not stop.is_set():
                # Cleared before the batch, not after it: a NOTIFY for a commit the batch's SELECT did not see
                # arrives while the batch is out, and must wake the wait below (clearing it afterwards lost it,
                # leaving that event to the idle poll, 2 s later).
                self._wake.clear()
                sent = await self._publish_batch(pool, producer)
                if sent == self.batch_size:
                    continue  # more waiting: no sleep
                if time.monotonic() - last_cleanup > 60:
                    await self._cleanup(pool)
                    last_cleanup = time.monotonic()
                waiter = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, timeout=self.idle_poll_seconds, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
        finally:
            self.ready = False
            await producer.stop()
            await listener.close()
            await pool.close()

    async def _publish_batch(self, pool: asyncpg.Pool, producer: Any) -> int:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"SELECT seq, topic, key, headers, payload FROM {self.schema}.outbox "
                "WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.batch_size,
            )
            if not rows:
                return 0
            futures = []
            for r in rows:
                headers = [(k, v.encode()) for k, v in orjson.loads(r["headers"])]
                futures.append(await producer.send(self.topic_prefix + r["topic"], value=r["payload"], key=r["key"].encode(), headers=headers))
            await asyncio.gather(*futures)
            if self._kill_after_send:
                os.kill(os.getpid(), signal.SIGKILL)
            await conn.execute(
                f"UPDATE {self.schema}.outbox SET published_at = now() WHERE seq = ANY($1::bigint[])",
                [r["seq"] for r in rows],
            )
        self.published += len(rows)
        log.debug("published %d events", len(rows), extra={"count": len(rows)})
        return len(rows)

    async def _cleanup(self, pool: asyncpg.Pool) -> None:
        await pool.execute(
            f"DELETE FROM {self.schema}.outbox WHERE published_at < now() - make_interval(secs => $1)",
            self.retention_seconds,
        )
