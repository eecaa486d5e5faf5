"""Request bodies are strict: unknown fields, oversize or control-character text are refused before any rule runs."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from services.connections.schemas import IntroductionCreate, IntroductionForward, InvitationCreate


def test_invitation_note_is_trimmed_and_limited() -> None:
    to = uuid.uuid4()
    assert InvitationCreate(to_id=to, note="  hi there \n").note == "hi there"
    assert InvitationCreate(to_id=to, note="x" * 300).note == "x" * 300
    for bad in ("x" * 301, "nul\x00", "bell\x07"):
        with pytest.raises(ValidationError):
            InvitationCreate(to_id=to, note=bad)
    with pytest.raises(ValidationError):
        InvitationCreate.model_validate({"to_id": str(to), "message": "unknown field"})
    with pytest.raises(ValidationError):
        InvitationCreate.model_validate({"to_id": "42"})


def test_introduction_message_is_required_and_not_blank() -> None:
    ids = {"introducer_id": uuid.uuid4(), "target_id": uuid.uuid4()}
    assert IntroductionCreate(**ids, message=" hello ").message == "hello"
    for bad in ("", "   ", "x" * 501):
        with pytest.raises(ValidationError):
            IntroductionCreate(**ids, message=bad)
    assert IntroductionForward().note is None
