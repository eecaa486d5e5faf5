"""Conversations and the people in them: blocks, account deletion, introductions, abuse limits."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from services.connections import handlers
from tests.integration.connections.conftest import profile_event
from tests.integration.conversations.conftest import connect, inbox, say, start


async def test_a_block_closes_the_direct_conversation_for_both_at_once(api: Any, auth: Any, member: Any) -> None:
    a, b = await member(), await member()
    await connect(api, auth, a, b)
    cid = (await start(api, auth, a, b)).json()["conversation"]["conversation_id"]
    # A send racing the block: either it lands before the block, or it is refused; never after it.
    racing, blocked = await asyncio.gather(say(api, auth, a, cid, "racing"), api.put(f"/v1/blocks/{a}", headers=auth(b)))
    assert blocked.status_code == 201 and racing.status_code in (201, 404)
    for who in (a, b):
        assert (await api.get(f"/v1/conversations/{cid}", headers=auth(who))).status_code == 404
        assert (await say(api, auth, who, cid)).status_code == 404
        assert cid not in await inbox(api, auth, who)
    r = await start(api, auth, a, b)
    assert (r.status_code, r.json()["error"]) == (404, "member_not_found")
    r = await start(api, auth, b, a)
    assert (r.status_code, r.json()["error"]) == (403, "blocked")
    # The blocker can still report it.
    assert (await api.post(f"/v1/conversations/{cid}/report", json={"reason": "harassment"}, headers=auth(b))).status_code == 202
    # Unblocking restores nothing; a new request (no longer connected) starts a new conversation.
    assert (await api.delete(f"/v1/blocks/{a}", headers=auth(b))).status_code == 204
    r = await start(api, auth, b, a, body="sorry")
    assert r.status_code == 201 and r.json()["conversation"]["conversation_id"] != cid
    assert r.json()["conversation"]["request_status"] == "pending"


async def test_in_a_group_a_blocked_members_messages_are_hidden_from_the_blocker(api: Any, auth: Any, member: Any, events: Any) -> None:
    a, b, c = await member(), await member(), await member()
    await connect(api, auth, a, b)
    await connect(api, auth, a, c)
    cid = (await start(api, auth, a, b, c, body="hi both")).json()["conversation"]["conversation_id"]
    assert (await api.put(f"/v1/blocks/{c}", headers=auth(b))).status_code == 201
    assert (await say(api, auth, c, cid, "from c")).status_code == 201
    assert (await say(api, auth, a, cid, "from a")).status_code == 201
    bodies = [m["body"] for m in (await api.get(f"/v1/conversations/{cid}/messages", headers=auth(b))).json()["items"]]
    assert bodies == ["hi both", "from a"]
    # Nor do they hear of each other's messages: the events' audience leaves them out.
    assert [sorted(e["recipient_ids"]) for e in await events("message.sent", cid)] == [
        sorted([str(b), str(c)]), [str(a)], sorted([str(b), str(c)])]
    assert (await inbox(api, auth, b))[cid]["unread_count"] == 2
    bodies = [m["body"] for m in (await api.get(f"/v1/conversations/{cid}/messages", headers=auth(c))).json()["items"]]
    assert "from a" in bodies and "from c" in bodies
    r = await start(api, auth, a, b, c)  # a new group with both is fine for a; b cannot add c
    assert r.status_code == 201
    r = await start(api, auth, c, a, b)
    assert r.status_code == 404 and r.json()["detail"] == {"member_ids": [str(b)]}
    r = await start(api, auth, b, a, c)
    assert (r.status_code, r.json()["error"], r.json()["detail"]) == (403, "blocked", {"member_ids": [str(c)]})


async def test_an_accepted_introduction_opens_a_conversation_with_the_introducers_note(api: Any, auth: Any, member: Any,
                                                                                      events: Any) -> None:
    a, b, c = await member(), await member(), await member()
    await connect(api, auth, b, a)
    await connect(api, auth, b, c)
    # a had already sent c a message request: the introduction answers it.
    pending = (await start(api, auth, a, c, body="hello?")).json()["conversation"]["conversation_id"]
    iid = (await api.post("/v1/introductions", json={"introducer_id": str(b), "target_id": str(c), "message": "talk graphs?"},
                          headers=auth(a))).json()["introduction_id"]
    assert (await api.post(f"/v1/introductions/{iid}/forward", json={"note": "You two should meet"}, headers=auth(b))).status_code == 200
    assert (await api.post(f"/v1/introductions/{iid}/accept", headers=auth(c))).status_code == 200
    conv = (await inbox(api, auth, c))[pending]
    assert conv["request_status"] == "accepted" and conv["unread_count"] == 2
    items = (await api.get(f"/v1/conversations/{pending}/messages", headers=auth(a))).json()["items"]
    assert [(m["sender_id"], m["body"]) for m in items] == [(str(a), "hello?"), (str(b), "You two should meet")]
    assert (await say(api, auth, c, pending, "hi a")).status_code == 201
    assert [e["recipient_id"] for e in await events("message_request.accepted", pending)] == [str(c)]
    assert sorted((await events("message.sent", pending))[1]["recipient_ids"]) == sorted([str(a), str(c)])

    # Without a note, the requester's own message opens a new conversation (origin introduction).
    d = await member()
    await connect(api, auth, b, d)
    iid = (await api.post("/v1/introductions", json={"introducer_id": str(b), "target_id": str(d), "message": "about rust"},
                          headers=auth(a))).json()["introduction_id"]
    assert (await api.post(f"/v1/introductions/{iid}/forward", headers=auth(b))).status_code == 200
    assert (await api.post(f"/v1/introductions/{iid}/accept", headers=auth(d))).status_code == 200
    [opened] = [c for c in (await inbox(api, auth, d)).values()]
    assert (opened["origin"], opened["request_status"], opened["unread_count"]) == ("introduction", None, 1)
    items = (await api.get(f"/v1/conversations/{opened['conversation_id']}/messages", headers=auth(d))).json()["items"]
    assert [(m["sender_id"], m["body"]) for m in items] == [(str(a), "about rust")]


async def test_account_deletion_erases_the_members_messages(api: Any, auth: Any, member: Any, sessions: Any, db: Any) -> None:
    gone, b, c = await member(), await member(), await member()
    await connect(api, auth, gone, b)
    await connect(api, auth, gone, c)
    direct = (await start(api, auth, gone, b, body="secret plans")).json()["conversation"]["conversation_id"]
    group = (await start(api, auth, gone, b, c, body="group secret")).json()["conversation"]["conversation_id"]
    assert (await say(api, auth, b, group, "b stays")).status_code == 201
    async with sessions() as s, s.begin():
        await handlers.on_deleted(s, profile_event("account.deleted", {"member_id": str(gone), "deleted_at": datetime.now(UTC).isoformat()}))
    rows = await db("SELECT body, linked_post_ids, deleted_at FROM connections.messages WHERE sender_id = $1", gone)
    assert len(rows) == 2 and all(r["body"] is None and r["deleted_at"] is not None for r in rows)
    assert (await api.get(f"/v1/conversations/{direct}", headers=auth(b))).status_code == 404
    detail = (await api.get(f"/v1/conversations/{group}", headers=auth(c))).json()
    assert sorted(detail["member_ids"]) == sorted([str(b), str(c)])
    items = (await api.get(f"/v1/conversations/{group}/messages", headers=auth(c))).json()["items"]
    assert [m["body"] for m in items] == [None, "b stays"]
    assert (await start(api, auth, b, gone)).status_code == 404


async def test_send_rate_limit_is_429_with_retry_after_and_stores_nothing(api: Any, auth: Any, member: Any, db: Any) -> None:
    a, b = await member(), await member()
    await connect(api, auth, a, b)
    cid = (await start(api, auth, a, b)).json()["conversation"]["conversation_id"]
    results = await asyncio.gather(*[say(api, auth, a, cid, f"m{i}") for i in range(13)])  # limit 12 a minute, 1 already sent
    assert sorted(r.status_code for r in results) == [201] * 11 + [429] * 2
    refused = next(r for r in results if r.status_code == 429)
    assert refused.json()["error"] == "rate_limited" and 1 <= int(refused.headers["retry-after"]) <= 60
    rows = await db("SELECT count(*) AS n FROM connections.messages WHERE sender_id = $1", a)
    assert rows[0]["n"] == 12
    assert (await say(api, auth, b, cid)).status_code == 201  # per member


async def test_new_conversation_and_daily_request_limits(api: Any, auth: Any, member: Any, db: Any) -> None:
    a = await member()
    strangers = [await member() for _ in range(3)]
    for s in strangers[:2]:
        assert (await start(api, auth, a, s)).status_code == 201
    r = await start(api, auth, a, strangers[2])
    assert (r.status_code, r.json()["detail"]) == (429, {"cap": 2}) and "Retry-After" in r.headers
    # Connections are not requests: only the hourly cap on new conversations applies (6, two used).
    friends = [await member() for _ in range(5)]
    for f in friends:
        await connect(api, auth, a, f)
    for f in friends[:4]:
        assert (await start(api, auth, a, f)).status_code == 201
    r = await start(api, auth, a, friends[4])
    assert (r.status_code, r.json()["detail"]) == (429, {"cap": 6})
    rows = await db("SELECT count(*) AS n FROM connections.conversations WHERE created_by = $1", a)
    assert rows[0]["n"] == 6
    # An existing conversation is not a new one.
    assert (await start(api, auth, a, friends[0])).status_code == 200


async def test_unknown_member_and_unregistered_caller(api: Any, auth: Any, member: Any) -> None:
    a = await member()
    r = await start(api, auth, a, uuid.uuid4())
    assert (r.status_code, r.json()["error"]) == (404, "member_not_found")
    r = await start(api, auth, uuid.uuid4(), a)
    assert (r.status_code, r.json()["error"]) == (404, "caller_not_registered")


async def test_two_members_starting_at_once_share_one_conversation(api: Any, auth: Any, member: Any, db: Any) -> None:
    a, b = await member(), await member()
    await connect(api, auth, a, b)
    ra, rb = await asyncio.gather(start(api, auth, a, b, body="from a"), start(api, auth, b, a, body="from b"))
    assert sorted((ra.status_code, rb.status_code)) == [200, 201]
    assert ra.json()["conversation"]["conversation_id"] == rb.json()["conversation"]["conversation_id"]
    rows = await db("SELECT count(*) AS n FROM connections.conversations WHERE created_by = ANY($1::uuid[])", [a, b])
    assert rows[0]["n"] == 1


async def test_deleting_an_account_while_it_sends_leaves_none_of_its_text(api: Any, auth: Any, member: Any, sessions: Any,
                                                                          db: Any) -> None:
    gone, b = await member(), await member()
    await connect(api, auth, gone, b)
    cid = (await start(api, auth, gone, b, body="first")).json()["conversation"]["conversation_id"]

    async def delete() -> None:
        async with sessions() as s, s.begin():
            await handlers.on_deleted(s, profile_event("account.deleted", {"member_id": str(gone), "deleted_at": datetime.now(UTC).isoformat()}))

    results = await asyncio.gather(*[say(api, auth, gone, cid, f"m{i}") for i in range(5)], delete(), *[say(api, auth, gone, cid, "late") for _ in range(3)])
    assert all(r is None or r.status_code in (201, 404) for r in results)
    rows = await db("SELECT count(*) FILTER (WHERE body IS NOT NULL) AS kept, count(*) AS n FROM connections.messages WHERE sender_id = $1", gone)
    assert rows[0]["kept"] == 0 and rows[0]["n"] >= 1
    assert (await say(api, auth, gone, cid)).status_code == 404
