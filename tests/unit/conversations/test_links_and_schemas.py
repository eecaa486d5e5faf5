"""Post links in message text, message-page cursors and request bodies: no I/O."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from services.connections.conversations.links import MAX_LINKED_POSTS, linked_post_ids
from services.connections.conversations.schemas import ConversationCreate, MessageCreate, ReportCreate, decode_cursor, encode_cursor
from services.kit.errors import Unprocessable

P = uuid.UUID("0b6c1c8e-2f3a-4e0c-9a57-6f1d2b3c4d5e")
Q = uuid.UUID("1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d")


@pytest.mark.parametrize("text", [
    f"https://agora.example/posts/{P}",
    f"look: http://localhost:8000/posts/{P}/comments?x=1#top",
    f"(https://agora.example/posts/{str(P).upper()})",
    f"agora://posts/{P}.",
    f"HTTPS://Agora.Example/posts/{P}, thanks",
])
def test_recognised_post_links(text: str) -> None:
    assert linked_post_ids(text) == [P]


@pytest.mark.parametrize("text", [
    f"https://agora.example/users/{P}",
    f"https://agora.example/api/posts/{P}",
    f"https://agora.example/posts/{str(P)[:-1]}",
    f"https://agora.example/posts/{P}0",
    f"https://agora.example/posts/{P.hex}",
    f"agora://comments/{P}",
    f"see post {P}",
    f"xhttps://agora.example/posts/{P}",
])
def test_not_post_links(text: str) -> None:
    assert linked_post_ids(text) == []


def test_links_in_order_without_repeats_and_capped() -> None:
    assert linked_post_ids(f"agora://posts/{Q} https://a.b/posts/{P} agora://posts/{Q}") == [Q, P]
    many = " ".join(f"agora://posts/{uuid.uuid4()}" for _ in range(MAX_LINKED_POSTS + 5))
    assert len(linked_post_ids(many)) == MAX_LINKED_POSTS


def test_message_cursors_round_trip_and_refuse_garbage() -> None:
    assert decode_cursor(encode_cursor("before", 7)) == (7, None)
    assert decode_cursor(encode_cursor("after", 0)) == (None, 0)
    assert decode_cursor(None) == (None, None)
    for bad in ("", "!!!", "WyJiIiwtMV0", "WyJiIiwidiJd", "WyJiIix0cnVlXQ"):  # ["b",-1], ["b","v"], ["b",true]
        with pytest.raises(Unprocessable):
            decode_cursor(bad)


def test_message_bodies_are_trimmed_bounded_and_strict() -> None:
    assert MessageCreate(body="  hi \n").body == "hi"
    assert len(MessageCreate(body="x" * 4000).body) == 4000
    for bad in ("", "   ", "x" * 4001, "nul\x00", "esc\x1b"):
        with pytest.raises(ValidationError):
            MessageCreate(body=bad)
    with pytest.raises(ValidationError):
        MessageCreate.model_validate({"body": "hi", "sender_id": str(P)})
    with pytest.raises(ValidationError):
        ConversationCreate(member_ids=[], body="hi")
    with pytest.raises(ValidationError):
        ReportCreate.model_validate({"reason": "meh"})
