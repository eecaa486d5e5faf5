"""Content's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.content.api import router
from services.content.config import SCHEMA, Settings
from services.kit.settings import load_settings
from services.kit.web import build_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings(Settings)
    return build_app(
        settings=settings,
        schema=SCHEMA,
        title="Agora content",
        description="Posts, topics, comment trees, shares and ranked feeds.",
        routers=[router],
    )
