"""Alembic, the same way for every service: one schema, one migrations folder, one version table in it.

A service's `migrations/env.py` is three lines: it hands its metadata and schema to `run_env()`.
`upgrade()` applies a service's migrations programmatically (used by `agora migrate` and the tests).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(migrations_dir: Path, database_url: str, schema: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", "postgresql+asyncpg://" + database_url.split("://", 1)[1])
    cfg.attributes["schema"] = schema
    return cfg


def upgrade(migrations_dir: Path, database_url: str, schema: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(migrations_dir, database_url, schema), revision)


def run_env(metadata: MetaData) -> None:
    """Body of every service's env.py (online mode only: migrations run against a live database)."""
    cfg = context.config
    schema = cfg.attributes["schema"]

    def do_run(connection: Connection) -> None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.execute(text(f'SET search_path TO "{schema}", public'))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=False,
            compare_type=True,
        )
        with context.begin_transaction():
            # Serialise concurrent `agora migrate` runs (several pods starting at once).
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": f"agora-migrate-{schema}"})
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(cfg.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(do_run)
            await conn.commit()
        await engine.dispose()

    asyncio.run(run())


def create_kit_tables(op: object, schema: str) -> None:
    """Version 1 of the kernel's tables in a service schema: outbox (+ commit-time NOTIFY), inbox, consumer offsets.

    Called from each service's first migration. If the kernel's tables ever change, add a
    `upgrade_kit_tables_v2()` and call it from a new migration in every service — never edit this one.
    """
    from services.kit.consumer import inbox_table, offsets_table
    from services.kit.db import schema_metadata
    from services.kit.outbox import install_sql, outbox_table

    md = schema_metadata(schema)
    bind = op.get_bind()  # type: ignore[attr-defined]
    for table in (outbox_table(md), inbox_table(md), offsets_table(md)):
        table.create(bind)
    for statement in install_sql(schema):
        op.execute(statement)  # type: ignore[attr-defined]
