"""How conversation events reach members' `me` streams: mute and membership changes (gateway/streams/channels)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson

from gateway.streams.channels import routes, streamed_data
from gateway.streams.hub import Incoming
from services.kit.events import CloudEvent


def test_a_muted_recipient_is_left_out_of_message_events_but_their_own_devices_still_hear_them() -> None:
    sender, muted, loud, stranger = (str(uuid.uuid4()) for _ in range(4))
    data = {"sender_id": sender, "recipient_ids": [muted, loud], "muted_ids": [muted], "conversation_id": str(uuid.uuid4())}
    for t in ("message.sent", "message.edited", "message.deleted"):
        assert sorted(k for _, k in routes("agora.conversations", t, data)) == sorted([sender, loud])
    read = {"member_id": muted, "recipient_ids": [sender, loud], "muted_ids": [loud]}
    assert sorted(k for _, k in routes("agora.conversations", "message.read", read)) == sorted([muted, sender])
    # A muting member's own actions still reach their other devices (they are the actor, never in muted_ids).
    own = {"sender_id": muted, "recipient_ids": [sender, loud], "muted_ids": []}
    assert muted in [k for _, k in routes("agora.conversations", "message.sent", own)]
    assert stranger not in [k for _, k in routes("agora.conversations", "message.sent", data)]


def test_muted_ids_are_never_streamed() -> None:
    data = {"sender_id": "a", "recipient_ids": ["b", "c"], "muted_ids": ["c"]}
    assert streamed_data(data) == {"sender_id": "a", "recipient_ids": ["b", "c"]}
    assert streamed_data({"x": 1}) == {"x": 1}
    event = CloudEvent(id=str(uuid.uuid4()), source="agora/connections", type="message.sent", subject="s", time=datetime.now(UTC),
                       data=data)
    assert b"muted_ids" not in Incoming(event).json() and orjson.loads(Incoming(event).json())["data"]["recipient_ids"] == ["b", "c"]


def test_membership_changes_reach_the_actor_and_the_members() -> None:
    actor, old, new, bystander = (str(uuid.uuid4()) for _ in range(4))
    added = {"conversation_id": "c", "added_by": actor, "member_ids": [new], "recipient_ids": [old, new], "at": "t"}
    assert sorted(k for _, k in routes("agora.conversations", "conversation.members_added", added)) == sorted([actor, old, new])
    left = {"conversation_id": "c", "member_id": actor, "recipient_ids": [old], "at": "t"}
    assert sorted(k for _, k in routes("agora.conversations", "conversation.member_left", left)) == sorted([actor, old])
    assert bystander not in [k for _, k in routes("agora.conversations", "conversation.members_added", added)]
