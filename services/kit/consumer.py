"""Idempotent Kafka consumer runner: the effect and the consumed position commit in one DB transaction.

For each batch from `getmany()` the runner opens one transaction and:
  1. parses each CloudEvent; an undecodable or invalid message goes to the dead-letter topic with the
     reason (acked before the batch commits) and never stops the consumer;
  2. skips event types it has no handler for (tolerant reader: new producers' events don't break it);
  3. records the batch's event ids in `<schema>.inbox` with one statement (a duplicate id — a relay or
     Kafka redelivery, also within the batch — is skipped);
  4. calls each event's handler in a savepoint, in order (a handler's `PoisonEvent` dead-letters just that
     event); event types with a *batch handler* are instead handed over together, once per batch, after
     the per-event handlers: for high-volume events whose effect does not depend on other types' events
     (e.g. tally updates, applied by version), so one statement applies the whole batch;
then stores the next offset per partition in `<schema>.consumer_offsets` and commits. Only after that is
the offset committed to Kafka (for lag monitoring). On partition assignment the runner seeks to the
stored offsets, so a crash between the DB commit and the Kafka commit replays nothing (effectively once).
A lock keeps a rebalance from revoking partitions while a batch is being applied.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka import ConsumerRebalanceListener, TopicPartition
from pydantic import BaseModel, ValidationError
from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, PrimaryKeyConstraint, Table, Text, func, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kit import tracing
from services.kit.events import CloudEvent, MalformedEvent
from services.kit.kafka import make_consumer, make_producer
from services.kit.topics import Topic

log = logging.getLogger("agora.consumer")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
# Gets a batch's fresh events of one type, in order; returns the ones it rejects, with the reason
# (dead-lettered; the others count as applied). Must not raise for one bad event.
BatchHandler = Callable[[AsyncSession, list[CloudEvent]], Awaitable[list[tuple[CloudEvent, str]]]]
M = TypeVar("M", bound=BaseModel)


def parse_batch(events: list[CloudEvent], model: type[M]) -> tuple[list[M], list[tuple[CloudEvent, str]]]:
    """A batch handler's first step: each event's data as `model` (in order), and the events whose data
    does not fit, with the reason (what the handler returns as rejected: they are dead-lettered)."""
    parsed: list[M] = []
    rejected: list[tuple[CloudEvent, str]] = []
    for event in events:
        try:
            parsed.append(model.model_validate(event.data))
        except ValidationError as exc:
            rejected.append((event, str(exc)))
    return parsed, rejected


class PoisonEvent(Exception):
    """Raised by a handler for an event that can never be applied (wrong schema, impossible values)."""


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )


def offsets_table(metadata: MetaData) -> Table:
    return Table(
        "consumer_offsets",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("topic", Text, nullable=False),
        Column("partition", Integer, nullable=False),
        Column("next_offset", BigInteger, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "topic", "partition"),
    )


async def load_offsets(session: AsyncSession, schema: str, consumer: str, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    rows = await session.execute(
        text(f"SELECT topic, partition, next_offset FROM {schema}.consumer_offsets WHERE consumer = :c"), {"c": consumer}
    )
    stored = {TopicPartition(t, p): o for t, p, o in rows}
    return {tp: stored[tp] for tp in partitions if tp in stored}


async def store_offsets(session: AsyncSession, schema: str, consumer: str, positions: dict[TopicPartition, int]) -> None:
    if not positions:
        return
    # GREATEST: a consumer that lost its partitions in a rebalance can never move an offset backwards.
    await session.execute(
        text(
            f"INSERT INTO {schema}.consumer_offsets (consumer, topic, partition, next_offset) "
            "SELECT :c, t, p, o FROM unnest(CAST(:topics AS text[]), CAST(:parts AS int[]), CAST(:offs AS bigint[])) AS x(t, p, o) "
            "ON CONFLICT (consumer, topic, partition) DO UPDATE "
            "SET next_offset = GREATEST(consumer_offsets.next_offset, excluded.next_offset), updated_at = now()"
        ),
        {"c": consumer, "topics": [tp.topic for tp in positions], "parts": [tp.partition for tp in positions], "offs": list(positions.values())},
    )


@dataclass
class Subscription:
    """What a consumer process listens to: a group name, topics, and a handler per event type."""

    name: str  # consumer group name (prefixed with the topic prefix); also the inbox/offsets key
    topics: list[Topic]
    handlers: dict[str, Handler] = field(default_factory=dict)
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, runner: "ConsumerRunner") -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        # Wait for the batch in flight to commit: its offsets are then stored before another member takes over.
        async with self.runner.lock:
            pass

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.runner.seek_to_stored(list(assigned))


class ConsumerRunner:
    def __init__(
        self,
        *,
        subscription: Subscription,
        sessions: async_sessionmaker[AsyncSession],
        schema: str,
        bootstrap_servers: str,
        topic_prefix: str = "",
        deadletter: Topic | None = None,
        batch_size: int = 500,
        session_timeout_ms: int = 30000,
    ) -> None:
        self.sub = subscription
        self.session_timeout_ms = session_timeout_ms
        self.sessions = sessions
        self.schema = schema
        self.bootstrap_servers = bootstrap_servers
        self.prefix = topic_prefix
        self.deadletter = deadletter
        self.batch_size = batch_size
        self.lock = asyncio.Lock()
        self.ready = False
        self.applied = 0
        self.consumer: Any = None
        self.producer: Any = None
        self._kill_after_db_commit = os.environ.get("AGORA_FAULT_CONSUMER_KILL_AFTER_DB_COMMIT") == "1"

    @property
    def group_id(self) -> str:
        return self.prefix + self.sub.name

    async def seek_to_stored(self, partitions: list[TopicPartition]) -> None:
        async with self.sessions() as session:
            stored = await load_offsets(session, self.schema, self.sub.name, partitions)
        for tp, offset in stored.items():
            self.consumer.seek(tp, offset)

    async def run(self, stop: asyncio.Event) -> None:
        self.consumer = make_consumer(self.bootstrap_servers, self.group_id, max_poll_records=self.batch_size,
                                      session_timeout_ms=self.session_timeout_ms, heartbeat_interval_ms=max(1000, self.session_timeout_ms // 10))
        self.producer = make_producer(self.bootstrap_servers) if self.deadletter else None
        self.consumer.subscribe([t.qualified(self.prefix) for t in self.sub.topics], listener=_Rebalance(self))
        await self.consumer.start()
        if self.producer:
            await self.producer.start()
        self.ready = True
        try:
            while not stop.is_set():
                batch = await self.consumer.getmany(timeout_ms=500, max_records=self.batch_size)
                if not batch:
                    continue
                try:
                    async with self.lock:
                        positions = await self.apply(batch)
                        if self._kill_after_db_commit:
                            os.kill(os.getpid(), signal.SIGKILL)
                        await self.consumer.commit(positions)
                except Exception:
                    # Transient failure (database down, broker hiccup): nothing was committed; go back to the
                    # stored positions and try again, slower.
                    log.exception("batch failed; rewinding to stored offsets")
                    await asyncio.sleep(1.0)
                    await self.seek_to_stored(list(self.consumer.assignment()))
        finally:
            self.ready = False
            await self.consumer.stop()
            if self.producer:
                await self.producer.stop()

    async def apply(self, batch: dict[TopicPartition, list[Any]]) -> dict[TopicPartition, int]:
        positions: dict[TopicPartition, int] = {}
        dead: list[tuple[Any, str]] = []
        handled: list[tuple[Any, CloudEvent]] = []
        handlers, batch_handlers = self.sub.handlers, self.sub.batch_handlers
        for tp, messages in batch.items():
            for msg in messages:
                positions[tp] = msg.offset + 1
                try:
                    event = CloudEvent.from_kafka(msg.headers, msg.value)
                except MalformedEvent as exc:
                    dead.append((msg, f"malformed: {exc}"))
                    continue
                if event.type in handlers or event.type in batch_handlers:
                    handled.append((msg, event))
        async with self.sessions() as session, session.begin():
            fresh = await self._claim(session, [e.id for _, e in handled])
            grouped: dict[str, list[tuple[Any, CloudEvent]]] = {}
            for msg, event in handled:
                if event.id not in fresh:
                    continue  # already applied: redelivery (or a copy earlier in this batch)
                fresh.discard(event.id)
                if event.type in batch_handlers:
                    grouped.setdefault(event.type, []).append((msg, event))
                else:
                    await self._apply_one(session, msg, event, dead)
            for event_type, items in grouped.items():
                message_of = {e.id: m for m, e in items}
                rejected = await batch_handlers[event_type](session, [e for _, e in items])
                dead.extend((message_of[e.id], f"rejected by {self.sub.name}: {reason}") for e, reason in rejected)
                self.applied += len(items) - len(rejected)
            if dead:
                await self._send_deadletters(dead)
            await store_offsets(session, self.schema, self.sub.name, positions)
        return positions

    async def _claim(self, session: AsyncSession, event_ids: list[str]) -> set[str]:
        """Record the event ids in the inbox; the ones not seen before (one statement for the batch)."""
        if not event_ids:
            return set()
        rows = await session.execute(
            text(f"INSERT INTO {self.schema}.inbox (consumer, event_id) SELECT :c, x FROM unnest(CAST(:ids AS text[])) AS x "
                 "ON CONFLICT DO NOTHING RETURNING event_id"),
            {"c": self.sub.name, "ids": event_ids},
        )
        return {r[0] for r in rows}

    async def _apply_one(self, session: AsyncSession, msg: Any, event: CloudEvent, dead: list[tuple[Any, str]]) -> None:
        handler = self.sub.handlers[event.type]
        token = tracing.current_traceparent.set(tracing.continue_trace(event.traceparent))
        try:
            async with session.begin_nested():
                await handler(session, event)
            self.applied += 1
        except (PoisonEvent, ValidationError) as exc:
            dead.append((msg, f"rejected by {self.sub.name}: {exc}"))
        finally:
            tracing.current_traceparent.reset(token)

    async def _send_deadletters(self, dead: list[tuple[Any, str]]) -> None:
        await send_deadletters(self.producer, self.deadletter.qualified(self.prefix) if self.deadletter else None, self.sub.name, dead)


async def send_deadletters(producer: Any, topic: str | None, consumer: str, dead: list[tuple[Any, str]]) -> None:
    """Copy poison messages to the dead-letter topic with the reason, the consumer and the origin in headers;
    wait for the acks (callers do this before committing the batch that skips them)."""
    if producer is None or topic is None:
        for msg, reason in dead:
            log.error("dropping poison message %s[%s]@%s: %s", msg.topic, msg.partition, msg.offset, reason)
        return
    futures = []
    for msg, reason in dead:
        headers = list(msg.headers or ()) + [
            ("dlq_reason", reason[:2000].encode()),
            ("dlq_consumer", consumer.encode()),
            ("dlq_origin", f"{msg.topic}/{msg.partition}/{msg.offset}".encode()),
        ]
        log.warning("dead-lettering %s[%s]@%s: %s", msg.topic, msg.partition, msg.offset, reason)
        futures.append(await producer.send(topic, value=msg.value, key=msg.key, headers=headers))
    await asyncio.gather(*futures)


async def purge_inbox(sessions: async_sessionmaker[AsyncSession], schema: str, older_than_days: int = 14) -> None:
    async with sessions() as session, session.begin():
        await session.execute(text(f"DELETE FROM {schema}.inbox WHERE processed_at < now() - make_interval(days => :d)"), {"d": older_than_days})


class ConsumerWorker:
    """A consumer process's worker: its own engine and a ConsumerRunner (what `agora consume` runs)."""

    def __init__(self, settings: Any, schema: str, subscription: Subscription, deadletter: Topic | None) -> None:
        from services.kit.db import make_engine, make_sessions

        self.engine = make_engine(settings, schema, pool_size=2)
        self.runner = ConsumerRunner(
            subscription=subscription, sessions=make_sessions(self.engine), schema=schema,
            bootstrap_servers=settings.kafka_bootstrap_servers, topic_prefix=settings.topic_prefix, deadletter=deadletter,
            session_timeout_ms=settings.kafka_session_timeout_ms,
        )

    @property
    def ready(self) -> bool:
        return self.runner.ready

    async def run(self, stop: asyncio.Event) -> None:
        await self.runner.run(stop)

    async def close(self) -> None:
        await self.engine.dispose()
