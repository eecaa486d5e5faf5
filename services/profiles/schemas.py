"""Profiles' request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from services.kit.web import Model

Handle = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{3,30}$")]
Password = Annotated[str, Field(min_length=10, max_length=128)]


class AccountCreate(Model):
    email: Annotated[EmailStr, Field(max_length=254)]
    handle: Handle = Field(description="3-30 letters, digits or underscores; unique, case-insensitive")
    password: Password = Field(description="10-128 characters")


class AccountRead(BaseModel):
    id: uuid.UUID
    email: str
    handle: str
    created_at: datetime
