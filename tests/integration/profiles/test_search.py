"""Member search through the real app: full-text on the fields a reader may see, trigram matching for
partial names, the reader's connections seeing their connections-only fields, cursor pagination."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.catalog import CONNECTIONS
from tests.conftest import wait_until
from tests.integration.profiles.conftest import Member, connection_made, register


@pytest.fixture(scope="module")
async def people(profiles: httpx.AsyncClient, consumer: Any, publish: Any) -> dict[str, Any]:
    word = "zq" + uuid.uuid4().hex[:8]  # a word only this module's members carry
    ada = await register(profiles, "ada")
    await profiles.patch("/v1/profiles/me", json={
        "display_name": f"Ada Lovelace{word}", "headline": f"Analytical engines {word}", "skills": ["Mathematics", f"Poetry{word}"],
        "topics": [f"computing-{word}"], "bio": f"secretbio{word}", "visibility": {"bio": "private"},
    }, headers=ada.auth)
    hidden = await register(profiles, "hid")
    await profiles.patch("/v1/profiles/me", json={
        "display_name": f"Hidden Person{word}", "headline": f"friendsonly{word}",
        "visibility": {"display_name": "connections", "headline": "connections"},
    }, headers=hidden.auth)
    friend = await register(profiles, "frd")
    stranger = await register(profiles, "str")
    await publish(CONNECTIONS, "connection.made", connection_made(hidden.id, friend.id), key=str(hidden.id))

    async def connected() -> bool:
        return (await profiles.get(f"/v1/profiles/{hidden.id}", headers=friend.auth)).json()["relation"] == "connection"

    await wait_until(connected, timeout=60)
    crowd = []
    for i in range(5):
        c = await register(profiles, f"crowd{i}")
        await profiles.patch("/v1/profiles/me", json={"headline": f"Crowd member {word}"}, headers=c.auth)
        crowd.append(c)
    return {"word": word, "ada": ada, "hidden": hidden, "friend": friend, "stranger": stranger, "crowd": crowd}


async def ids(profiles: httpx.AsyncClient, q: str, headers: dict[str, str] | None = None, **params: Any) -> list[str]:
    resp = await profiles.get("/v1/members/search", params={"q": q, **params}, headers=headers or {})
    assert resp.status_code == 200, resp.text
    return [item["member_id"] for item in resp.json()["items"]]


@pytest.mark.parametrize("what", ["handle", "name", "headline", "skill", "topic", "partial_name"])
async def test_finds_members_by_each_public_field(profiles: httpx.AsyncClient, people: dict[str, Any], what: str) -> None:
    ada: Member = people["ada"]
    w = people["word"]
    q = {
        "handle": ada.handle, "name": f"lovelace{w}", "headline": f"engines {w}", "skill": f"poetry{w}", "topic": f"computing {w}",
        "partial_name": f"lovelace{w}"[:-2],  # a typo-ish prefix: trigram similarity, not full text
    }[what]
    assert str(ada.id) in await ids(profiles, q)


async def test_private_and_connections_only_fields_are_not_searchable_by_others(profiles: httpx.AsyncClient, people: dict[str, Any]) -> None:
    w, hidden = people["word"], people["hidden"]
    assert str(people["ada"].id) not in await ids(profiles, f"secretbio{w}")  # ada's private bio
    for headers in ({}, people["stranger"].auth):
        assert str(hidden.id) not in await ids(profiles, f"friendsonly{w}", headers)
        assert str(hidden.id) not in await ids(profiles, f"person{w}", headers)
    # ...but a 1st-degree connection finds them, and sees the fields on the card.
    resp = await profiles.get("/v1/members/search", params={"q": f"friendsonly{w}"}, headers=people["friend"].auth)
    (card,) = [i for i in resp.json()["items"] if i["member_id"] == str(hidden.id)]
    assert card["relation"] == "connection" and card["display_name"] == f"Hidden Person{w}" and card["headline"] == f"friendsonly{w}"


async def test_cards_hide_fields_the_reader_may_not_see(profiles: httpx.AsyncClient, people: dict[str, Any]) -> None:
    hidden = people["hidden"]
    resp = await profiles.get("/v1/members/search", params={"q": hidden.handle})
    (card,) = [i for i in resp.json()["items"] if i["member_id"] == str(hidden.id)]
    assert card["relation"] == "anonymous" and card["display_name"] is None and card["headline"] is None


async def test_cursor_pagination_walks_every_match_once(profiles: httpx.AsyncClient, people: dict[str, Any]) -> None:
    w = people["word"]
    expected = {str(c.id) for c in people["crowd"]}
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"q": f"crowd {w}", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await profiles.get("/v1/members/search", params=params)).json()
        assert len(page["items"]) <= 2
        seen += [i["member_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and set(seen) == expected


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "x" * 101}, {"q": "a", "limit": 0}, {"q": "a", "limit": 51}, {"q": "a", "limit": "ten"}])
async def test_bad_search_parameters_are_422(profiles: httpx.AsyncClient, params: dict[str, Any]) -> None:
    resp = await profiles.get("/v1/members/search", params=params)
    assert resp.status_code == 422 and resp.json()["error"] == "invalid"


async def test_bad_or_foreign_cursor_is_400(profiles: httpx.AsyncClient, people: dict[str, Any]) -> None:
    w = people["word"]
    assert (await profiles.get("/v1/members/search", params={"q": "ada", "cursor": "!!garbage"})).json()["error"] == "invalid_cursor"
    page = (await profiles.get("/v1/members/search", params={"q": f"crowd {w}", "limit": 1})).json()
    other = await profiles.get("/v1/members/search", params={"q": "something else", "cursor": page["next_cursor"]})
    assert other.status_code == 400 and other.json()["error"] == "invalid_cursor"


async def test_punctuation_only_query_finds_nothing_without_error(profiles: httpx.AsyncClient, people: dict[str, Any]) -> None:
    resp = await profiles.get("/v1/members/search", params={"q": "'\"&|!:*()"})
    assert resp.status_code == 200 and resp.json() == {"items": [], "next_cursor": None}


async def test_nul_in_query_is_422(profiles: httpx.AsyncClient) -> None:
    resp = await profiles.get("/v1/members/search", params={"q": "ada\x00"})
    assert resp.status_code == 422 and resp.json()["error"] == "invalid"


async def test_a_very_common_term_ranks_a_bounded_number_of_candidates(settings_for: Any, keys_file: Any, profiles: httpx.AsyncClient) -> None:
    from services.profiles.main import create_app
    from tests.conftest import AppClient
    from tests.integration.profiles.conftest import TEST_OVERRIDES

    word = "common" + uuid.uuid4().hex[:8]
    for i in range(12):
        m = await register(profiles, f"cm{i}")
        assert (await profiles.patch("/v1/profiles/me", json={"headline": f"{word} person"}, headers=m.auth)).status_code == 200
    assert len(await ids(profiles, word, limit=50)) == 12  # the default bound (1000) is far away

    wrapper = AppClient(create_app(settings_for("profiles", signing_keys_file=keys_file, search_max_candidates=10, **TEST_OVERRIDES)))
    capped = await wrapper.__aenter__()
    try:
        seen: list[str] = []
        cursor = None
        while True:
            page = (await capped.get("/v1/members/search", params={"q": word, "limit": 4} | ({"cursor": cursor} if cursor else {}))).json()
            seen += [i["member_id"] for i in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert len(seen) == len(set(seen)) == 10
    finally:
        await wrapper.__aexit__(None, None, None)
