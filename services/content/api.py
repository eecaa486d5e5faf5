"""Content's HTTP routes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from services.content import service
from services.content.schemas import PostCreate, PostRead
from services.kit.auth import Principal
from services.kit.web import current_member, error_responses, session

router = APIRouter(prefix="/v1", tags=["posts"])


@router.post("/posts", status_code=201, response_model=PostRead, responses=error_responses(400, 401, 413, 422))
async def create_post(body: PostCreate, me: Principal = current_member, db: AsyncSession = session) -> PostRead:
    """Publish a post (article, link, video, news, question, joke) under 1-5 topics."""
    post = await service.create_post(db, me.member_id, body)
    return PostRead.model_validate(post, from_attributes=True)


@router.get("/posts/{post_id}", response_model=PostRead, responses=error_responses(404, 422))
async def get_post(post_id: uuid.UUID, db: AsyncSession = session) -> PostRead:
    return PostRead.model_validate(await service.get_post(db, post_id), from_attributes=True)
