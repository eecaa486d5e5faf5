"""Profiles' rules: registration."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import Conflict
from services.kit.outbox import Outbox
from services.profiles import events
from services.profiles.models import Account, outbox as outbox_rows
from services.profiles.repository import Accounts
from services.profiles.schemas import AccountCreate

hasher = PasswordHasher()  # argon2id with the library's recommended parameters
outbox = Outbox(outbox_rows, source="agora/profiles")


async def register(session: AsyncSession, data: AccountCreate) -> Account:
    accounts = Accounts(session)
    email = data.email.strip()
    if await accounts.email_taken(email):
        raise Conflict("an account with this email already exists", code="email_taken")
    if await accounts.handle_taken(data.handle):
        raise Conflict("this handle is taken", code="handle_taken")
    password_hash = await asyncio.to_thread(hasher.hash, data.password)  # ~50 ms of CPU: off the event loop
    try:
        account = await accounts.add(Account(email=email, handle=data.handle, password_hash=password_hash))
    except IntegrityError:
        raise Conflict("an account with this email or handle already exists", code="account_exists") from None
    await outbox.publish(
        session,
        events.REGISTERED,
        events.ProfileRegistered(member_id=account.id, handle=account.handle, registered_at=account.created_at),
        key=str(account.id),
        subject=str(account.id),
    )
    return account
