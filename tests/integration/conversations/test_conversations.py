"""Conversations on the real PostgreSQL: direct and group, message requests, reading, markers, editing, limits."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.integration.conversations.conftest import connect, inbox, say, start


async def test_direct_conversation_between_connections_with_delivery_and_read_markers(api: Any, auth: Any, member: Any, events: Any) -> None:
    a, b = await member(), await member()
    await connect(api, auth, a, b)
    r = await start(api, auth, a, b, body="  first  ")
    assert r.status_code == 201, r.text
    conv, first = r.json()["conversation"], r.json()["message"]
    cid = conv["conversation_id"]
    assert (conv["kind"], conv["request_status"], set(conv["member_ids"])) == ("direct", None, {str(a), str(b)})
    assert (first["body"], first["seq"], first["delivered_to"], first["read_by"]) == ("first", 1, [], [])
    # Starting again while it is open reuses it.
    r = await start(api, auth, b, a, body="second")
    assert r.status_code == 200 and r.json()["conversation"]["conversation_id"] == cid and r.json()["message"]["seq"] == 2
    assert (await say(api, auth, a, cid, "third")).status_code == 201

    # b sent message 2, so b has read up to it; message 3 is unread for b, nothing for a.
    assert (await inbox(api, auth, b))[cid]["unread_count"] == 1
    assert (await inbox(api, auth, a))[cid]["unread_count"] == 0
    page = (await api.get(f"/v1/conversations/{cid}/messages", headers=auth(b))).json()
    assert [m["body"] for m in page["items"]] == ["first", "second", "third"]
    # a now sees its messages delivered to b (b fetched them), not yet read beyond message 2.
    page = (await api.get(f"/v1/conversations/{cid}/messages", headers=auth(a))).json()
    assert [(m["seq"], m["delivered_to"], m["read_by"]) for m in page["items"] if m["sender_id"] == str(a)] == [
        (1, [str(b)], [str(b)]), (3, [str(b)], [])]
    third = page["items"][-1]["message_id"]
    r = await api.post(f"/v1/conversations/{cid}/read", json={"message_id": third}, headers=auth(b))
    assert r.status_code == 200 and r.json()["last_read_seq"] == 3
    # Never backwards.
    r = await api.post(f"/v1/conversations/{cid}/read", json={"message_id": first["message_id"]}, headers=auth(b))
    assert r.json()["last_read_seq"] == 3
    detail = (await api.get(f"/v1/conversations/{cid}", headers=auth(b))).json()
    assert detail["unread_count"] == 0 and {m["member_id"]: m["last_read_seq"] for m in detail["members"]} == {str(a): 3, str(b): 3}

    sent = await events("message.sent", cid)
    assert [(e["sender_id"], e["recipient_ids"]) for e in sent] == [(str(a), [str(b)]), (str(b), [str(a)]), (str(a), [str(b)])]
    assert set(sent[0]) == {"message_id", "conversation_id", "sender_id", "recipient_ids", "muted_ids", "sent_at", "linked_post_ids"}
    reads = await events("message.read", cid)
    assert [(e["member_id"], e["recipient_ids"], e["last_read_message_id"]) for e in reads] == [(str(b), [str(a)], third)]


async def test_message_to_a_non_connection_is_a_request_the_recipient_answers(api: Any, auth: Any, member: Any, events: Any) -> None:
    a, b, c = await member(), await member(), await member()
    r = await start(api, auth, a, b, body="we met at the meetup")
    assert r.status_code == 201 and r.json()["conversation"]["request_status"] == "pending"
    cid = r.json()["conversation"]["conversation_id"]
    for who, code in [(a, "request_pending"), (b, "request_not_accepted")]:
        r = await say(api, auth, who, cid)
        assert (r.status_code, r.json()["error"]) == (409, code)
    assert cid in await inbox(api, auth, a)
    assert cid not in await inbox(api, auth, b) and cid in await inbox(api, auth, b, "requests")
    r = await api.post(f"/v1/conversations/{cid}/accept", headers=auth(a))
    assert (r.status_code, r.json()["error"]) == (403, "not_the_recipient")
    r = await api.post(f"/v1/conversations/{cid}/accept", headers=auth(b))
    assert r.status_code == 200 and r.json()["request_status"] == "accepted"
    assert cid in await inbox(api, auth, b) and await inbox(api, auth, b, "requests") == {}
    assert (await say(api, auth, b, cid, "hello back")).status_code == 201
    assert (await say(api, auth, a, cid)).status_code == 201
    r = await api.post(f"/v1/conversations/{cid}/accept", headers=auth(b))
    assert (r.status_code, r.json()["error"]) == (409, "request_state")

    # Declined: gone for the recipient, closed to the sender.
    cid2 = (await start(api, auth, c, b, body="buy my course")).json()["conversation"]["conversation_id"]
    assert (await api.post(f"/v1/conversations/{cid2}/decline", headers=auth(b))).status_code == 204
    assert (await api.get(f"/v1/conversations/{cid2}", headers=auth(b))).status_code == 404
    for r in (await say(api, auth, c, cid2), await start(api, auth, c, b)):
        assert (r.status_code, r.json()["error"]) == (403, "request_declined")
    assert [e["requester_id"] for e in await events("message_request.sent", cid)] == [str(a)]
    assert [e["recipient_id"] for e in await events("message_request.accepted", cid)] == [str(b)]
    assert [e["recipient_id"] for e in await events("message_request.declined", cid2)] == [str(b)]


async def test_groups_are_for_connections_up_to_the_size_limit_and_members_can_leave(api: Any, auth: Any, member: Any, events: Any) -> None:
    a, b, c, d, stranger = [await member() for _ in range(5)]
    for o in (b, c, d):
        await connect(api, auth, a, o)
    r = await start(api, auth, a, b, stranger, body="hi all")
    assert (r.status_code, r.json()["error"], r.json()["detail"]) == (409, "not_connected", {"member_ids": [str(stranger)]})
    r = await start(api, auth, a, b, c, d, stranger, body="too many")
    assert (r.status_code, r.json()["error"]) == (422, "group_too_large")
    r = await start(api, auth, a, b, uuid.uuid4())
    assert (r.status_code, r.json()["error"]) == (404, "member_not_found")
    r = await start(api, auth, a, a, b)
    assert (r.status_code, r.json()["error"]) == (422, "self_message")
    r = await start(api, auth, a, b, c, d, body="planning", title="Book club")
    assert r.status_code == 201, r.text
    cid = r.json()["conversation"]["conversation_id"]
    assert (r.json()["conversation"]["kind"], r.json()["conversation"]["title"]) == ("group", "Book club")
    for m in (b, c, d):
        assert cid in await inbox(api, auth, m)
    assert (await say(api, auth, b, cid, "count me in")).status_code == 201  # members need not be connected to each other

    assert (await api.post(f"/v1/conversations/{cid}/leave", headers=auth(d))).status_code == 204
    assert (await api.get(f"/v1/conversations/{cid}", headers=auth(d))).status_code == 404
    assert (await say(api, auth, d, cid)).status_code == 404
    assert cid not in await inbox(api, auth, d)
    assert (await say(api, auth, c, cid, "see you")).status_code == 201
    assert sorted((await events("message.sent", cid))[-1]["recipient_ids"]) == sorted([str(a), str(b)])
    direct = (await start(api, auth, a, b)).json()["conversation"]["conversation_id"]
    r = await api.post(f"/v1/conversations/{direct}/leave", headers=auth(a))
    assert (r.status_code, r.json()["error"]) == (409, "not_a_group")


async def test_unread_counts_and_numbering_hold_under_concurrent_sends(api: Any, auth: Any, member: Any, db: Any) -> None:
    a, b, c, d = [await member() for _ in range(4)]
    for o in (b, c, d):
        await connect(api, auth, a, o)
    cid = (await start(api, auth, a, b, c, d, body="go")).json()["conversation"]["conversation_id"]
    senders = [a, b, c] * 8
    results = await asyncio.gather(*[say(api, auth, s, cid, f"m{i}") for i, s in enumerate(senders)])
    assert [r.status_code for r in results] == [201] * 24
    seqs = sorted(r.json()["seq"] for r in results)
    assert seqs == list(range(2, 26))  # no gaps, no repeats: the first message was 1
    # d sent nothing: every message is unread; a, b, c each have read their own last message and see the others' after it.
    assert (await inbox(api, auth, d))[cid]["unread_count"] == 25
    for s in (a, b, c):
        last_own = max(r.json()["seq"] for r, who in zip(results, senders, strict=True) if who == s)
        expected = sum(1 for r, who in zip(results, senders, strict=True) if who != s and r.json()["seq"] > last_own)
        assert (await inbox(api, auth, s))[cid]["unread_count"] == expected, s
    stored = await db("SELECT count(*) AS n, max(seq) AS top FROM connections.messages WHERE conversation_id = $1", uuid.UUID(cid))
    assert (stored[0]["n"], stored[0]["top"]) == (25, 25)

    # Reading while others keep sending: the count is exactly what arrived after the marker.
    page = (await api.get(f"/v1/conversations/{cid}/messages", headers=auth(d), params={"limit": 1})).json()
    marker, more = await asyncio.gather(
        api.post(f"/v1/conversations/{cid}/read", json={"message_id": page["items"][-1]["message_id"]}, headers=auth(d)),
        asyncio.gather(*[say(api, auth, s, cid, "late") for s in (a, b, c)]),
    )
    assert marker.status_code == 200 and all(r.status_code == 201 for r in more)
    assert (await inbox(api, auth, d))[cid]["unread_count"] == 28 - marker.json()["last_read_seq"]


async def test_messages_page_both_ways_with_cursors(api: Any, auth: Any, member: Any) -> None:
    a, b = await member(), await member()
    await connect(api, auth, a, b)
    cid = (await start(api, auth, a, b, body="m1")).json()["conversation"]["conversation_id"]
    for i in range(2, 8):
        assert (await say(api, auth, a if i % 2 else b, cid, f"m{i}")).status_code == 201

    async def page(cursor: str | None = None) -> dict[str, Any]:
        r = await api.get(f"/v1/conversations/{cid}/messages", params={"limit": 3, **({"cursor": cursor} if cursor else {})}, headers=auth(b))
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    newest = await page()
    assert [m["body"] for m in newest["items"]] == ["m5", "m6", "m7"]
    older = await page(newest["older_cursor"])
    assert [m["body"] for m in older["items"]] == ["m2", "m3", "m4"]
    oldest = await page(older["older_cursor"])
    assert [m["body"] for m in oldest["items"]] == ["m1"] and oldest["older_cursor"] is None
    forward = await page(oldest["newer_cursor"])
    assert [m["body"] for m in forward["items"]] == ["m2", "m3", "m4"]
    polled = await page(newest["newer_cursor"])
    assert polled["items"] == []
    assert (await say(api, auth, a, cid, "m8")).status_code == 201
    assert [m["body"] for m in (await page(polled["newer_cursor"]))["items"]] == ["m8"]
    for bad in ("garbage", "WyJ4IiwxXQ"):  # not base64 JSON / unknown direction
        r = await api.get(f"/v1/conversations/{cid}/messages", params={"cursor": bad}, headers=auth(b))
        assert (r.status_code, r.json()["error"]) == (422, "invalid_cursor")


async def test_edit_within_the_window_and_delete_only_your_own(api: Any, auth: Any, member: Any, db: Any, events: Any) -> None:
    a, b, outsider = await member(), await member(), await member()
    await connect(api, auth, a, b)
    r = await start(api, auth, a, b, body="helo")
    cid, mid = r.json()["conversation"]["conversation_id"], r.json()["message"]["message_id"]
    url = f"/v1/conversations/{cid}/messages/{mid}"
    r = await api.patch(url, json={"body": "hello"}, headers=auth(a))
    assert r.status_code == 200 and r.json()["body"] == "hello" and r.json()["edited_at"]
    for who, status, code in [(b, 403, "not_your_message"), (outsider, 404, "conversation_not_found")]:
        r = await api.patch(url, json={"body": "mine now"}, headers=auth(who))
        assert (r.status_code, r.json()["error"]) == (status, code)
        r = await api.delete(url, headers=auth(who))
        assert (r.status_code, r.json()["error"]) == (status, code)
    r = await api.patch(f"/v1/conversations/{cid}/messages/{uuid.uuid4()}", json={"body": "x"}, headers=auth(a))
    assert (r.status_code, r.json()["error"]) == (404, "message_not_found")
    await db("UPDATE connections.messages SET sent_at = sent_at - interval '16 minutes' WHERE message_id = $1", uuid.UUID(mid))
    r = await api.patch(url, json={"body": "too late"}, headers=auth(a))
    assert (r.status_code, r.json()["error"]) == (409, "edit_window_closed")
    assert (await api.delete(url, headers=auth(a))).status_code == 204
    assert (await api.delete(url, headers=auth(a))).status_code == 204  # idempotent, one event
    items = (await api.get(f"/v1/conversations/{cid}/messages", headers=auth(b))).json()["items"]
    assert (items[0]["body"], items[0]["deleted_at"] is not None) == (None, True)
    r = await api.patch(url, json={"body": "back"}, headers=auth(a))
    assert (r.status_code, r.json()["error"]) == (409, "message_deleted")
    assert [e["recipient_ids"] for e in await events("message.edited", cid)] == [[str(b)]]
    assert [e["message_id"] for e in await events("message.deleted", cid)] == [mid]
    assert (await inbox(api, auth, b))[cid]["unread_count"] == 0  # a deleted message is not unread


async def test_bad_input_is_a_clear_4xx_and_stores_nothing(api: Any, auth: Any, member: Any, db: Any) -> None:
    a, b, outsider = await member(), await member(), await member()
    await connect(api, auth, a, b)
    cid = (await start(api, auth, a, b)).json()["conversation"]["conversation_id"]
    cases = [
        (await say(api, auth, a, cid, ""), 422, "invalid"),
        (await say(api, auth, a, cid, "   "), 422, "invalid"),
        (await say(api, auth, a, cid, "x" * 4001), 422, "invalid"),
        (await say(api, auth, a, cid, "nul\x00"), 422, "invalid"),
        (await api.post(f"/v1/conversations/{cid}/messages", json={"body": "x", "sender_id": str(b)}, headers=auth(a)), 422, "invalid"),
        (await say(api, auth, a, uuid.uuid4()), 404, "conversation_not_found"),
        (await say(api, auth, outsider, cid), 404, "conversation_not_found"),
        (await api.get(f"/v1/conversations/{cid}/messages", headers=auth(outsider)), 404, "conversation_not_found"),
        (await start(api, auth, a), 422, "invalid"),
        (await start(api, auth, a, b, title="direct has no title"), 422, "direct_title"),
        (await api.post("/v1/conversations", content=b"{not json", headers={**auth(a), "content-type": "application/json"}), 400, "malformed_json"),
        (await api.post(f"/v1/conversations/{cid}/read", json={"message_id": str(uuid.uuid4())}, headers=auth(b)), 404, "message_not_found"),
        (await api.post(f"/v1/conversations/{cid}/report", json={"reason": "boring"}, headers=auth(b)), 422, "invalid"),
        (await api.get("/v1/conversations", headers={}), 401, "unauthenticated"),
    ]
    for r, status, code in cases:
        assert (r.status_code, r.json()["error"]) == (status, code), r.text
    rows = await db("SELECT count(*) AS n FROM connections.messages WHERE conversation_id = $1", uuid.UUID(cid))
    assert rows[0]["n"] == 1


async def test_mute_and_report(api: Any, auth: Any, member: Any, events: Any) -> None:
    a, b = await member(), await member()
    await connect(api, auth, a, b)
    cid = (await start(api, auth, a, b)).json()["conversation"]["conversation_id"]
    assert (await api.put(f"/v1/conversations/{cid}/mute", headers=auth(b))).status_code == 204
    assert (await inbox(api, auth, b))[cid]["muted"] is True and (await inbox(api, auth, a))[cid]["muted"] is False
    assert (await api.delete(f"/v1/conversations/{cid}/mute", headers=auth(b))).status_code == 204
    assert (await inbox(api, auth, b))[cid]["muted"] is False
    r = await api.post(f"/v1/conversations/{cid}/report", json={"reason": "harassment"}, headers=auth(b))
    assert r.status_code == 202
    assert (await api.post(f"/v1/conversations/{cid}/report", json={"reason": "spam"}, headers=auth(b))).status_code == 200
    reported = await events("conversation.reported", cid)
    assert [(e["reporter_id"], e["reason"]) for e in reported] == [(str(b), "harassment")]
    assert set(reported[0]) == {"conversation_id", "reporter_id", "reason", "at"}


async def test_the_list_is_ordered_by_last_activity_and_pages_with_a_cursor(api: Any, auth: Any, member: Any) -> None:
    me = await member()
    friends = [await member() for _ in range(3)]
    ids = []
    for f in friends:
        await connect(api, auth, me, f)
        ids.append((await start(api, auth, f, me, body="hi")).json()["conversation"]["conversation_id"])
    assert (await say(api, auth, friends[0], ids[0], "news")).status_code == 201  # the oldest becomes the most recent
    first = (await api.get("/v1/conversations", params={"limit": 2}, headers=auth(me))).json()
    assert [c["conversation_id"] for c in first["items"]] == [ids[0], ids[2]]
    assert [c["unread_count"] for c in first["items"]] == [2, 1]
    rest = (await api.get("/v1/conversations", params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth(me))).json()
    assert [c["conversation_id"] for c in rest["items"]] == [ids[1]] and rest["next_cursor"] is None
    r = await api.get("/v1/conversations", params={"cursor": "nope"}, headers=auth(me))
    assert (r.status_code, r.json()["error"]) == (422, "invalid_cursor")
