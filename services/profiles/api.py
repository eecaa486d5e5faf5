"""Profiles' HTTP routes: thin, the rules live in service.py."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.web import error_responses, session
from services.profiles import service
from services.profiles.schemas import AccountCreate, AccountRead

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.post("/accounts", status_code=201, response_model=AccountRead, responses=error_responses(400, 409, 413, 422))
async def register(body: AccountCreate, db: AsyncSession = session) -> AccountRead:
    """Create a member account. Emails and handles are unique, compared case-insensitively."""
    account = await service.register(db, body)
    return AccountRead.model_validate(account, from_attributes=True)
