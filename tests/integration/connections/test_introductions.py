"""Introductions on the real PostgreSQL: A asks mutual connection B to introduce them to C."""

from __future__ import annotations

import uuid
from typing import Any
from tests.integration.connections.conftest import connect




async def triangle(api: Any, auth: Any, member: Any) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """requester A and target C, both connected to introducer B, not to each other."""
    a, b, c = await member(), await member(), await member()
    await connect(api, auth, b, a)
    await connect(api, auth, b, c)
    return a, b, c


async def ask(api: Any, auth: Any, a: uuid.UUID, b: uuid.UUID, c: uuid.UUID, message: str = "Would love to talk about graphs") -> Any:
    return await api.post("/v1/introductions", json={"introducer_id": str(b), "target_id": str(c), "message": message}, headers=auth(a))


async def test_requested_forwarded_accepted_connects_with_provenance_introduction(api: Any, auth: Any, member: Any, outbox_events: Any) -> None:
    a, b, c = await triangle(api, auth, member)
    r = await ask(api, auth, a, b, c)
    assert r.status_code == 201, r.text
    intro = r.json()
    assert intro["status"] == "requested"
    iid = intro["introduction_id"]
    # The target sees nothing before the introducer forwards it.
    assert (await api.get("/v1/introductions", params={"role": "target"}, headers=auth(c))).json()["items"] == []
    assert (await api.post(f"/v1/introductions/{iid}/accept", headers=auth(c))).status_code == 404
    asked = (await api.get("/v1/introductions", params={"role": "introducer"}, headers=auth(b))).json()["items"]
    assert [i["introduction_id"] for i in asked] == [iid]

    r = await api.post(f"/v1/introductions/{iid}/forward", json={"note": "A is great"}, headers=auth(b))
    assert r.status_code == 200 and r.json()["status"] == "forwarded" and r.json()["forward_note"] == "A is great"
    assert [i["introduction_id"] for i in (await api.get("/v1/introductions", params={"role": "target"}, headers=auth(c))).json()["items"]] == [iid]
    r = await api.post(f"/v1/introductions/{iid}/accept", headers=auth(c))
    assert r.status_code == 200 and r.json()["status"] == "accepted"

    items = (await api.get("/v1/connections", headers=auth(a))).json()["items"]
    assert {(i["member_id"], i["provenance"]) for i in items} == {(str(b), "invitation"), (str(c), "introduction")}
    evs = await outbox_events(a, b, c)
    assert [(t, k) for t, k, _ in evs] == [("introduction.requested", str(a)), ("introduction.forwarded", str(b)), ("introduction.accepted", str(c))]
    assert set(evs[0][2]) == {"introduction_id", "requester_id", "introducer_id", "target_id", "at"}
    made = [d for t, _, d in await outbox_events(a, c) if t == "connection.made"]
    assert made == [{"a_id": str(a), "b_id": str(c), "provenance": "introduction", "made_at": made[0]["made_at"]}]


async def test_introducer_or_target_may_decline(api: Any, auth: Any, member: Any, outbox_events: Any) -> None:
    a, b, c = await triangle(api, auth, member)
    first = (await ask(api, auth, a, b, c)).json()["introduction_id"]
    r = await api.post(f"/v1/introductions/{first}/decline", headers=auth(b))
    assert r.status_code == 200 and r.json()["declined_by"] == "introducer"
    second = (await ask(api, auth, a, b, c)).json()["introduction_id"]
    assert (await api.post(f"/v1/introductions/{second}/forward", headers=auth(b))).status_code == 200
    r = await api.post(f"/v1/introductions/{second}/decline", headers=auth(c))
    assert r.status_code == 200 and r.json()["declined_by"] == "target"
    assert (await api.get("/v1/connections/count", headers=auth(a))).json()["count"] == 1
    assert [t for t, _, _ in await outbox_events(a, b, c)].count("introduction.declined") == 2


async def test_wrong_actor_state_and_caps_are_refused(api: Any, auth: Any, member: Any, db: Any) -> None:
    a, b, c = await triangle(api, auth, member)
    stranger = await member()
    cases = [
        (await ask(api, auth, a, stranger, c), 409, "not_a_mutual_connection"),
        (await ask(api, auth, a, b, b), 422, "introducer_is_target"),
        (await ask(api, auth, a, a, c), 422, "self_ask"),
        (await ask(api, auth, a, b, uuid.uuid4()), 404, "member_not_found"),
        (await ask(api, auth, a, b, c, message=""), 422, "invalid"),
        (await ask(api, auth, a, b, c, message="x" * 501), 422, "invalid"),
        (await ask(api, auth, b, a, c), 409, "already_connected"),
    ]
    for r, status, code in cases:
        assert (r.status_code, r.json()["error"]) == (status, code), r.text
    iid = (await ask(api, auth, a, b, c)).json()["introduction_id"]
    r = await ask(api, auth, a, b, c)
    assert (r.status_code, r.json()["error"], r.json()["detail"]) == (409, "introduction_open", {"introduction_id": iid})
    for who, action, status, code in [(a, "forward", 403, "not_the_introducer"), (c, "forward", 404, "introduction_not_found"),
                                      (stranger, "decline", 404, "introduction_not_found"), (a, "decline", 403, "not_yours_to_decline"),
                                      (b, "accept", 403, "not_the_target")]:
        r = await api.post(f"/v1/introductions/{iid}/{action}", headers=auth(who))
        assert (r.status_code, r.json()["error"]) == (status, code), (who, action, r.text)
    assert (await api.post(f"/v1/introductions/{iid}/forward", headers=auth(b))).status_code == 200
    r = await api.post(f"/v1/introductions/{iid}/forward", headers=auth(b))
    assert (r.status_code, r.json()["error"]) == (409, "introduction_state")
    rows = await db("SELECT status FROM connections.introductions WHERE introduction_id = $1", uuid.UUID(iid))
    assert rows[0]["status"] == "forwarded"
    # Cap of open requests (2 in these tests).
    d, e = await member(), await member()
    await connect(api, auth, d, b)
    await connect(api, auth, e, b)
    assert (await ask(api, auth, a, b, d)).status_code == 201
    r = await ask(api, auth, a, b, e)
    assert (r.status_code, r.json()["error"]) == (409, "introductions_cap")


async def test_a_block_closes_open_introductions_between_the_two(api: Any, auth: Any, member: Any, db: Any) -> None:
    a, b, c = await triangle(api, auth, member)
    iid = (await ask(api, auth, a, b, c)).json()["introduction_id"]
    assert (await api.post(f"/v1/introductions/{iid}/forward", headers=auth(b))).status_code == 200
    assert (await api.put(f"/v1/blocks/{a}", headers=auth(c))).status_code == 201
    r = await api.post(f"/v1/introductions/{iid}/accept", headers=auth(c))
    assert (r.status_code, r.json()["error"]) == (409, "introduction_state")
    rows = await db("SELECT status FROM connections.introductions WHERE introduction_id = $1", uuid.UUID(iid))
    assert rows[0]["status"] == "declined"
    assert (await api.get("/v1/connections/count", headers=auth(a))).json()["count"] == 1
