"""Conversation events on the real Kafka: metadata for the gateway and voting, never the text of a message."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from services.catalog import CONVERSATIONS
from services.connections.config import SCHEMA
from services.kit.outbox import OutboxRelay
from tests.conftest import wait_until
from tests.integration.conversations.conftest import connect, say, start
from tests.support.kafka import headers, read_all


async def test_a_post_link_publishes_the_solicitation_signal(api: Any, auth: Any, member: Any, events: Any) -> None:
    a, b, c = await member(), await member(), await member()
    await connect(api, auth, a, b)
    await connect(api, auth, a, c)
    p1, p2, p3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    body = f"please upvote https://agora.example/posts/{p1}?ref=dm and agora://posts/{p2}, again https://m.agora.example/posts/{p1}"
    r = await start(api, auth, a, b, c, body=body)
    cid, mid = r.json()["conversation"]["conversation_id"], r.json()["message"]["message_id"]
    assert r.json()["message"]["linked_post_ids"] == [str(p1), str(p2)]
    linked = await events("message.post_linked", cid)
    assert [e["post_id"] for e in linked] == [str(p1), str(p2)]
    assert all(e["sender_id"] == str(a) and sorted(e["recipient_ids"]) == sorted([str(b), str(c)]) for e in linked)
    assert set(linked[0]) == {"conversation_id", "message_id", "sender_id", "recipient_ids", "post_id", "at"}
    assert (await events("message.sent", cid))[0]["linked_post_ids"] == [str(p1), str(p2)]
    # An edit that adds a link signals the new post only.
    r = await api.patch(f"/v1/conversations/{cid}/messages/{mid}", json={"body": f"{body} and https://x.test/posts/{p3}"}, headers=auth(a))
    assert r.status_code == 200
    assert [e["post_id"] for e in await events("message.post_linked", cid)] == [str(p1), str(p2), str(p3)]
    # Not a post link: wrong path, a truncated id.
    r = await say(api, auth, b, cid, f"https://agora.example/users/{p1} https://agora.example/posts/{str(p1)[:-1]}")
    assert r.json()["linked_post_ids"] == []


async def test_events_reach_kafka_keyed_by_conversation_and_never_carry_the_text(test_infra: Any, api: Any, auth: Any,
                                                                                 member: Any) -> None:
    a, b, stranger = await member(), await member(), await member()
    await connect(api, auth, a, b)
    secret = f"secret-{uuid.uuid4().hex}"
    post = uuid.uuid4()
    r = await start(api, auth, a, b, body=f"{secret} opening https://agora.example/posts/{post}")
    cid = r.json()["conversation"]["conversation_id"]
    mid = r.json()["message"]["message_id"]
    reply = (await say(api, auth, b, cid, f"{secret} reply")).json()
    assert (await api.patch(f"/v1/conversations/{cid}/messages/{mid}", json={"body": f"{secret} edited"}, headers=auth(a))).status_code == 200
    assert (await api.post(f"/v1/conversations/{cid}/read", json={"message_id": reply["message_id"]}, headers=auth(a))).status_code == 200
    assert (await api.delete(f"/v1/conversations/{cid}/messages/{reply['message_id']}", headers=auth(b))).status_code == 204
    request = (await start(api, auth, stranger, a, body=f"{secret} request")).json()["conversation"]["conversation_id"]
    assert (await api.post(f"/v1/conversations/{request}/decline", headers=auth(a))).status_code == 204
    assert (await api.post(f"/v1/conversations/{cid}/report", json={"reason": "spam"}, headers=auth(b))).status_code == 202

    relay = OutboxRelay(database_url=test_infra.database_url, schema=SCHEMA, bootstrap_servers=test_infra.bootstrap,
                        topic_prefix=test_infra.prefix)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    topic = CONVERSATIONS.qualified(test_infra.prefix)
    ours = {cid.encode(), request.encode()}
    try:
        async def arrived() -> list[Any]:
            msgs = [m for m in await read_all(test_infra.bootstrap, topic) if m.key in ours]
            return msgs if len(msgs) >= 10 else []
        msgs = await wait_until(arrived, timeout=30)
    finally:
        stop.set()
        await task
    seen = sorted(headers(m)["ce_type"] for m in msgs)
    assert seen == sorted(["message.sent", "message.post_linked", "message.sent", "message.edited", "message.read", "message.deleted",
                           "message_request.sent", "message.sent", "message_request.declined", "conversation.reported"])
    everything = await read_all(test_infra.bootstrap, topic)
    assert everything and not [m for m in everything if secret.encode() in m.value or any(secret.encode() in v for _, v in m.headers)]
    assert all(headers(m)["ce_source"] == "agora/connections" for m in msgs)


async def test_a_message_committed_while_the_relay_publishes_a_batch_leaves_at_once(test_infra: Any, api: Any, auth: Any,
                                                                                    member: Any, db: Any) -> None:
    """The relay's wake-up: a NOTIFY arriving while a batch is out must not be lost (it used to be cleared after the
    batch, leaving that message to the idle poll — the 2 s tail of stream delivery measured in the benchmark)."""
    a, b = await member(), await member()
    await connect(api, auth, a, b)
    cid = (await start(api, auth, a, b)).json()["conversation"]["conversation_id"]
    relay = OutboxRelay(database_url=test_infra.database_url, schema=SCHEMA, bootstrap_servers=test_infra.bootstrap,
                        topic_prefix=test_infra.prefix, batch_size=100_000, idle_poll_seconds=60)
    original = relay._publish_batch
    late: list[float] = []

    async def batch_then_a_commit(pool: Any, producer: Any) -> int:
        sent = await original(pool, producer)
        if sent and not late:
            assert (await say(api, auth, a, cid, "committed while the batch was out")).status_code == 201
            late.append(asyncio.get_running_loop().time())
            await asyncio.sleep(0.3)  # its NOTIFY reaches the relay's listener before this batch returns
        return sent

    relay._publish_batch = batch_then_a_commit  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        async def all_published() -> bool:
            return bool(late) and not await db(f"SELECT 1 FROM {SCHEMA}.outbox WHERE key = $1 AND published_at IS NULL", cid)

        await wait_until(all_published, timeout=15)  # far less than the 60 s idle poll
    finally:
        stop.set()
        await task
