"""The gateway's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.config import Settings
from gateway.proxy import router
from gateway.upstreams import upstreams
from services.kit.settings import load_settings
from services.kit.web import build_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings(Settings)
    return build_app(
        settings=settings,
        schema=None,
        title="Agora API",
        description="The one API for Agora's client apps: networking (profiles, connections, introductions) and sharing (posts, comments, votes).",
        routers=[router],
        extensions=[upstreams],
    )
