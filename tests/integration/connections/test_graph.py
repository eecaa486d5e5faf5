"""Connections, follows and blocks on the real PostgreSQL: listing, removal, and what a block takes away."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from services.connections.config import SCHEMA
from tests.integration.connections.conftest import connect, profile_event



async def test_connections_page_newest_first_and_remove_is_mutual(api: Any, auth: Any, member: Any, outbox_events: Any) -> None:
    me = await member()
    others = [await member() for _ in range(5)]
    for o in others:
        await connect(api, auth, o, me)
    seen, cursor = [], None
    while True:
        page = (await api.get("/v1/connections", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=auth(me))).json()
        seen += [c["member_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [str(o) for o in reversed(others)]

    r = await api.delete(f"/v1/connections/{others[0]}", headers=auth(me))
    assert r.status_code == 204
    assert (await api.get("/v1/connections/count", headers=auth(me))).json()["count"] == 4
    assert (await api.get("/v1/connections/count", headers=auth(others[0]))).json()["count"] == 0
    assert (await api.get("/v1/connections/count", params={"member_id": str(others[1])}, headers=auth(me))).json()["count"] == 1
    removed = [e for e in await outbox_events(me, others[0]) if e[0] == "connection.removed"]
    assert len(removed) == 1 and removed[0][1] == str(me)
    assert removed[0][2]["a_id"] == str(me) and removed[0][2]["b_id"] == str(others[0]) and removed[0][2]["removed_at"]
    r = await api.delete(f"/v1/connections/{others[0]}", headers=auth(me))
    assert (r.status_code, r.json()["error"]) == (404, "not_connected")
    r = await api.delete(f"/v1/connections/{me}", headers=auth(me))
    assert r.status_code == 422


async def test_follow_and_unfollow(api: Any, auth: Any, member: Any, outbox_events: Any) -> None:
    a, b = await member(), await member()
    assert (await api.put(f"/v1/follows/{b}", headers=auth(a))).status_code == 201
    assert (await api.put(f"/v1/follows/{b}", headers=auth(a))).status_code == 200
    assert (await api.put(f"/v1/follows/{a}", headers=auth(a))).json()["error"] == "self_follow"
    assert (await api.put(f"/v1/follows/{uuid.uuid4()}", headers=auth(a))).status_code == 404
    assert (await api.delete(f"/v1/follows/{b}", headers=auth(a))).status_code == 204
    assert (await api.delete(f"/v1/follows/{b}", headers=auth(a))).status_code == 204  # idempotent, no second event
    evs = await outbox_events(a, b)
    assert [t for t, _, _ in evs] == ["member.followed", "member.unfollowed"]
    assert set(evs[1][2]) == {"follower_id", "followee_id", "unfollowed_at"} and evs[1][1] == str(a)


async def test_block_removes_connection_invitations_and_follows_both_ways(api: Any, auth: Any, member: Any, db: Any,
                                                                          outbox_events: Any) -> None:
    a, b = await member(), await member()
    await connect(api, auth, a, b)
    assert (await api.put(f"/v1/follows/{a}", headers=auth(b))).status_code == 201
    assert (await api.put(f"/v1/follows/{b}", headers=auth(a))).status_code == 201
    c, d = await member(), await member()
    pending = (await api.post("/v1/invitations", json={"to_id": str(a)}, headers=auth(c))).json()
    assert (await api.put(f"/v1/follows/{a}", headers=auth(c))).status_code == 201

    r = await api.put(f"/v1/blocks/{b}", headers=auth(a))
    assert r.status_code == 201 and r.json()["blocked_id"] == str(b)
    assert (await api.put(f"/v1/blocks/{b}", headers=auth(a))).status_code == 200
    assert (await api.put(f"/v1/blocks/{c}", headers=auth(a))).status_code == 201

    assert (await api.get("/v1/connections/count", headers=auth(a))).json()["count"] == 0
    assert (await db(f"SELECT count(*) AS n FROM {SCHEMA}.follows WHERE follower_id = ANY($1::uuid[])", [a, b, c]))[0]["n"] == 0
    status = await db(f"SELECT status FROM {SCHEMA}.invitations WHERE invitation_id = $1", uuid.UUID(pending["invitation_id"]))
    assert status[0]["status"] == "cancelled"
    types = [t for t, _, _ in await outbox_events(a, b)]
    assert types[-4:] == ["connection.removed", "member.unfollowed", "member.unfollowed", "member.blocked"]
    blocked = [e for e in await outbox_events(a, b) if e[0] == "member.blocked"][0]
    assert blocked[1] == str(a) and set(blocked[2]) == {"blocker_id", "blocked_id", "blocked_at"}
    # No invitation to someone you blocked (403, say so) or who blocked you (404: blocks hide).
    r = await api.post("/v1/invitations", json={"to_id": str(b)}, headers=auth(a))
    assert (r.status_code, r.json()["error"]) == (403, "blocked")
    r = await api.post("/v1/invitations", json={"to_id": str(a)}, headers=auth(b))
    assert (r.status_code, r.json()["error"]) == (404, "member_not_found")
    assert (await api.put(f"/v1/follows/{a}", headers=auth(b))).status_code == 404
    assert (await api.get(f"/v1/degrees/{a}", headers=auth(b))).status_code == 404
    for viewer, viewed in ((a, b), (b, a)):  # hidden both ways
        assert (await api.get(f"/v1/degrees/{viewed}", headers=auth(viewer))).status_code == 404
        assert (await api.get("/v1/connections/count", params={"member_id": str(viewed)}, headers=auth(viewer))).status_code == 404
    # Unblocking restores nothing, but allows a new invitation.
    assert (await api.delete(f"/v1/blocks/{b}", headers=auth(a))).status_code == 204
    assert (await api.delete(f"/v1/blocks/{b}", headers=auth(a))).status_code == 204
    assert (await api.get("/v1/connections/count", headers=auth(a))).json()["count"] == 0
    assert [t for t, _, _ in await outbox_events(a, b)][-1] == "member.unblocked"
    assert (await api.post("/v1/invitations", json={"to_id": str(a)}, headers=auth(b))).status_code == 201
    assert (await api.put(f"/v1/blocks/{a}", headers=auth(a))).json()["error"] == "self_block"
    assert (await api.put(f"/v1/blocks/{uuid.uuid4()}", headers=auth(d))).status_code == 404


async def test_suggestions_weight_shared_topics_and_exclude_dismissed_pending_and_blocked(api: Any, auth: Any, member: Any) -> None:
    me = await member(topics=["graphs", "python"])
    x, y = await member(), await member()
    plain, shared = await member(topics=["cooking"]), await member(topics=["Python"])
    for a, b in ((x, me), (y, me), (x, plain), (y, shared)):
        await connect(api, auth, a, b)

    async def suggested() -> list[tuple[str, int, int]]:
        r = await api.get("/v1/suggestions", headers=auth(me))
        assert r.status_code == 200
        return [(i["member_id"], i["mutual_count"], i["shared_topics"]) for i in r.json()["items"]]

    # Same Adamic–Adar (one mutual of degree 2 each); the shared topic ranks `shared` first.
    assert await suggested() == [(str(shared), 1, 1), (str(plain), 1, 0)]
    assert (await api.post(f"/v1/suggestions/{shared}/dismiss", headers=auth(me))).status_code == 204
    assert (await api.post(f"/v1/suggestions/{shared}/dismiss", headers=auth(me))).status_code == 204
    assert await suggested() == [(str(plain), 1, 0)]
    inv = (await api.post("/v1/invitations", json={"to_id": str(plain), "via_suggestion": True}, headers=auth(me))).json()
    assert await suggested() == []
    assert (await api.post(f"/v1/invitations/{inv['invitation_id']}/withdraw", headers=auth(me))).status_code == 200
    assert await suggested() == [(str(plain), 1, 0)]
    assert (await api.put(f"/v1/blocks/{me}", headers=auth(plain))).status_code == 201
    assert await suggested() == []
    assert (await api.post(f"/v1/suggestions/{uuid.uuid4()}/dismiss", headers=auth(me))).status_code == 404
    assert (await api.post(f"/v1/suggestions/{me}/dismiss", headers=auth(me))).status_code == 422


async def test_an_invitation_sent_from_suggestions_makes_a_suggestion_edge(api: Any, auth: Any, member: Any) -> None:
    a, b = await member(), await member()
    inv = (await api.post("/v1/invitations", json={"to_id": str(b), "via_suggestion": True}, headers=auth(a))).json()
    assert (await api.post(f"/v1/invitations/{inv['invitation_id']}/accept", headers=auth(b))).status_code == 200
    items = (await api.get("/v1/connections", headers=auth(b))).json()["items"]
    assert [(i["member_id"], i["provenance"]) for i in items] == [(str(a), "suggestion")]


async def test_degrees_on_a_small_graph_and_hidden_members(api: Any, auth: Any, member: Any) -> None:
    a, b, c, d, e = [await member() for _ in range(5)]
    for x, y in ((a, b), (b, c), (c, d)):
        await connect(api, auth, x, y)
    expect = {b: (1, "1st", 2), c: (2, "2nd", 3), d: (3, "3rd", 4), e: (None, "beyond", None)}
    for other, (degree, label, path_len) in expect.items():
        body = (await api.get(f"/v1/degrees/{other}", headers=auth(a))).json()
        assert (body["degree"], body["label"]) == (degree, label)
        assert (len(body["path"]) if body["path"] else None) == path_len
    body = (await api.get(f"/v1/degrees/{c}", headers=auth(a))).json()
    assert [m["member_id"] for m in body["mutuals"]] == [str(b)] and body["path"][1]["member_id"] == str(b)
    # c, the only way from a to d, blocks a: no path is revealed through a member hidden from a.
    assert (await api.put(f"/v1/blocks/{a}", headers=auth(c))).status_code == 201
    assert (await api.get(f"/v1/degrees/{d}", headers=auth(a))).json()["degree"] is None
    assert (await api.get(f"/v1/degrees/{uuid.uuid4()}", headers=auth(a))).status_code == 404
    assert (await api.get("/v1/degrees/nope", headers=auth(a))).status_code == 422


async def test_an_account_deleted_while_others_invite_and_accept_keeps_nothing_pointing_at_it(
        api: Any, auth: Any, member: Any, sessions: Any, db: Any) -> None:
    from datetime import UTC, datetime

    from services.connections import handlers
    from tests.integration.connections.conftest import profile_event

    for _ in range(3):
        gone, inviter, invitee, follower = [await member() for _ in range(4)]
        from_gone = (await api.post("/v1/invitations", json={"to_id": str(invitee)}, headers=auth(gone))).json()

        async def delete() -> None:
            async with sessions() as s, s.begin():
                await handlers.on_deleted(s, profile_event("account.deleted", {"member_id": str(gone), "deleted_at": datetime.now(UTC).isoformat()}))

        results = await asyncio.gather(
            delete(),
            api.post(f"/v1/invitations/{from_gone['invitation_id']}/accept", headers=auth(invitee)),
            api.post("/v1/invitations", json={"to_id": str(gone)}, headers=auth(inviter)),
            api.put(f"/v1/follows/{gone}", headers=auth(follower)),
        )
        for r in results[1:]:
            assert r.status_code < 500, r.text
        assert (await db(f"SELECT count(*) AS n FROM {SCHEMA}.edges WHERE member_id = $1 OR other_id = $1", gone))[0]["n"] == 0
        assert (await db(f"SELECT count(*) AS n FROM {SCHEMA}.follows WHERE followee_id = $1", gone))[0]["n"] == 0
        pending = await db(f"SELECT count(*) AS n FROM {SCHEMA}.invitations WHERE status = 'pending' AND (from_id = $1 OR to_id = $1)", gone)
        assert pending[0]["n"] == 0
