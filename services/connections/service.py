"""Connections' rules: following."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.connections import events
from services.connections.models import Follow, outbox as outbox_rows
from services.connections.repository import Graph
from services.kit.errors import NotFound, Unprocessable
from services.kit.outbox import Outbox

outbox = Outbox(outbox_rows, source="agora/connections")


async def follow(session: AsyncSession, follower: uuid.UUID, followee: uuid.UUID) -> tuple[Follow, bool]:
    """Follow a member; returns the follow and whether it is new. Following twice changes nothing."""
    if follower == followee:
        raise Unprocessable("you cannot follow yourself", code="self_follow")
    graph = Graph(session)
    if not await graph.member_exists(followee):
        raise NotFound(f"member {followee} not found", code="member_not_found")
    created = await graph.add_follow(follower, followee)
    if created is None:
        existing = await graph.get_follow(follower, followee)
        assert existing is not None
        return existing, False
    await outbox.publish(
        session, events.FOLLOWED,
        events.MemberFollowed(follower_id=follower, followee_id=followee, followed_at=created.created_at),
        key=str(follower), subject=str(followee),
    )
    return created, True
