"""Voting's composition root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.kit.settings import load_settings
from services.kit.web import build_app
from services.voting import service
from services.voting.api import moderation, router
from services.voting.config import SCHEMA, Settings


@asynccontextmanager
async def vote_intake(app: FastAPI) -> AsyncIterator[None]:
    app.state.vote_intake = service.vote_intake(app.state.pool)
    yield


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings(Settings)
    return build_app(
        settings=settings,
        schema=SCHEMA,
        title="Agora voting",
        description="Votes on posts and comments, tallies, and explained anti-manipulation decisions.",
        routers=[router, moderation],
        asyncpg_pool=True,  # the vote intake's statements (repository.Casting)
        extensions=[vote_intake],
    )
