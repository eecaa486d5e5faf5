"""Invitations on the real PostgreSQL: the lifecycle, bad input, limits and the accept/withdraw race."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from services.connections.config import SCHEMA
from services.connections.handlers import ExpiryWorker



async def invite(api: Any, auth: Any, a: uuid.UUID, b: uuid.UUID, **body: Any) -> Any:
    return await api.post("/v1/invitations", json={"to_id": str(b), **body}, headers=auth(a))


async def test_invite_then_accept_connects_both_with_provenance_and_events(api: Any, auth: Any, member: Any, outbox_events: Any) -> None:
    a, b = await member(), await member()
    r = await invite(api, auth, a, b, note="We met at PyCon")
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["status"] == "pending" and inv["from_id"] == str(a) and inv["note"] == "We met at PyCon"

    received = (await api.get("/v1/invitations", params={"direction": "in"}, headers=auth(b))).json()["items"]
    assert [i["invitation_id"] for i in received] == [inv["invitation_id"]]
    assert (await api.get("/v1/invitations", params={"direction": "out"}, headers=auth(b))).json()["items"] == []

    r = await api.post(f"/v1/invitations/{inv['invitation_id']}/accept", headers=auth(b))
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    for me, other in ((a, b), (b, a)):
        items = (await api.get("/v1/connections", headers=auth(me))).json()["items"]
        assert [(c["member_id"], c["provenance"]) for c in items] == [(str(other), "invitation")]
        assert (await api.get("/v1/connections/count", headers=auth(me))).json()["count"] == 1

    evs = await outbox_events(a, b)
    assert [t for t, _, _ in evs] == ["invitation.sent", "invitation.accepted", "connection.made"]
    sent, accepted, made = evs
    assert sent[1] == str(a) and accepted[1] == str(b)  # key = the acting member
    assert sent[2] == {"invitation_id": inv["invitation_id"], "from_id": str(a), "to_id": str(b), "at": sent[2]["at"], "note_present": True}
    assert made[2]["a_id"] == str(a) and made[2]["b_id"] == str(b) and made[2]["provenance"] == "invitation" and made[2]["made_at"]


async def test_decline_and_withdraw_end_the_invitation_without_a_connection(api: Any, auth: Any, member: Any, outbox_events: Any) -> None:
    a, b, c = await member(), await member(), await member()
    declined = (await invite(api, auth, a, b)).json()
    withdrawn = (await invite(api, auth, a, c)).json()
    r = await api.post(f"/v1/invitations/{declined['invitation_id']}/decline", headers=auth(b))
    assert r.status_code == 200 and r.json()["status"] == "declined"
    r = await api.post(f"/v1/invitations/{withdrawn['invitation_id']}/withdraw", headers=auth(a))
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert (await api.get("/v1/connections/count", headers=auth(a))).json()["count"] == 0
    assert [t for t, _, _ in await outbox_events(a, b)] == ["invitation.sent", "invitation.declined"]
    assert [t for t, _, _ in await outbox_events(a, c)] == ["invitation.sent", "invitation.withdrawn"]
    # A finished invitation cannot be acted on again; a new one can be sent.
    r = await api.post(f"/v1/invitations/{declined['invitation_id']}/accept", headers=auth(b))
    assert r.status_code == 409 and r.json()["error"] == "invitation_not_pending"
    assert (await invite(api, auth, a, c)).status_code == 201


async def test_repeated_invitation_is_not_duplicated_and_reverse_one_points_to_the_pending(api: Any, auth: Any, member: Any, db: Any) -> None:
    a, b = await member(), await member()
    first = await invite(api, auth, a, b)
    again = await invite(api, auth, a, b, note="hello again")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["invitation_id"] == first.json()["invitation_id"]
    reverse = await invite(api, auth, b, a)
    assert reverse.status_code == 409 and reverse.json()["error"] == "invited_by_them"
    assert reverse.json()["detail"] == {"invitation_id": first.json()["invitation_id"]}
    rows = await db(f"SELECT count(*) AS n FROM {SCHEMA}.invitations WHERE from_id = ANY($1::uuid[])", [a, b])
    assert rows[0]["n"] == 1


async def test_bad_input_is_a_clear_4xx_and_changes_nothing(api: Any, auth: Any, member: Any, db: Any, outbox_events: Any) -> None:
    a, b, c = await member(), await member(), await member()
    cases = [
        (await invite(api, auth, a, a), 422, "self_invite"),
        (await invite(api, auth, a, uuid.uuid4()), 404, "member_not_found"),
        (await api.post("/v1/invitations", json={"to_id": "not-a-uuid"}, headers=auth(a)), 422, "invalid"),
        (await invite(api, auth, a, b, note="x" * 301), 422, "invalid"),
        (await invite(api, auth, a, b, priority="high"), 422, "invalid"),
        (await api.post("/v1/invitations", content=b"{nope", headers={**auth(a), "content-type": "application/json"}), 400, "malformed_json"),
        (await api.post("/v1/invitations", json={"to_id": str(b)}), 401, "unauthenticated"),
        (await api.post("/v1/invitations/not-a-uuid/accept", headers=auth(a)), 422, "invalid"),
        (await api.post(f"/v1/invitations/{uuid.uuid4()}/accept", headers=auth(a)), 404, "invitation_not_found"),
        (await api.get("/v1/invitations", params={"direction": "sideways"}, headers=auth(a)), 422, "invalid"),
        (await api.get("/v1/connections", params={"cursor": "garbage!"}, headers=auth(a)), 422, "invalid_cursor"),
        (await invite(api, auth, uuid.uuid4(), a), 404, "caller_not_registered"),
    ]
    for r, status, code in cases:
        assert (r.status_code, r.json()["error"]) == (status, code), r.text
        assert r.json()["message"]
    inv = (await invite(api, auth, a, b)).json()
    # Someone else's invitation: a stranger does not even learn it exists; the inviter cannot accept it.
    for who, action, status, code in [(c, "accept", 404, "invitation_not_found"), (c, "withdraw", 404, "invitation_not_found"),
                                      (a, "accept", 403, "not_your_invitation"), (a, "decline", 403, "not_your_invitation"),
                                      (b, "withdraw", 403, "not_your_invitation")]:
        r = await api.post(f"/v1/invitations/{inv['invitation_id']}/{action}", headers=auth(who))
        assert (r.status_code, r.json()["error"]) == (status, code)
    rows = await db(f"SELECT status FROM {SCHEMA}.invitations WHERE invitation_id = $1", uuid.UUID(inv["invitation_id"]))
    assert [r["status"] for r in rows] == ["pending"]
    assert [t for t, _, _ in await outbox_events(a)] == ["invitation.sent"]


async def test_pending_cap_and_weekly_cap(api: Any, auth: Any, member: Any) -> None:
    a = await member()
    others = [await member() for _ in range(6)]
    for o in others[:3]:  # pending cap is 3 in these tests
        assert (await invite(api, auth, a, o)).status_code == 201
    r = await invite(api, auth, a, others[3])
    assert (r.status_code, r.json()["error"], r.json()["detail"]) == (409, "pending_invitations_cap", {"cap": 3})
    # Withdrawing frees a pending slot, but sends still count against the 7-day cap of 5.
    pending = (await api.get("/v1/invitations", params={"direction": "out"}, headers=auth(a))).json()["items"]
    for inv in pending:
        assert (await api.post(f"/v1/invitations/{inv['invitation_id']}/withdraw", headers=auth(a))).status_code == 200
    assert (await invite(api, auth, a, others[3])).status_code == 201
    assert (await invite(api, auth, a, others[4])).status_code == 201
    r = await invite(api, auth, a, others[5])
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"
    assert int(r.headers["retry-after"]) > 6 * 24 * 3600


async def test_members_whose_invitations_are_mostly_declined_are_restricted(api: Any, auth: Any, member: Any, db: Any) -> None:
    a = await member()
    others = [await member() for _ in range(4)]
    for o in others[:3]:
        inv = (await invite(api, auth, a, o)).json()
        assert (await api.post(f"/v1/invitations/{inv['invitation_id']}/decline", headers=auth(o))).status_code == 200
    r = await invite(api, auth, a, others[3])
    assert (r.status_code, r.json()["error"]) == (403, "invitations_restricted"), r.text
    assert r.json()["detail"]["until"]
    # Someone else, with invitations accepted, is not restricted.
    b, c = await member(), await member()
    inv = (await invite(api, auth, b, c)).json()
    assert (await api.post(f"/v1/invitations/{inv['invitation_id']}/accept", headers=auth(c))).status_code == 200
    rows = await db(f"SELECT invitations_restricted_until FROM {SCHEMA}.members WHERE member_id = $1", b)
    assert rows[0][0] is None


async def test_concurrent_accept_and_withdraw_leave_exactly_one_outcome(api: Any, auth: Any, member: Any, db: Any, outbox_events: Any) -> None:
    for _ in range(5):
        a, b = await member(), await member()
        inv = (await invite(api, auth, a, b)).json()
        accept, withdraw = await asyncio.gather(
            api.post(f"/v1/invitations/{inv['invitation_id']}/accept", headers=auth(b)),
            api.post(f"/v1/invitations/{inv['invitation_id']}/withdraw", headers=auth(a)),
        )
        statuses = sorted([accept.status_code, withdraw.status_code])
        assert statuses == [200, 409], (accept.text, withdraw.text)
        loser = accept if accept.status_code == 409 else withdraw
        assert loser.json()["error"] == "invitation_not_pending"
        final = (await db(f"SELECT status FROM {SCHEMA}.invitations WHERE invitation_id = $1", uuid.UUID(inv["invitation_id"])))[0]["status"]
        edges = (await db(f"SELECT count(*) AS n FROM {SCHEMA}.edges WHERE member_id = ANY($1::uuid[])", [a, b]))[0]["n"]
        types = [t for t, _, _ in await outbox_events(a, b)]
        if accept.status_code == 200:
            assert final == "accepted" and edges == 2 and types == ["invitation.sent", "invitation.accepted", "connection.made"]
        else:
            assert final == "withdrawn" and edges == 0 and types == ["invitation.sent", "invitation.withdrawn"]


async def test_overdue_invitations_expire_and_cannot_be_accepted(api: Any, auth: Any, member: Any, db: Any, conn_settings: Any,
                                                                 outbox_events: Any) -> None:
    a, b = await member(), await member()
    inv = (await invite(api, auth, a, b)).json()
    await db(f"UPDATE {SCHEMA}.invitations SET expires_at = now() - interval '1 second' WHERE invitation_id = $1", uuid.UUID(inv["invitation_id"]))
    r = await api.post(f"/v1/invitations/{inv['invitation_id']}/accept", headers=auth(b))
    assert (r.status_code, r.json()["error"]) == (410, "invitation_expired")
    worker = ExpiryWorker(conn_settings)
    try:
        assert await worker.sweep() >= 1
    finally:
        await worker.close()
    r = await api.get("/v1/invitations", params={"direction": "out", "status": "expired"}, headers=auth(a))
    assert [i["invitation_id"] for i in r.json()["items"]] == [inv["invitation_id"]]
    assert [t for t, _, _ in await outbox_events(a, b)] == ["invitation.sent", "invitation.expired"]
    assert (await invite(api, auth, a, b)).status_code == 201  # a fresh invitation is allowed


async def test_invitation_lists_page_with_a_cursor(api: Any, auth: Any, member: Any) -> None:
    b = await member()
    senders = [await member() for _ in range(5)]
    for s in senders:
        assert (await invite(api, auth, s, b)).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"direction": "in", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/invitations", params=params, headers=auth(b))).json()
        seen += [i["from_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [str(s) for s in reversed(senders)]


async def test_concurrent_block_and_accept_never_leave_a_connection_between_blocked_members(api: Any, auth: Any, member: Any, db: Any) -> None:
    for _ in range(4):
        a, b = await member(), await member()
        inv = (await invite(api, auth, a, b)).json()
        accept, block = await asyncio.gather(
            api.post(f"/v1/invitations/{inv['invitation_id']}/accept", headers=auth(b)),
            api.put(f"/v1/blocks/{b}", headers=auth(a)),
        )
        assert block.status_code == 201 and accept.status_code in (200, 409), (accept.text, block.text)
        edges = (await db(f"SELECT count(*) AS n FROM {SCHEMA}.edges WHERE member_id = ANY($1::uuid[])", [a, b]))[0]["n"]
        assert edges == 0


async def test_two_members_inviting_each_other_at_once_make_one_invitation(api: Any, auth: Any, member: Any, db: Any) -> None:
    for _ in range(4):
        a, b = await member(), await member()
        ab, ba = await asyncio.gather(invite(api, auth, a, b), invite(api, auth, b, a))
        assert sorted([ab.status_code, ba.status_code]) == [201, 409], (ab.text, ba.text)
        rows = await db(f"SELECT count(*) AS n FROM {SCHEMA}.invitations WHERE status = 'pending' AND from_id = ANY($1::uuid[])", [a, b])
        assert rows[0]["n"] == 1


async def test_inviting_again_after_the_pending_one_expired_makes_a_fresh_invitation(api: Any, auth: Any, member: Any, db: Any,
                                                                                     outbox_events: Any) -> None:
    a, b = await member(), await member()
    old = (await invite(api, auth, a, b)).json()
    await db(f"UPDATE {SCHEMA}.invitations SET expires_at = now() - interval '1 second' WHERE invitation_id = $1", uuid.UUID(old["invitation_id"]))
    r = await invite(api, auth, a, b)  # before any sweep ran
    assert r.status_code == 201 and r.json()["invitation_id"] != old["invitation_id"]
    assert [t for t, _, _ in await outbox_events(a, b)] == ["invitation.sent", "invitation.expired", "invitation.sent"]


async def test_notes_are_trimmed_and_control_characters_refused(api: Any, auth: Any, member: Any) -> None:
    a, b, c = await member(), await member(), await member()
    r = await invite(api, auth, a, b, note="nul\x00byte")
    assert (r.status_code, r.json()["error"]) == (422, "invalid")
    r = await invite(api, auth, a, b, note="   ")
    assert r.status_code == 201 and r.json()["note"] is None
    r = await invite(api, auth, a, c, note="  see you\nat the meetup  ")
    assert r.json()["note"] == "see you\nat the meetup"


async def test_ignored_invitations_count_towards_the_restriction(api: Any, auth: Any, member: Any, db: Any, conn_settings: Any) -> None:
    a = await member()
    others = [await member() for _ in range(4)]
    for o in others[:3]:
        assert (await invite(api, auth, a, o)).status_code == 201
    await db(f"UPDATE {SCHEMA}.invitations SET expires_at = now() - interval '1 second' WHERE from_id = $1", a)
    worker = ExpiryWorker(conn_settings)
    try:
        await worker.sweep()
    finally:
        await worker.close()
    r = await invite(api, auth, a, others[3])
    assert (r.status_code, r.json()["error"]) == (403, "invitations_restricted")
