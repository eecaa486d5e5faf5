"""Asking for votes is caught, end to end: the author links a post in a message to their connections
(connections service → message.post_linked → voting's context), the recipients vote, and voting marks
those votes solicited — told to the author as a summary and to moderators with the voters."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import wait_until
from tests.e2e.members import connect, member


async def test_a_post_link_sent_to_connections_then_their_votes_are_marked_solicited(system: Any, issuer: Any, unique: str) -> None:
    async with httpx.AsyncClient(base_url=system.gateway, timeout=15) as client:
        members = [await member(client, f"sol{i}_{unique}") for i in range(4)]
        (author, _), (b, _), (c, _), (stranger, _) = members
        h = dict(members)
        for friend in (b, c):
            await connect(client, (author, h[author]), (friend, h[friend]))
        r = await client.post("/v1/posts", json={"kind": "question", "title": f"Worth a vote {unique}?", "topics": ["asks"]}, headers=h[author])
        assert r.status_code == 201, r.text
        post = r.json()["id"]

        async def votable() -> bool:
            return (await client.get(f"/v1/tallies/{post}")).status_code == 200

        await wait_until(votable, timeout=30)
        r = await client.post("/v1/conversations", json={"member_ids": [str(b), str(c)], "title": "friends",
                                                          "body": f"please upvote agora://posts/{post} thanks!"}, headers=h[author])
        assert r.status_code == 201, r.text
        for voter in (b, c, stranger):
            r = await client.post("/v1/votes", json={"target_id": post, "value": 1}, headers=h[voter])
            assert r.status_code == 202, r.text

        async def explained() -> dict[str, Any] | None:
            s = (await client.get(f"/v1/tallies/{post}/summary", headers=h[author])).json()
            return s if s["votes"] == 3 and any(x["code"] == "solicited_message" for x in s["reasons"]) else None

        s = await wait_until(explained, timeout=60)
        # (All three vote from one address here, the test's: shared origin and probation discount them too.)
        assert {"code": "solicited_message", "votes": 2} in [{"code": x["code"], "votes": x["votes"]} for x in s["reasons"]]
        assert s["summary"].startswith("3 votes, 3 not counted: ")
        assert str(b) not in str(s)  # the author learns counts, never who
        t = (await client.get(f"/v1/tallies/{post}")).json()
        assert (t["ups"], t["score"]) == (3, 3) and t["trusted_score"] < 3

        mod = issuer.headers(uuid.uuid4(), scope="moderation")
        r = await client.get("/v1/moderation/decisions", params={"target_id": post}, headers=mod)
        assert r.status_code == 200, r.text
        reasons = {d["voter_id"]: d["reasons"] for d in r.json()["decisions"]}
        assert "solicited_message" in reasons[str(b)] and "solicited_message" in reasons[str(c)]
        assert "solicited_message" not in reasons[str(stranger)]
        r = await client.get("/v1/moderation/decisions", params={"target_id": post}, headers=h[author])
        assert r.status_code == 403
