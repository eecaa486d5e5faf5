"""Database plumbing: one async engine per process, one session per request or per consumed batch.

Each service owns one PostgreSQL schema. Its engine sets `search_path` to that schema, every table is
declared in it, and constraint names follow one convention so migrations are stable.

A service may also open a plain asyncpg pool (`make_pool`) for its measured hot paths: one statement on
a pooled connection costs a fraction of the same statement through SQLAlchemy's async layer (no session,
no greenlet, no pre-ping round trip; asyncpg keeps the statement prepared per connection).
"""

from __future__ import annotations

import asyncpg
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from services.kit.settings import ServiceSettings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata(schema: str) -> MetaData:
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def make_engine(settings: ServiceSettings, schema: str, *, pool_size: int | None = None) -> AsyncEngine:
    return create_async_engine(
        settings.sqlalchemy_url,
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": f"agora-{settings.service_name}", "search_path": f"{schema},public"}},
    )


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def _keep_session_state(conn: asyncpg.Connection) -> None:
    """Pool reset for hot-path connections: they run single statements and change no session state, so
    asyncpg's default reset (RESET ALL, UNLISTEN, CLOSE ALL: a round trip per release) is skipped; an open
    transaction is still rolled back by the pool before this runs."""


async def make_pool(settings: ServiceSettings, schema: str, *, max_size: int | None = None) -> asyncpg.Pool:
    """asyncpg pool on the service's schema. Connects lazily (min_size 0), like the engine: a database that
    is down at start-up shows in /readyz, it does not stop the process."""
    return await asyncpg.create_pool(
        settings.database_url,
        min_size=0,
        max_size=max_size or settings.db_pool_size,
        reset=_keep_session_state,
        server_settings={"application_name": f"agora-{settings.service_name}", "search_path": f"{schema},public"},
    )
