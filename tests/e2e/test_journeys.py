"""The member journeys of both halves of the product, end to end through the gateway on the running system.

Networking: register → profile → invite → accept → ask for an introduction → the introducer forwards it →
the target accepts → connected, with a conversation opened by the introducer's note; the requester hears
each step on their `me` stream.
Sharing: post → comment → vote → scores reach the feed and the post page → the author hears the tally on
their stream and finds the comment among their notifications."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import wait_until
from tests.e2e.members import connect, member
from tests.integration.gateway.sse import Stream, open_stream


async def _until(stream: Stream, event_type: str, timeout: float = 30) -> dict[str, Any]:
    """The data of the next `event_type` event on the stream (other events pass by)."""
    while True:
        (e,) = await stream.events(1, timeout=timeout)
        if e.event == event_type:
            return e.data["data"]  # type: ignore[no-any-return]


async def test_networking_journey_register_profile_invite_accept_introduction(system: Any, unique: str) -> None:
    gw = system.gateway
    async with httpx.AsyncClient(base_url=gw, timeout=15) as client:
        ann, ben, cat = [await member(client, f"{n}_{unique}") for n in ("ann", "ben", "cat")]
        r = await client.patch("/v1/profiles/me", headers=ann[1], json={"display_name": "Ann", "headline": "Looking for a co-founder",
                                                                         "visibility": {"headline": "connections"}})
        assert r.status_code == 200, r.text
        await connect(client, ann, ben)
        await connect(client, ben, cat)

        async with open_stream(f"{gw}/v1/streams/me", headers=ann[1]) as ann_stream:
            assert (await ann_stream.next()).event == "ready"
            # Ann and Cat are 2nd degree through Ben; Ann asks Ben for an introduction.
            degree = (await client.get(f"/v1/degrees/{cat[0]}", headers=ann[1])).json()
            assert degree["degree"] == 2 and [m["member_id"] for m in degree["mutuals"]] == [str(ben[0])]
            r = await client.post("/v1/introductions", headers=ann[1], json={
                "introducer_id": str(ben[0]), "target_id": str(cat[0]), "message": "Cat builds what I need"})
            assert r.status_code == 201, r.text
            intro = r.json()["introduction_id"]
            r = await client.post(f"/v1/introductions/{intro}/forward", headers=ben[1], json={"note": "Cat, meet Ann: you two should talk"})
            assert r.status_code == 200, r.text
            assert (await _until(ann_stream, "introduction.forwarded"))["introduction_id"] == intro
            r = await client.post(f"/v1/introductions/{intro}/accept", headers=cat[1])
            assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
            assert (await _until(ann_stream, "introduction.accepted"))["introduction_id"] == intro
            made = await _until(ann_stream, "connection.made")
            assert {made["a_id"], made["b_id"]} == {str(ann[0]), str(cat[0])} and made["provenance"] == "introduction"

        degree = (await client.get(f"/v1/degrees/{cat[0]}", headers=ann[1])).json()
        assert degree["degree"] == 1
        # The introduction opened a conversation between Ann and Cat, the introducer's note first.
        conversations = (await client.get("/v1/conversations", headers=cat[1])).json()["items"]
        opened = next(c for c in conversations if c["origin"] == "introduction")
        assert set(opened["member_ids"]) == {str(ann[0]), str(cat[0])}
        messages = (await client.get(f"/v1/conversations/{opened['conversation_id']}/messages", headers=ann[1])).json()["items"]
        assert "Cat, meet Ann" in messages[0]["body"]

        # Now connected, Cat reads Ann's connections-only headline (profiles learns it from the event).
        async def sees_headline() -> bool:
            view = (await client.get(f"/v1/views/members/{ann[0]}", headers=cat[1])).json()
            return view["profile"]["headline"] == "Looking for a co-founder" and view["profile"]["relation"] == "connection"

        await wait_until(sees_headline, timeout=30)


async def test_sharing_journey_post_comment_vote_scores_feed_and_notifications(system: Any, unique: str) -> None:
    gw = system.gateway
    topic = f"journey-{unique[:8]}"
    async with httpx.AsyncClient(base_url=gw, timeout=15) as client:
        ann, ben, cat = [await member(client, f"{n}s_{unique}") for n in ("ann", "ben", "cat")]
        async with open_stream(f"{gw}/v1/streams/me", headers=ann[1]) as ann_stream:
            assert (await ann_stream.next()).event == "ready"
            r = await client.post("/v1/posts", headers=ann[1], json={"kind": "article", "title": f"Crowds decide {unique}",
                                                                   "body": "What should we build?", "topics": [topic]})
            assert r.status_code == 201, r.text
            post = r.json()["id"]
            r = await client.post(f"/v1/posts/{post}/comments", headers=ben[1], json={"body": "A search that understands people"})
            assert r.status_code == 201, r.text
            comment = r.json()["id"]

            async def votable() -> bool:
                return (await client.get(f"/v1/tallies/{post}")).status_code == 200

            await wait_until(votable, timeout=30)
            for voter in (ben, cat):
                r = await client.post("/v1/votes", headers=voter[1], json={"target_id": post, "value": 1})
                assert r.status_code == 202, r.text

            tally = await _until(ann_stream, "tally.updated", timeout=60)
            while tally["ups"] < 2:
                tally = await _until(ann_stream, "tally.updated", timeout=60)
            assert (tally["target_id"], tally["author_id"], tally["score"]) == (post, str(ann[0]), 2)

        async def in_feed() -> dict[str, Any] | None:  # content's copy of the tally ranks the topic feed
            items = (await client.get(f"/v1/topics/{topic}/posts", params={"sort": "top", "window": "day"})).json()["items"]
            return items[0] if items and items[0]["score"] == 2 else None

        assert (await wait_until(in_feed, timeout=60))["id"] == post
        page = (await client.get(f"/v1/views/posts/{post}", headers=cat[1])).json()
        assert page["scores"]["score"] == 2 and page["my_vote"] == 1 and page["comments"][0]["id"] == comment
        home = (await client.get("/v1/views/home", params={"feed": "topic", "topic": topic}, headers=ben[1])).json()
        assert home["items"][0]["post"]["id"] == post and home["items"][0]["my_vote"] == 1
        notes = (await client.get("/v1/views/notifications", headers=ann[1])).json()
        assert [r["id"] for r in notes["replies"]] == [comment] and notes["authors"][str(ben[0])]["handle"] == f"bens_{unique}"
