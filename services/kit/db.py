"""Database plumbing: one async engine per process, one session per request or per consumed batch.

Each service owns one PostgreSQL schema. Its engine sets `search_path` to that schema, every table is
declared in it, and constraint names follow one convention so migrations are stable.
"""

from __future__ import annotations

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
