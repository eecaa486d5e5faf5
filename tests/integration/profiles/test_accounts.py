"""The account lifecycle through the real app: register, sign in, verify the email, change the password,
export, delete — with bad input refused (4xx, nothing changed) and the events on the real Kafka topic."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import wait_until
from tests.integration.profiles.conftest import PASSWORD, events_for, login, register


async def count(test_infra: Any, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(test_infra.database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"email": "not-an-email", "handle": "abc_def", "password": PASSWORD}, 422, "invalid"),
        ({"email": "a@example.org", "handle": "no spaces", "password": PASSWORD}, 422, "invalid"),
        ({"email": "a@example.org", "handle": "ab", "password": PASSWORD}, 422, "invalid"),
        ({"email": "a@example.org", "handle": "x" * 31, "password": PASSWORD}, 422, "invalid"),
        ({"email": "a@example.org", "handle": "abc_def", "password": "short"}, 422, "invalid"),
        ({"email": "a@example.org", "handle": "abc_def", "password": "p" * 129}, 422, "invalid"),
        ({"email": "a@example.org", "handle": "abc_def", "password": "password123"}, 422, "weak_password"),
        ({"email": "a@example.org", "handle": "abc_def", "password": "aaaaaaaaaaaa"}, 422, "weak_password"),
        ({"email": "a@example.org", "handle": "abc_def", "password": "my abc_def secret"}, 422, "weak_password"),
        ({"email": "a@example.org", "handle": "abc_def", "password": 1234567890}, 422, "invalid"),
        ({"email": "a@example.org", "handle": "abc_def", "password": PASSWORD, "role": "admin"}, 422, "invalid"),
        ({"email": ("x" * 250) + "@example.org", "handle": "abc_def", "password": PASSWORD}, 422, "invalid"),
    ],
)
async def test_registration_rejects_bad_input_and_creates_nothing(profiles: httpx.AsyncClient, test_infra: Any, body: dict[str, Any], status: int, error: str) -> None:
    resp = await profiles.post("/v1/accounts", json=body)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"] == error and resp.json()["message"]
    assert await count(test_infra, "SELECT count(*) FROM profiles.accounts WHERE lower(handle) = 'abc_def'") == 0


async def test_duplicate_email_or_handle_is_409_case_insensitively(profiles: httpx.AsyncClient) -> None:
    m = await register(profiles, "dup", sign_in=False)
    same_email = await profiles.post("/v1/accounts", json={"email": m.email.upper(), "handle": f"other_{uuid.uuid4().hex[:6]}", "password": PASSWORD})
    assert same_email.status_code == 409 and same_email.json()["error"] == "email_taken"
    same_handle = await profiles.post("/v1/accounts", json={"email": f"{uuid.uuid4().hex}@example.org", "handle": m.handle.upper(), "password": PASSWORD})
    assert same_handle.status_code == 409 and same_handle.json()["error"] == "handle_taken"


async def test_malformed_json_is_400(profiles: httpx.AsyncClient) -> None:
    resp = await profiles.post("/v1/accounts", content=b'{"email": ', headers={"content-type": "application/json"})
    assert resp.status_code == 400 and resp.json()["error"] == "malformed_json"


async def test_email_verification_flow_publishes_token_then_verified_and_trust(profiles: httpx.AsyncClient, relay: Any, test_infra: Any) -> None:
    m = await register(profiles, "verify")
    asked = await profiles.post("/v1/accounts/me/email-verification", headers=m.auth)
    assert asked.status_code == 202 and asked.json()["email"].lower() == m.email.lower()
    again = await profiles.post("/v1/accounts/me/email-verification", headers=m.auth)
    assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1

    # The mail sender's view: the token arrives on the bus.
    (requested,) = await wait_until(lambda: events_for(test_infra, m.id, "email.verification_requested"), timeout=30)
    assert requested["email"].lower() == m.email.lower() and requested["member_id"] == str(m.id) and requested["expires_at"]

    bad = await profiles.post("/v1/accounts/email-verification", json={"token": "x" + requested["token"]})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_verification_token"
    ok = await profiles.post("/v1/accounts/email-verification", json={"token": requested["token"]})
    assert ok.status_code == 200 and ok.json()["member_id"] == str(m.id)
    used = await profiles.post("/v1/accounts/email-verification", json={"token": requested["token"]})
    assert used.status_code == 400
    assert (await profiles.post("/v1/accounts/me/email-verification", headers=m.auth)).status_code == 409

    profile = (await profiles.get(f"/v1/profiles/{m.id}")).json()
    assert profile["trust"]["email_verified"] is True and profile["trust"]["level"] == "member"
    (verified,) = await wait_until(lambda: events_for(test_infra, m.id, "email.verified"), timeout=30)
    assert verified["member_id"] == str(m.id)
    (trust,) = await wait_until(lambda: events_for(test_infra, m.id, "trust.changed"), timeout=30)
    assert trust["previous_level"] == "new" and trust["trust_level"] == "member" and trust["email_verified"] is True and trust["karma"] == 0


async def test_change_password_needs_the_current_one_and_ends_every_session(profiles: httpx.AsyncClient) -> None:
    m = await register(profiles, "pw")
    origin = {"x-agora-client-origin": uuid.uuid4().hex}
    wrong = await profiles.put("/v1/accounts/me/password", json={"current_password": "not it at all", "new_password": "a brand new secret"}, headers=m.auth | origin)
    assert wrong.status_code == 403 and wrong.json()["error"] == "wrong_password"
    weak = await profiles.put("/v1/accounts/me/password", json={"current_password": PASSWORD, "new_password": "password123"}, headers=m.auth)
    assert weak.status_code == 422 and weak.json()["error"] == "weak_password"
    same = await profiles.put("/v1/accounts/me/password", json={"current_password": PASSWORD, "new_password": PASSWORD}, headers=m.auth)
    assert same.status_code == 422
    assert (await profiles.put("/v1/accounts/me/password", json={"new_password": "a brand new secret"}, headers=m.auth)).status_code == 422
    assert (await profiles.put("/v1/accounts/me/password", json={"current_password": PASSWORD, "new_password": "a brand new secret"})).status_code == 401
    # Nothing above changed anything: the old password and the session still work.
    assert (await profiles.post("/v1/sessions/refresh", json={"refresh_token": m.refresh})).status_code == 200
    other = await login(profiles, m.email, PASSWORD)

    ok = await profiles.put("/v1/accounts/me/password", json={"current_password": PASSWORD, "new_password": "a brand new secret"}, headers=m.auth)
    assert ok.status_code == 204
    assert (await profiles.post("/v1/sessions/refresh", json={"refresh_token": other["refresh_token"]})).status_code == 401
    old = await profiles.post("/v1/sessions", json={"email": m.email, "password": PASSWORD}, headers={"x-agora-client-origin": uuid.uuid4().hex})
    assert old.status_code == 401
    await login(profiles, m.email, "a brand new secret")


async def test_export_holds_what_profiles_knows(profiles: httpx.AsyncClient) -> None:
    m = await register(profiles, "export")
    await profiles.patch("/v1/profiles/me", json={"bio": "my private notes", "visibility": {"bio": "private"}}, headers=m.auth)
    resp = await profiles.get("/v1/accounts/me/export", headers=m.auth)
    assert resp.status_code == 200
    data = resp.json()
    assert data["account"]["email"].lower() == m.email.lower() and data["account"]["handle"] == m.handle
    assert data["profile"]["bio"] == "my private notes" and data["profile"]["visibility"]["bio"] == "private"
    assert len(data["sessions"]) == 1 and data["sessions"][0]["revoked"] is False
    assert data["connections"] == [] and data["authored_scores"] == []
    assert (await profiles.get("/v1/accounts/me/export")).status_code == 401


async def test_delete_account_erases_data_and_publishes_the_event(profiles: httpx.AsyncClient, relay: Any, test_infra: Any) -> None:
    m = await register(profiles, "gone")
    await profiles.patch("/v1/profiles/me", json={"display_name": "Soon Gone", "headline": "Leaving"}, headers=m.auth)
    await profiles.post("/v1/accounts/me/email-verification", headers=m.auth)

    assert (await profiles.request("DELETE", "/v1/accounts/me", headers=m.auth)).status_code == 422  # password required
    wrong = await profiles.request("DELETE", "/v1/accounts/me", json={"password": "not my password"}, headers=m.auth | {"x-agora-client-origin": uuid.uuid4().hex})
    assert wrong.status_code == 403
    assert (await profiles.get(f"/v1/profiles/{m.id}")).status_code == 200  # still there

    resp = await profiles.request("DELETE", "/v1/accounts/me", json={"password": PASSWORD}, headers=m.auth)
    assert resp.status_code == 204
    for table, column in (("accounts", "id"), ("profiles", "member_id"), ("refresh_tokens", "member_id"), ("email_verifications", "member_id")):
        assert await count(test_infra, f"SELECT count(*) FROM profiles.{table} WHERE {column} = $1", m.id) == 0, table
    assert (await profiles.get(f"/v1/profiles/{m.id}")).status_code == 404
    assert (await profiles.get("/v1/profiles/me", headers=m.auth)).status_code == 404
    assert (await profiles.post("/v1/sessions/refresh", json={"refresh_token": m.refresh})).status_code == 401
    gone = await profiles.post("/v1/sessions", json={"email": m.email, "password": PASSWORD}, headers={"x-agora-client-origin": uuid.uuid4().hex})
    assert gone.status_code == 401
    search = await profiles.get("/v1/members/search", params={"q": m.handle})
    assert all(item["member_id"] != str(m.id) for item in search.json()["items"])

    (deleted,) = await wait_until(lambda: events_for(test_infra, m.id, "account.deleted"), timeout=30)
    assert deleted["member_id"] == str(m.id) and deleted["deleted_at"]
    # The handle and the email are free again.
    again = await profiles.post("/v1/accounts", json={"email": m.email, "handle": m.handle, "password": PASSWORD})
    assert again.status_code == 201


async def test_registration_publishes_registered(profiles: httpx.AsyncClient, relay: Any, test_infra: Any) -> None:
    m = await register(profiles, "reg", sign_in=False)
    (event,) = await wait_until(lambda: events_for(test_infra, m.id, "profile.registered"), timeout=30)
    assert event["handle"] == m.handle and event["member_id"] == str(m.id)
