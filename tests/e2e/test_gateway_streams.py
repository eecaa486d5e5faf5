"""End to end through the gateway: a post and its votes appear on the live streams of the running system
(content → relay → Kafka → gateway stream; votes → tally consumer → Kafka → gateway stream)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import wait_until
from tests.integration.gateway.sse import open_stream


async def test_a_new_post_and_its_tally_reach_the_topic_post_and_author_streams(system: Any, issuer: Any, unique: str) -> None:
    author, voter = uuid.uuid4(), uuid.uuid4()
    tag = f"e2e{unique}"
    gw = system.gateway
    async with open_stream(f"{gw}/v1/streams/topic:{tag}") as topic_stream, open_stream(f"{gw}/v1/streams/me", headers=issuer.headers(author)) as mine:
        assert (await topic_stream.next()).event == "ready" and (await mine.next()).event == "ready"
        async with httpx.AsyncClient(base_url=gw, timeout=10) as client:
            r = await client.post("/v1/posts", json={"kind": "link", "title": f"Live {unique}", "url": "https://example.org/live", "topics": [tag]},
                                  headers=issuer.headers(author))
            assert r.status_code == 201, r.text
            post_id = r.json()["id"]
            (created,) = await topic_stream.events(1, timeout=30)
            assert created.event == "post.created" and created.data["data"]["post_id"] == post_id

            async with open_stream(f"{gw}/v1/streams/post:{post_id}") as post_stream:
                assert (await post_stream.next()).event == "ready"

                async def votable() -> bool:
                    return (await client.get(f"/v1/tallies/{post_id}")).status_code == 200

                await wait_until(votable, timeout=30)
                r = await client.post("/v1/votes", json={"target_id": post_id, "value": 1}, headers=issuer.headers(voter))
                assert r.status_code == 202, r.text
                (tally,) = await post_stream.events(1, timeout=30)
                assert tally.event == "tally.updated" and tally.data["data"]["ups"] == 1
        (notified,) = await mine.events(1, timeout=30)
        assert notified.event == "tally.updated" and notified.data["data"]["target_id"] == post_id
        assert notified.data["data"]["author_id"] == str(author)
