"""What profiles publishes (topic agora.profiles, key = member id)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from services.catalog import PROFILES
from services.kit.events import EventType


class ProfileRegistered(BaseModel):
    member_id: uuid.UUID
    handle: str
    registered_at: datetime


REGISTERED = EventType("profile.registered", PROFILES, ProfileRegistered, "A member account was created.")

PUBLISHED = [REGISTERED]
