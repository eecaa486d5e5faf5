"""A deliberately non-idempotent consumer for the kernel's delivery tests.

Schema `kit_probe` holds the kernel's outbox/inbox/offsets and `applied`, to which the handler APPENDS a
row per event it is given: any event applied twice shows up as a duplicate row. Run as a process:

    python -m tests.support.counting relay      # the kernel's OutboxRelay on kit_probe
    python -m tests.support.counting consume    # the kernel's ConsumerRunner applying probe.counted events
Environment: DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, AGORA_TOPIC_PREFIX, AGORA_HEALTH_PORT.
"""

from __future__ import annotations

import asyncio
import sys
from typing import ClassVar

import asyncpg
from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateIndex, CreateTable

from services.kit.consumer import ConsumerWorker, Subscription, inbox_table, offsets_table
from services.kit.db import schema_metadata
from services.kit.events import CloudEvent, EventType
from services.kit.outbox import Outbox, OutboxRelay, install_sql, outbox_table
from services.kit.settings import ServiceSettings, load_settings
from services.kit.topics import Topic
from services.kit.worker import run_worker

SCHEMA = "kit_probe"
PROBE = Topic("kit.probe", 3, "probe key", "Test topic of the kernel's delivery tests.")
DEADLETTER = Topic("kit.probe.deadletter", 1, "original key", "Dead letters of the probe consumer.")
metadata = schema_metadata(SCHEMA)
outbox_rows = outbox_table(metadata)
outbox = Outbox(outbox_rows, source="agora/tests")


class Counted(BaseModel):
    n: int
    batch: str


COUNTED = EventType("probe.counted", PROBE, Counted, "A probe event.")


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROBE_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "probe"


async def install(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", SCHEMA):
            return
        await conn.execute(f"CREATE SCHEMA {SCHEMA}")
        for table in (outbox_rows, inbox_table(metadata), offsets_table(metadata)):
            await conn.execute(str(CreateTable(table).compile(dialect=postgresql.dialect())))
            for index in table.indexes:
                await conn.execute(str(CreateIndex(index).compile(dialect=postgresql.dialect())))
        for statement in install_sql(SCHEMA):
            await conn.execute(statement)
        await conn.execute(f"CREATE TABLE {SCHEMA}.applied (seq bigserial PRIMARY KEY, event_id text NOT NULL, batch text NOT NULL, n int NOT NULL)")
    finally:
        await conn.close()


async def on_counted(session: AsyncSession, event: CloudEvent) -> None:
    data = Counted.model_validate(event.data)
    await session.execute(
        text(f"INSERT INTO {SCHEMA}.applied (event_id, batch, n) VALUES (:e, :b, :n)"), {"e": event.id, "b": data.batch, "n": data.n}
    )


SUBSCRIPTION = Subscription(name="probe.counter", topics=[PROBE], handlers={"probe.counted": on_counted})


def main() -> None:
    import uvloop

    settings = load_settings(Settings)
    if sys.argv[1] == "relay":
        relay = OutboxRelay(database_url=settings.database_url, schema=SCHEMA, bootstrap_servers=settings.kafka_bootstrap_servers,
                            topic_prefix=settings.topic_prefix, batch_size=int(sys.argv[2]) if len(sys.argv) > 2 else 200)
        uvloop.run(run_worker(settings, relay.run, lambda: relay.ready))
    else:
        async def consume() -> None:
            worker = ConsumerWorker(settings, SCHEMA, SUBSCRIPTION, DEADLETTER)
            worker.runner.batch_size = int(sys.argv[2]) if len(sys.argv) > 2 else 100
            try:
                await run_worker(settings, worker.run, lambda: worker.ready)
            finally:
                await worker.close()

        uvloop.run(consume())


if __name__ == "__main__":
    main()
