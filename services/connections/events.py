"""What connections publishes (topic agora.connections, key = the acting member's id)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from services.catalog import CONNECTIONS
from services.kit.events import EventType


class MemberFollowed(BaseModel):
    follower_id: uuid.UUID
    followee_id: uuid.UUID
    followed_at: datetime


FOLLOWED = EventType("member.followed", CONNECTIONS, MemberFollowed, "A member started following another (one-way).")

PUBLISHED = [FOLLOWED]
