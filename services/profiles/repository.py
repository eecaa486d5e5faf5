"""Profiles' data access: adds and queries, never commits (the request boundary does)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles.models import Account


class Accounts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, account: Account) -> Account:
        self.session.add(account)
        await self.session.flush()
        return account

    async def email_taken(self, email: str) -> bool:
        return (await self.session.scalar(select(Account.id).where(func.lower(Account.email) == email.lower()))) is not None

    async def handle_taken(self, handle: str) -> bool:
        return (await self.session.scalar(select(Account.id).where(func.lower(Account.handle) == handle.lower()))) is not None
