"""Profiles and their visibility: every field x every visibility x every kind of reader, through the real
app, with the 1st-degree connection learnt from a real `connection.made` event on Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.catalog import CONNECTIONS
from services.profiles.visibility import FIELDS
from tests.conftest import wait_until
from tests.integration.profiles.conftest import Member, connection_made, connection_removed, events_for, register

VALUES: dict[str, Any] = {
    "display_name": "Grace Hopper", "headline": "Rear admiral", "bio": "Wrote the first compiler.", "location": "Arlington",
    "company": "US Navy", "website": "https://example.org/grace", "skills": ["COBOL", "Compilers"], "topics": ["programming-languages"],
}
EMPTY: dict[str, Any] = {f: ([] if f in ("skills", "topics") else None) for f in FIELDS}
SEES = {"anonymous": {"public"}, "member": {"public"}, "connection": {"public", "connections"}, "owner": {"public", "connections", "private"}}


@pytest.fixture(scope="module")
async def cast(profiles: httpx.AsyncClient, consumer: Any, publish: Any) -> dict[str, Member]:
    """Three members per visibility setting: the owner, a stranger, and a connection of the owner."""
    owners = {}
    stranger = await register(profiles, "stranger")
    friend = await register(profiles, "friend")
    for vis in ("public", "connections", "private"):
        owner = await register(profiles, f"own_{vis[:4]}")
        body = dict(VALUES, visibility={f: vis for f in FIELDS})
        resp = await profiles.patch("/v1/profiles/me", json=body, headers=owner.auth)
        assert resp.status_code == 200, resp.text
        await publish(CONNECTIONS, "connection.made", connection_made(owner.id, friend.id), key=str(owner.id))
        owners[vis] = owner

    async def connected() -> bool:
        for o in owners.values():
            if not await _relation_is(profiles, o, friend, "connection"):
                return False
        return True

    await wait_until(connected, timeout=60)
    return {"stranger": stranger, "friend": friend, **{f"owner_{v}": o for v, o in owners.items()}}


@pytest.mark.parametrize("visibility", ["public", "connections", "private"])
@pytest.mark.parametrize("reader", ["anonymous", "member", "connection", "owner"])
async def test_each_field_is_shown_only_to_readers_its_visibility_allows(profiles: httpx.AsyncClient, cast: dict[str, Member], visibility: str, reader: str) -> None:
    owner = cast[f"owner_{visibility}"]
    headers = {"anonymous": {}, "member": cast["stranger"].auth, "connection": cast["friend"].auth, "owner": owner.auth}[reader]
    resp = await profiles.get(f"/v1/profiles/{owner.id}", headers=headers)
    assert resp.status_code == 200
    body = resp.json()
    assert body["relation"] == reader and body["handle"] == owner.handle
    expected = VALUES if visibility in SEES[reader] else EMPTY
    for field in FIELDS:
        assert body[field] == expected[field], (field, visibility, reader)
    assert set(body["trust"]) == {"level", "email_verified", "karma", "member_since"}  # always public


@pytest.mark.parametrize("reader", ["anonymous", "member", "connection"])
async def test_the_batch_read_shows_each_profile_exactly_as_the_single_read(profiles: httpx.AsyncClient, cast: dict[str, Member], reader: str) -> None:
    headers = {"anonymous": {}, "member": cast["stranger"].auth, "connection": cast["friend"].auth}[reader]
    owners = [cast[f"owner_{v}"] for v in ("private", "public", "connections")]
    ids = [str(o.id) for o in owners]
    resp = await profiles.get("/v1/profiles", params={"member_id": [ids[0], str(uuid.uuid4()), *ids[1:], ids[0]]}, headers=headers)
    assert resp.status_code == 200, resp.text
    singles = [(await profiles.get(f"/v1/profiles/{i}", headers=headers)).json() for i in ids]
    assert resp.json()["items"] == singles  # in the order asked, unknown and repeated ids left out
    assert (await profiles.get("/v1/profiles", params={"member_id": [str(uuid.uuid4())] * 101})).status_code == 422
    assert (await profiles.get("/v1/profiles", params={"member_id": "nope"})).status_code == 422


async def test_mixed_visibilities_on_one_profile(profiles: httpx.AsyncClient, cast: dict[str, Member]) -> None:
    owner = cast["owner_public"]
    try:
        resp = await profiles.patch("/v1/profiles/me", json={"visibility": {"bio": "private", "location": "connections"}}, headers=owner.auth)
        assert resp.json()["visibility"]["bio"] == "private" and resp.json()["visibility"]["headline"] == "public"
        anon = (await profiles.get(f"/v1/profiles/{owner.id}")).json()
        friend = (await profiles.get(f"/v1/profiles/{owner.id}", headers=cast["friend"].auth)).json()
        assert anon["headline"] == VALUES["headline"] and anon["bio"] is None and anon["location"] is None
        assert friend["location"] == VALUES["location"] and friend["bio"] is None
    finally:
        await profiles.patch("/v1/profiles/me", json={"visibility": {f: "public" for f in FIELDS}}, headers=owner.auth)


async def test_removed_connection_loses_connections_only_fields(profiles: httpx.AsyncClient, consumer: Any, publish: Any) -> None:
    owner, friend = await register(profiles, "rm_owner"), await register(profiles, "rm_friend")
    await profiles.patch("/v1/profiles/me", json={"headline": "Only for friends", "visibility": {"headline": "connections"}}, headers=owner.auth)
    made = datetime.now(UTC)
    await publish(CONNECTIONS, "connection.made", connection_made(friend.id, owner.id, made), key=str(friend.id))

    async def headline() -> Any:
        return (await profiles.get(f"/v1/profiles/{owner.id}", headers=friend.auth)).json()["headline"]

    assert await wait_until(headline, timeout=60) == "Only for friends"
    await publish(CONNECTIONS, "connection.removed", connection_removed(owner.id, friend.id), key=str(owner.id))
    await wait_until(lambda: _is_none(headline), timeout=60)
    # A late, older `connection.made` (another relay replica, a redelivery) does not bring it back.
    await publish(CONNECTIONS, "connection.made", connection_made(friend.id, owner.id, made), key=str(friend.id))
    marker = await register(profiles, "rm_marker")
    await publish(CONNECTIONS, "connection.made", connection_made(marker.id, owner.id), key=str(friend.id))
    # Same key, same partition: once the marker is applied, the late event before it was too.
    await wait_until(lambda: _relation_is(profiles, owner, marker, "connection"), timeout=60)
    assert await headline() is None


async def _is_none(get: Any) -> bool:
    return await get() is None


async def _relation_is(profiles: httpx.AsyncClient, owner: Member, reader: Member, relation: str) -> bool:
    return (await profiles.get(f"/v1/profiles/{owner.id}", headers=reader.auth)).json()["relation"] == relation


async def test_own_profile_shows_everything_with_visibility(profiles: httpx.AsyncClient, cast: dict[str, Member]) -> None:
    owner = cast["owner_private"]
    body = (await profiles.get("/v1/profiles/me", headers=owner.auth)).json()
    assert all(body[f] == VALUES[f] for f in FIELDS)
    assert body["visibility"] == {f: "private" for f in FIELDS}


async def test_update_normalises_and_clears_and_publishes_public_safe_event(profiles: httpx.AsyncClient, relay: Any, test_infra: Any) -> None:
    m = await register(profiles, "upd")
    resp = await profiles.patch("/v1/profiles/me", json={
        "display_name": "  Ada  ", "topics": ["Machine Learning", "machine_learning", "C++"], "skills": ["Python", "python", "SQL"],
    }, headers=m.auth)
    body = resp.json()
    assert resp.status_code == 200 and body["display_name"] == "Ada"
    assert body["topics"] == ["machine-learning", "c++"] and body["skills"] == ["Python", "SQL"]
    cleared = (await profiles.patch("/v1/profiles/me", json={"display_name": None, "skills": []}, headers=m.auth)).json()
    assert cleared["display_name"] is None and cleared["skills"] == [] and cleared["topics"] == ["machine-learning", "c++"]
    await profiles.patch("/v1/profiles/me", json={"visibility": {"topics": "private"}}, headers=m.auth)

    updates = await wait_until(lambda: _at_least(events_for(test_infra, m.id, "profile.updated"), 3), timeout=30)
    assert updates[0]["topics"] == ["machine-learning", "c++"] and updates[0]["handle"] == m.handle
    assert set(updates[0]) == {"member_id", "handle", "topics", "updated_at"}
    assert updates[-1]["topics"] == []  # topics went private: the event no longer carries them


async def _at_least(coro: Any, n: int) -> Any:
    items = await coro
    return items if len(items) >= n else None


@pytest.mark.parametrize("body", [
    {"display_name": "x" * 101}, {"headline": "x" * 201}, {"bio": "x" * 2001}, {"website": "javascript:alert(1)"},
    {"website": "not a url"}, {"skills": ["x" * 51]}, {"skills": ["s"] * 51}, {"topics": ["!!!"]}, {"topics": "not-a-list"},
    {"visibility": {"email": "public"}}, {"visibility": {"bio": "friends"}}, {"handle": "new_handle"}, {"display_name": 42},
    {"headline": "two\nlines"}, {"bio": "nul\x00byte"},
])
async def test_bad_profile_updates_are_422_and_change_nothing(profiles: httpx.AsyncClient, cast: dict[str, Member], body: dict[str, Any]) -> None:
    owner = cast["owner_connections"]
    before = (await profiles.get("/v1/profiles/me", headers=owner.auth)).json()
    resp = await profiles.patch("/v1/profiles/me", json=body, headers=owner.auth)
    assert resp.status_code == 422 and resp.json()["error"] == "invalid" and resp.json()["detail"]
    assert (await profiles.get("/v1/profiles/me", headers=owner.auth)).json() == before


async def test_unknown_member_is_404_and_bad_id_is_422(profiles: httpx.AsyncClient) -> None:
    resp = await profiles.get(f"/v1/profiles/{uuid.uuid4()}")
    assert resp.status_code == 404 and resp.json()["error"] == "member_not_found"
    assert (await profiles.get("/v1/profiles/not-a-uuid")).status_code == 422
    assert (await profiles.patch("/v1/profiles/me", json={"headline": "x"})).status_code == 401
