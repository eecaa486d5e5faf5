"""Group membership changes and mute, as the events the gateway streams (real PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.integration.conversations.conftest import connect, inbox, say, start


async def add(api: Any, auth: Any, me: Any, cid: str, *others: Any) -> Any:
    return await api.post(f"/v1/conversations/{cid}/members", json={"member_ids": [str(o) for o in others]}, headers=auth(me))


async def test_a_member_adds_connections_to_a_group_who_see_only_what_follows(api: Any, auth: Any, member: Any, events: Any) -> None:
    a, b, c, d, stranger = [await member() for _ in range(5)]
    for o in (b, c, stranger):
        await connect(api, auth, a, o)
    await connect(api, auth, b, d)
    r = await start(api, auth, a, b, body="before c")
    direct = r.json()["conversation"]["conversation_id"]
    r = await add(api, auth, a, direct, c)
    assert (r.status_code, r.json()["error"]) == (409, "not_a_group")
    cid = (await start(api, auth, a, b, c, body="before d", title="Trip")).json()["conversation"]["conversation_id"]

    # b adds d (b's connection, not a's): the rules are the adder's, as when starting a group.
    r = await add(api, auth, b, cid, d, a)  # a is already in: left as is
    assert r.status_code == 200, r.text
    assert r.json()["added"] == [str(d)] and set(r.json()["member_ids"]) == {str(a), str(b), str(c), str(d)}
    [ev] = await events("conversation.members_added", cid)
    assert (ev["added_by"], ev["member_ids"], sorted(ev["recipient_ids"])) == (str(b), [str(d)], sorted([str(a), str(c), str(d)]))
    assert set(ev) == {"conversation_id", "added_by", "member_ids", "recipient_ids", "at"}
    # d sees the messages after joining only, has nothing unread from before, and is not "read_by" earlier ones.
    assert (await inbox(api, auth, d))[cid]["unread_count"] == 0
    page = (await api.get(f"/v1/conversations/{cid}/messages", headers=auth(d))).json()
    assert page["items"] == [] and page["older_cursor"] is None
    assert (await say(api, auth, a, cid, "welcome d")).status_code == 201
    assert [m["body"] for m in (await api.get(f"/v1/conversations/{cid}/messages", headers=auth(d))).json()["items"]] == ["welcome d"]
    first = (await api.get(f"/v1/conversations/{cid}/messages", headers=auth(a))).json()["items"][0]
    assert first["body"] == "before d" and str(d) not in first["delivered_to"] + first["read_by"]
    r = await api.post(f"/v1/conversations/{cid}/read", json={"message_id": first["message_id"]}, headers=auth(d))
    assert (r.status_code, r.json()["error"]) == (404, "message_not_found")
    assert sorted((await events("message.sent", cid))[-1]["recipient_ids"]) == sorted([str(b), str(c), str(d)])

    # Again: nothing changes, no event. Over the limit (4 here), a non-connection, a stranger to the conversation: refused.
    assert (await add(api, auth, a, cid, d)).json()["added"] == []
    assert len(await events("conversation.members_added", cid)) == 1
    r = await add(api, auth, a, cid, stranger)
    assert (r.status_code, r.json()["error"]) == (422, "group_too_large")
    assert (await api.post(f"/v1/conversations/{cid}/leave", headers=auth(c))).status_code == 204
    r = await add(api, auth, c, cid, stranger)
    assert (r.status_code, r.json()["error"]) == (404, "conversation_not_found")
    r = await add(api, auth, d, cid, stranger)
    assert (r.status_code, r.json()["error"], r.json()["detail"]) == (409, "not_connected", {"member_ids": [str(stranger)]})
    r = await add(api, auth, a, cid, a)
    assert (r.status_code, r.json()["error"]) == (422, "self_message")
    # A member who left comes back when added again, and sees only what follows.
    assert (await add(api, auth, a, cid, c)).json()["added"] == [str(c)]
    assert (await api.get(f"/v1/conversations/{cid}/messages", headers=auth(c))).json()["items"] == []


async def test_leaving_tells_the_members_still_in_it(api: Any, auth: Any, member: Any, events: Any) -> None:
    a, b, c = [await member() for _ in range(3)]
    for o in (b, c):
        await connect(api, auth, a, o)
    cid = (await start(api, auth, a, b, c)).json()["conversation"]["conversation_id"]
    assert (await api.post(f"/v1/conversations/{cid}/leave", headers=auth(c))).status_code == 204
    [ev] = await events("conversation.member_left", cid)
    assert (ev["member_id"], sorted(ev["recipient_ids"])) == (str(c), sorted([str(a), str(b)]))
    assert (await api.post(f"/v1/conversations/{cid}/leave", headers=auth(c))).status_code == 404


async def test_blocks_are_honoured_when_adding(api: Any, auth: Any, member: Any) -> None:
    a, b, c, d = [await member() for _ in range(4)]
    for o in (b, c, d):
        await connect(api, auth, a, o)
    cid = (await start(api, auth, a, b, d, body="hi")).json()["conversation"]["conversation_id"]
    assert (await api.put(f"/v1/blocks/{a}", headers=auth(c))).status_code == 201  # c blocks a: no longer connected either
    r = await add(api, auth, a, cid, c)
    assert (r.status_code, r.json()["error"]) == (404, "member_not_found")
    assert (await api.put(f"/v1/blocks/{d}", headers=auth(b))).status_code == 201
    r = await add(api, auth, b, cid, d)  # d is already a member: a block inside a group closes nothing, adds nothing
    assert (r.status_code, r.json()["error"]) == (403, "blocked")


async def test_concurrent_adds_never_exceed_the_limit(api: Any, auth: Any, member: Any) -> None:
    a, b, c, d = [await member() for _ in range(4)]
    for o in (b, c, d):
        await connect(api, auth, a, o)
    await connect(api, auth, b, d)
    cid = (await start(api, auth, a, b, c, body="group")).json()["conversation"]["conversation_id"]
    e = await member()
    await connect(api, auth, b, e)
    # 3 members, limit 4: a adds d while b adds e; exactly one succeeds.
    r1, r2 = await asyncio.gather(add(api, auth, a, cid, d), add(api, auth, b, cid, e))
    assert sorted((r1.status_code, r2.status_code)) == [200, 422], (r1.text, r2.text)
    assert len((await api.get(f"/v1/conversations/{cid}", headers=auth(a))).json()["members"]) == 4


async def test_mute_is_in_the_events_for_the_gateway_only_as_muted_ids(api: Any, auth: Any, member: Any, events: Any) -> None:
    a, b, c = [await member() for _ in range(3)]
    for o in (b, c):
        await connect(api, auth, a, o)
    cid = (await start(api, auth, a, b, c)).json()["conversation"]["conversation_id"]
    assert (await api.put(f"/v1/conversations/{cid}/mute", headers=auth(c))).status_code == 204
    r = await say(api, auth, a, cid, "muted for c")
    mid = r.json()["message_id"]
    sent = (await events("message.sent", cid))[-1]
    assert (sorted(sent["recipient_ids"]), sent["muted_ids"]) == (sorted([str(b), str(c)]), [str(c)])
    assert (await say(api, auth, c, cid, "c still talks")).status_code == 201
    assert (await events("message.sent", cid))[-1]["muted_ids"] == []  # the muting member is the sender: their devices hear it
    assert (await api.patch(f"/v1/conversations/{cid}/messages/{mid}", json={"body": "edited"}, headers=auth(a))).status_code == 200
    assert (await events("message.edited", cid))[-1]["muted_ids"] == [str(c)]
    assert (await api.post(f"/v1/conversations/{cid}/read", json={"message_id": mid}, headers=auth(b))).status_code == 200
    assert (await events("message.read", cid))[-1]["muted_ids"] == [str(c)]
    assert (await api.delete(f"/v1/conversations/{cid}/mute", headers=auth(c))).status_code == 204
    assert (await api.delete(f"/v1/conversations/{cid}/messages/{mid}", headers=auth(a))).status_code == 204
    assert (await events("message.deleted", cid))[-1]["muted_ids"] == []
