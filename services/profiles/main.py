"""Profiles' composition root: the app, its signing keys, its password hasher."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from services.kit.auth import TokenVerifier
from services.kit.settings import load_settings
from services.kit.web import build_app
from services.profiles.api import keys_router, router
from services.profiles.config import SCHEMA, Settings
from services.profiles.keys import KeyRing
from services.profiles.service import Identity

log = logging.getLogger("agora.profiles")


class KeyRingVerifier(TokenVerifier):
    """Profiles verifies the tokens it issues against its own key ring, not over HTTP to itself."""

    def __init__(self, ring: KeyRing) -> None:
        super().__init__("keyring:", min_refresh_seconds=ring.reload_interval)
        self.ring = ring

    async def _fetch(self) -> dict[str, Any]:
        return self.ring.public_jwks()

    async def key_for(self, kid: str) -> Any:
        # Local and cheap: an unknown kid may be another replica's freshly rotated key, so look at the file now.
        if self.ring.reload_if_changed(now=kid not in self._keys) or kid not in self._keys:
            await self.refresh(force=True)
        return await super().key_for(kid)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings(Settings)

    @asynccontextmanager
    async def identity(app: FastAPI) -> AsyncIterator[None]:
        ring = KeyRing.from_file(settings.signing_keys_file) if settings.signing_keys_file else None
        if ring is None:
            log.warning("PROFILES_SIGNING_KEYS_FILE is not set: sign-in and refresh answer 503")
        else:
            app.state.verifier = KeyRingVerifier(ring)
        app.state.identity = await Identity.create(settings, ring)
        yield

    return build_app(
        settings=settings,
        schema=SCHEMA,
        title="Agora profiles",
        description="Accounts, authentication, profiles with visibility, and trust signals.",
        routers=[router, keys_router],
        extensions=[identity],
    )
