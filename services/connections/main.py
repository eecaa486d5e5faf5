"""Connections' composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.connections.api import router
from services.connections.config import SCHEMA, Settings
from services.connections.conversations.api import router as conversations_router
from services.kit.settings import load_settings
from services.kit.web import build_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings(Settings)
    return build_app(
        settings=settings,
        schema=SCHEMA,
        title="Agora connections",
        description="The social graph: invitations, connections, follows, blocks, introductions, suggestions, conversations.",
        routers=[router, conversations_router],
    )
