"""Conversations end to end through the gateway: a message one member sends arrives on the other's `me` stream
(connections → outbox relay → Kafka → gateway stream) as metadata without its text, and on nobody else's —
not a bystander's, not a member's who muted the conversation; a member added to a group hears of it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.e2e.members import connect, member
from tests.integration.gateway.sse import Event, Stream, open_stream

CONVERSATION_EVENTS = ("message.", "message_request.", "conversation.")


async def _next_conversation_event(stream: Stream, timeout: float = 30) -> Event:
    """The next conversation event on a `me` stream (the connection events of the set-up may still trickle in)."""
    while True:
        (e,) = await stream.events(1, timeout=timeout)
        if e.event.startswith(CONVERSATION_EVENTS):
            return e


async def test_a_message_reaches_the_recipients_stream_only_as_metadata(system: Any, unique: str) -> None:
    gw = system.gateway
    async with httpx.AsyncClient(base_url=gw, timeout=15) as client:
        a, b, c, d = [await member(client, f"dm{i}_{unique}") for i in range(4)]
        for other in (b, c, d):
            await connect(client, a, other)
        async with (open_stream(f"{gw}/v1/streams/me", headers=b[1]) as b_stream,
                    open_stream(f"{gw}/v1/streams/me", headers=c[1]) as c_stream,
                    open_stream(f"{gw}/v1/streams/me", headers=d[1]) as d_stream):
            for s in (b_stream, c_stream, d_stream):
                assert (await s.next()).event == "ready"
            secret = f"the secret plan {unique}"
            r = await client.post("/v1/conversations", json={"member_ids": [str(b[0])], "body": secret}, headers=a[1])
            assert r.status_code == 201, r.text
            direct, message_id = r.json()["conversation"]["conversation_id"], r.json()["message"]["message_id"]

            got = await _next_conversation_event(b_stream)
            assert got.event == "message.sent"
            assert got.data["data"]["conversation_id"] == direct and got.data["data"]["message_id"] == message_id
            assert got.data["data"]["sender_id"] == str(a[0]) and got.data["data"]["recipient_ids"] == [str(b[0])]
            assert "body" not in got.data["data"] and secret not in str(got.data) and "muted_ids" not in got.data["data"]

            # A group of a, b and d; d mutes it: a's message reaches b, not d.
            r = await client.post("/v1/conversations", json={"member_ids": [str(b[0]), str(d[0])], "body": "group", "title": "trio"},
                                  headers=a[1])
            assert r.status_code == 201, r.text
            group = r.json()["conversation"]["conversation_id"]
            assert (await _next_conversation_event(b_stream)).data["data"]["conversation_id"] == group
            assert (await _next_conversation_event(d_stream)).data["data"]["conversation_id"] == group
            assert (await client.put(f"/v1/conversations/{group}/mute", headers=d[1])).status_code == 204
            r = await client.post(f"/v1/conversations/{group}/messages", json={"body": "d muted this"}, headers=a[1])
            assert r.status_code == 201, r.text
            muted_message = r.json()["message_id"]
            got = await _next_conversation_event(b_stream)
            assert got.data["data"]["message_id"] == muted_message
            assert sorted(got.data["data"]["recipient_ids"]) == sorted([str(b[0]), str(d[0])]) and "muted_ids" not in got.data["data"]

            # a adds c to the group: c and the members hear of it. b has already received the direct message and the
            # muted one, so the gateway has fanned them out: had they been routed to c or d, they would come first.
            r = await client.post(f"/v1/conversations/{group}/members", json={"member_ids": [str(c[0])]}, headers=a[1])
            assert r.status_code == 200, r.text
            for s in (c_stream, d_stream, b_stream):
                got = await _next_conversation_event(s)
                assert got.event == "conversation.members_added", got
                assert got.data["data"]["member_ids"] == [str(c[0])] and got.data["data"]["added_by"] == str(a[0])
