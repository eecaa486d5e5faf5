"""Connections' HTTP routes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.connections import service
from services.connections.schemas import FollowRead
from services.kit.auth import Principal
from services.kit.web import current_member, error_responses, session

router = APIRouter(prefix="/v1", tags=["follows"])


@router.put("/follows/{member_id}", response_model=FollowRead, status_code=201, responses={200: {"model": FollowRead, "description": "Already following"}, **error_responses(401, 404, 422)})
async def follow(member_id: uuid.UUID, response: Response, me: Principal = current_member, db: AsyncSession = session) -> FollowRead:
    """Follow a member's content without a connection. Idempotent: 201 when new, 200 when already following."""
    row, created = await service.follow(db, me.member_id, member_id)
    response.status_code = 201 if created else 200
    return FollowRead.model_validate(row, from_attributes=True)
