"""Live streams on the real Kafka broker, through two gateway replicas with no sticky sessions.

Resume is checked against an independent plain aiokafka reader of the same topic (tests/support/kafka.py):
the events a client receives across a dropped connection are exactly the channel's events in Kafka —
none lost, none repeated, each partition in order.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import httpx
import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from gateway.streams import positions
from tests.integration.gateway.sse import open_stream
from tests.support.kafka import headers, read_all


def now() -> str:
    return datetime.now(UTC).isoformat()


def post(tag: str) -> dict[str, Any]:
    return {"post_id": str(uuid.uuid4()), "author_id": str(uuid.uuid4()), "kind": "link", "topics": ["news", tag],
            "created_at": now(), "title": "a post", "url": "https://example.org"}


async def test_resume_on_another_replica_delivers_exactly_the_missed_events(replicas: Any, publisher: Any, test_infra: Any, unique: str) -> None:
    a, b = replicas
    tag = f"t{unique}"

    async def publish_posts(n: int) -> None:
        for _ in range(n):
            p = post(tag)
            await publisher.publish("agora.content", "post.created", p, p["post_id"])
            noise = post("elsewhere")  # other topics' posts and comments: read and passed over
            await publisher.publish("agora.content", "post.created", noise, noise["post_id"])
            await publisher.publish("agora.content", "comment.created", {"comment_id": str(uuid.uuid4()), "post_id": p["post_id"],
                                    "parent_id": None, "author_id": str(uuid.uuid4()), "created_at": now(), "depth": 0}, p["post_id"])

    async with open_stream(f"{a.url}/v1/streams/topic:{tag}") as stream:
        ready = await stream.next()
        assert ready.event == "ready" and ready.id and ready.retry == 100 and ready.data == {"channel": f"topic:{tag}"}
        await publish_posts(8)
        first = await stream.events(5)  # the client drops after 5 events although more were already on the way
    await publish_posts(6)  # published while nobody is connected
    async with open_stream(f"{b.url}/v1/streams/topic:{tag}", headers={"last-event-id": first[-1].id}) as stream:
        await publish_posts(4)  # and after reconnecting
        rest = await stream.events(3 + 6 + 4)
        p = post(tag)
        sentinel = await publisher.publish("agora.content", "post.created", p, p["post_id"])
        (last,) = await stream.events(1)
        assert last.data["event_id"] == sentinel.id  # nothing extra was queued before it

    received = first + rest + [last]
    got = [e.data["event_id"] for e in received]
    assert all(e.event == "post.created" and tag in e.data["data"]["topics"] for e in received)
    assert len(got) == len(set(got)), "an event was delivered twice"
    wire = [m for m in await read_all(test_infra.bootstrap, f"{test_infra.prefix}agora.content")
            if headers(m)["ce_type"] == "post.created" and tag in orjson.loads(m.value)["topics"]]
    assert set(got) == {headers(m)["ce_id"] for m in wire}, "lost or foreign events"
    where = {headers(m)["ce_id"]: (m.partition, m.offset) for m in wire}
    for partition in {p for p, _ in where.values()}:
        offsets = [where[i][1] for i in got if where[i][0] == partition]
        assert offsets == sorted(offsets), "a partition's events out of order"
    assert all(e.id and e.id.startswith("v1.") for e in received)


async def test_a_websocket_carries_the_same_stream_and_resumes_with_a_query_parameter(replicas: Any, publisher: Any, unique: str) -> None:
    a, b = replicas
    target = str(uuid.uuid4())

    def tally(version: int) -> dict[str, Any]:
        return {"target_id": target, "target_kind": "post", "author_id": str(uuid.uuid4()), "ups": version, "downs": 0,
                "score": version, "version": version, "updated_at": now()}

    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{a.url.replace('http', 'ws')}/v1/streams/post:{target}/ws") as ws:
            ready = orjson.loads((await ws.receive(timeout=10)).data)
            assert ready["type"] == "ready" and ready["channel"] == f"post:{target}"
            for v in (1, 2, 3):
                await publisher.publish("agora.tallies", "tally.updated", tally(v), target)
            got = []
            while len(got) < 3:
                m = orjson.loads((await ws.receive(timeout=10)).data)
                if m["type"] != "heartbeat":
                    got.append(m)
            assert [m["data"]["version"] for m in got] == [1, 2, 3] and all(m["type"] == "tally.updated" for m in got)
        for v in (4, 5):
            await publisher.publish("agora.tallies", "tally.updated", tally(v), target)
        async with session.ws_connect(f"{b.url.replace('http', 'ws')}/v1/streams/post:{target}/ws", params={"resume": got[1]["id"]}) as ws:
            later = []
            while len(later) < 3:
                m = orjson.loads((await ws.receive(timeout=10)).data)
                if m["type"] not in ("heartbeat", "ready"):
                    later.append(m)
    assert [m["data"]["version"] for m in later] == [3, 4, 5]


async def test_nobody_receives_another_members_notifications(replicas: Any, publisher: Any, issuer: Any) -> None:
    a_id, b_id, c_id, x = (str(uuid.uuid4()) for _ in range(4))
    gw = replicas[0]

    def inv(frm: str, to: str) -> dict[str, Any]:
        return {"invitation_id": str(uuid.uuid4()), "from_id": frm, "to_id": to, "at": now(), "note_present": False}

    def tally(author: str, version: int) -> dict[str, Any]:
        return {"target_id": x, "target_kind": "post", "author_id": author, "ups": 1, "downs": 0, "score": 1, "version": version, "updated_at": now()}

    async with aiohttp.ClientSession() as session, open_stream(f"{gw.url}/v1/streams/me", headers=issuer.headers(uuid.UUID(b_id))) as b_stream:
        ws_url = f"{gw.url.replace('http', 'ws')}/v1/streams/me/ws"
        async with session.ws_connect(ws_url, params={"access_token": issuer.token(uuid.UUID(a_id))}) as a_ws:
            assert orjson.loads((await a_ws.receive(timeout=10)).data)["type"] == "ready"
            assert (await b_stream.next()).event == "ready"
            # One key per topic, sentinels last: when a sentinel arrives, everything before it on that partition was judged.
            e1 = await publisher.publish("agora.connections", "invitation.sent", inv(c_id, a_id), c_id)
            await publisher.publish("agora.connections", "member.blocked", {"blocker_id": c_id, "blocked_id": a_id, "blocked_at": now()}, c_id)
            e3 = await publisher.publish("agora.connections", "invitation.sent", inv(c_id, b_id), c_id)
            s1 = await publisher.publish("agora.connections", "connection.made", {"a_id": c_id, "b_id": a_id, "provenance": "invitation", "made_at": now()}, c_id)
            s2 = await publisher.publish("agora.connections", "connection.made", {"a_id": c_id, "b_id": b_id, "provenance": "invitation", "made_at": now()}, c_id)
            t1 = await publisher.publish("agora.tallies", "tally.updated", tally(b_id, 1), x)
            await publisher.publish("agora.tallies", "tally.updated", tally(c_id, 2), x)
            t3 = await publisher.publish("agora.tallies", "tally.updated", tally(a_id, 3), x)
            t4 = await publisher.publish("agora.tallies", "tally.updated", tally(b_id, 4), x)

            a_got = set()
            while len(a_got) < 3:
                m = orjson.loads((await a_ws.receive(timeout=15)).data)
                if m["type"] != "heartbeat":
                    a_got.add(m["event_id"])
            b_got = {e.data["event_id"] for e in await b_stream.events(4)}
    assert a_got == {e1.id, s1.id, t3.id}
    assert b_got == {e3.id, s2.id, t1.id, t4.id}


async def test_a_quiet_stream_sends_heartbeats(replicas: Any, unique: str) -> None:
    async with open_stream(f"{replicas[0].url}/v1/streams/topic:quiet{unique}") as stream:
        assert (await stream.next()).event == "ready"
        with pytest.raises(TimeoutError):
            await stream.next(timeout=1.3)  # no event on this topic: only comments
        assert stream.heartbeats >= 2  # every 0.5 s in these replicas


async def test_streams_refuse_anonymous_me_unknown_channels_and_bad_resume_ids(replicas: Any, publisher: Any, test_infra: Any, issuer: Any) -> None:
    gw = replicas[0]
    me = issuer.headers(uuid.uuid4())
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:
        async def refused(path: str, status: int, code: str, **kw: Any) -> None:
            r = await client.get(path, **kw)
            assert r.status_code == status, (path, r.text)
            assert r.json()["error"] == code and r.json()["message"] and r.json()["trace_id"]

        await refused("/v1/streams/me", 401, "unauthenticated")
        await refused("/v1/streams/me", 401, "invalid_token", headers={"authorization": "Bearer forged.token.here"})
        await refused("/v1/streams/me?access_token=forged", 401, "invalid_token")
        expired = issuer.token(uuid.uuid4(), ttl=-60)
        await refused("/v1/streams/me", 401, "token_expired", headers={"authorization": f"Bearer {expired}"})
        await refused(f"/v1/streams/me?access_token={expired}", 401, "token_expired")
        await refused("/v1/streams/everything", 404, "unknown_channel")
        await refused("/v1/streams/post:42", 400, "invalid_channel")
        await refused("/v1/streams/me", 400, "invalid_resume_id", headers={**me, "last-event-id": "garbage"})
        await refused("/v1/streams/me", 400, "invalid_resume_id", headers={**me, "last-event-id": positions.encode([[0] * 6])})  # a topic channel's id
        await refused("/v1/streams/topic:news", 400, "invalid_resume_id", headers={"last-event-id": positions.encode([[10**9] * 6])})  # the future

        # Out of retention: drop the head of integrity partition 0, then resume from before it.
        for i in range(3):
            await publisher.producer.send_and_wait(f"{test_infra.prefix}agora.integrity", value=b"{}", partition=0, key=f"k{i}".encode())
        admin = AIOKafkaAdminClient(bootstrap_servers=test_infra.bootstrap)
        await admin.start()
        try:
            tp = TopicPartition(f"{test_infra.prefix}agora.integrity", 0)
            await admin.delete_records({tp: RecordsToDelete(before_offset=2)})
        finally:
            await admin.close()
        old = positions.encode([[0] * 6, [0] * 6, [0] * 6, [0, 0, 0]])
        r = await client.get("/v1/streams/me", headers={**me, "last-event-id": old})
        assert r.status_code == 410 and r.json()["error"] == "resume_expired" and r.json()["detail"]["topic"] == "agora.integrity"

        # A WebSocket that is refused gets the same HTTP error response instead of the upgrade.
        upgrade = {"connection": "Upgrade", "upgrade": "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="}
        r = await client.get("/v1/streams/me/ws", params={"resume": "garbage"}, headers={**upgrade, **me})
        assert r.status_code == 400 and r.json()["error"] == "invalid_resume_id"
        r = await client.get("/v1/streams/me/ws", headers=upgrade)
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
        r = await client.get("/v1/streams/me/ws", params={"resume": old}, headers={**upgrade, **me})
        assert r.status_code == 410
