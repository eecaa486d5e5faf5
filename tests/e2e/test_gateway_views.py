"""The aggregated views on the running system: two members connect, one posts, the other votes, and the
home feed, the post page and the member page show it all — the tally from voting's consumer, the vote as
tallied, the connection as profiles and connections learnt it from Kafka."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import wait_until

PASSWORD = "correct horse battery"


async def member(client: httpx.AsyncClient, name: str, unique: str) -> tuple[str, dict[str, str]]:
    creds = {"email": f"{name}-{unique}@example.org", "password": PASSWORD}
    r = await client.post("/v1/accounts", json={**creds, "handle": f"{name}_{unique}"})
    assert r.status_code == 201, r.text
    member_id = r.json()["id"]
    r = await client.post("/v1/sessions", json=creds)
    assert r.status_code == 201, r.text
    return member_id, {"authorization": f"Bearer {r.json()['access_token']}"}


async def test_home_post_and_member_views_show_the_post_its_scores_and_the_viewers_vote(system: Any, unique: str) -> None:
    topic = f"v{unique}"
    async with httpx.AsyncClient(base_url=system.gateway, timeout=15) as client:
        author, author_auth = await member(client, "vauthor", unique)
        reader, reader_auth = await member(client, "vreader", unique)

        async def invited() -> str | None:  # connections learns of the reader from profiles' event
            r = await client.post("/v1/invitations", json={"to_id": reader}, headers=author_auth)
            return r.json()["invitation_id"] if r.status_code in (200, 201) else None

        invitation = await wait_until(invited, timeout=30)
        r = await client.post(f"/v1/invitations/{invitation}/accept", headers=reader_auth)
        assert r.status_code == 200, r.text

        r = await client.post("/v1/posts", json={"kind": "question", "title": f"Views {unique}?", "topics": [topic]}, headers=author_auth)
        assert r.status_code == 201, r.text
        post = r.json()["id"]

        async def votable() -> bool:  # voting learns the post from content's event
            return (await client.get(f"/v1/tallies/{post}")).status_code == 200

        await wait_until(votable, timeout=30)
        r = await client.post("/v1/votes", json={"target_id": post, "value": 1}, headers=reader_auth)
        assert r.status_code == 202, r.text

        async def home() -> dict[str, Any] | None:
            r = await client.get(f"/v1/views/home?feed=topic&topic={topic}&sort=new", headers=reader_auth)
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            return r.json() if items and items[0]["scores"]["ups"] == 1 and items[0]["my_vote"] == 1 else None

        view = await wait_until(home, timeout=30)
        (item,) = view["items"]
        assert item["post"]["id"] == post and item["scores"]["source"] == "voting" and item["scores"]["score"] == 1
        assert item["scores"]["trusted_score"] is not None and view["warnings"] == []
        assert view["authors"][author]["handle"] == f"vauthor_{unique}"

        async def post_page() -> dict[str, Any] | None:
            r = await client.get(f"/v1/views/posts/{post}", headers=reader_auth)
            assert r.status_code == 200, r.text
            body = r.json()
            return body if body["authors"][author]["relation"] == "connection" else None  # profiles learnt the connection

        page = await wait_until(post_page, timeout=30)
        assert page["my_vote"] == 1 and page["scores"]["ups"] == 1 and page["comments"] == [] and page["warnings"] == []

        r = await client.get(f"/v1/views/members/{author}", headers=reader_auth)
        assert r.status_code == 200, r.text
        assert r.json()["degree"]["degree"] == 1 and [p["post"]["id"] for p in r.json()["recent_posts"]] == [post]

        anonymous = (await client.get(f"/v1/views/home?feed=topic&topic={topic}&sort=new")).json()
        assert anonymous["items"][0]["my_vote"] is None and anonymous["items"][0]["scores"]["ups"] == 1
        assert (await client.get(f"/v1/views/posts/{uuid.uuid4()}")).status_code == 404
