"""Sign-in, access tokens every service can verify, refresh rotation with reuse detection, sign-out,
key rotation, and throttled sign-ins — through the real app on the real database."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest

from services.kit.auth import TokenVerifier
from services.profiles import keys
from tests.integration.profiles.conftest import PASSWORD, login, register


class AppJwks(TokenVerifier):
    """kit's verifier, fetching the JWKS from the profiles app over its HTTP interface (as services do)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        super().__init__("http://test/.well-known/jwks.json", min_refresh_seconds=0)
        self.client = client

    async def _fetch(self) -> dict[str, Any]:
        resp = await self.client.get("/.well-known/jwks.json")
        resp.raise_for_status()
        return resp.json()  # type: ignore[no-any-return]


async def test_jwks_publishes_public_keys_only(profiles: httpx.AsyncClient) -> None:
    resp = await profiles.get("/.well-known/jwks.json")
    assert resp.status_code == 200
    (key,) = resp.json()["keys"][:1]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["use"] == "sig" and key["alg"] == "EdDSA" and key["kid"]
    assert all("d" not in k for k in resp.json()["keys"])


async def test_access_token_has_the_contract_claims_and_passes_kit_verifier(profiles: httpx.AsyncClient) -> None:
    m = await register(profiles, "tok")
    header = jwt.get_unverified_header(m.access)
    claims = jwt.decode(m.access, options={"verify_signature": False})
    assert header["alg"] == "EdDSA" and header["kid"]
    assert claims["iss"] == "agora" and claims["aud"] == "agora" and claims["typ"] == "access"
    assert claims["sub"] == str(m.id) and claims["jti"]
    assert 60 <= claims["exp"] - claims["iat"] <= 900
    principal = await AppJwks(profiles).verify(m.access)
    assert principal.member_id == m.id


async def test_sign_in_answer_shape_and_email_is_case_insensitive(profiles: httpx.AsyncClient) -> None:
    m = await register(profiles, "shape", sign_in=False)
    tokens = await login(profiles, m.email.upper(), PASSWORD)
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    assert tokens["refresh_token"] and tokens["access_token"]
    me = await profiles.get("/v1/accounts/me", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["handle"] == m.handle


@pytest.mark.parametrize("body", [{}, {"email": "a@b.c"}, {"email": "a@b.c", "password": 7}, {"email": "a@b.c", "password": "x", "remember": True}])
async def test_sign_in_bad_input_is_422(profiles: httpx.AsyncClient, body: dict[str, Any]) -> None:
    resp = await profiles.post("/v1/sessions", json=body)
    assert resp.status_code == 422 and resp.json()["error"] == "invalid"


async def test_wrong_password_and_unknown_email_look_the_same(profiles: httpx.AsyncClient) -> None:
    m = await register(profiles, "wrong", sign_in=False)
    a = await profiles.post("/v1/sessions", json={"email": m.email, "password": "not the password"}, headers={"x-agora-client-origin": uuid.uuid4().hex})
    b = await profiles.post("/v1/sessions", json={"email": f"nobody-{uuid.uuid4().hex}@example.org", "password": "x" * 12},
                            headers={"x-agora-client-origin": uuid.uuid4().hex})
    assert a.status_code == b.status_code == 401
    assert a.json()["error"] == b.json()["error"] == "invalid_credentials"
    assert a.json()["message"] == b.json()["message"]


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(profiles: httpx.AsyncClient) -> None:
    m = await register(profiles, "rot")
    first = m.refresh
    r1 = await profiles.post("/v1/sessions/refresh", json={"refresh_token": first})
    assert r1.status_code == 200, r1.text
    second = r1.json()["refresh_token"]
    assert second != first
    assert (await AppJwks(profiles).verify(r1.json()["access_token"])).member_id == m.id

    # The first token again: reuse. The answer is 401 and the family (including `second`) is revoked.
    reuse = await profiles.post("/v1/sessions/refresh", json={"refresh_token": first})
    assert reuse.status_code == 401 and reuse.json()["error"] == "refresh_token_reused"
    after = await profiles.post("/v1/sessions/refresh", json={"refresh_token": second})
    assert after.status_code == 401 and after.json()["error"] == "refresh_token_revoked"

    # Another sign-in (another family) is unaffected.
    other = await login(profiles, m.email, PASSWORD)
    assert (await profiles.post("/v1/sessions/refresh", json={"refresh_token": other["refresh_token"]})).status_code == 200


async def test_unknown_or_malformed_refresh_token_is_401_or_422(profiles: httpx.AsyncClient) -> None:
    resp = await profiles.post("/v1/sessions/refresh", json={"refresh_token": "not-a-token"})
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_refresh_token"
    assert (await profiles.post("/v1/sessions/refresh", json={"refresh_token": ""})).status_code == 422
    assert (await profiles.post("/v1/sessions/refresh", content=b"{not json", headers={"content-type": "application/json"})).status_code == 400


async def test_expired_refresh_token_is_refused(profiles: httpx.AsyncClient, test_infra: Any) -> None:
    m = await register(profiles, "exp")
    conn = await asyncpg.connect(test_infra.database_url)
    try:
        await conn.execute("UPDATE profiles.refresh_tokens SET expires_at = now() - interval '1 second' WHERE member_id = $1", m.id)
    finally:
        await conn.close()
    resp = await profiles.post("/v1/sessions/refresh", json={"refresh_token": m.refresh})
    assert resp.status_code == 401 and resp.json()["error"] == "refresh_token_expired"


async def test_sign_out_revokes_this_session_only_and_everywhere_revokes_all(profiles: httpx.AsyncClient) -> None:
    m = await register(profiles, "out")
    other = await login(profiles, m.email, PASSWORD)
    assert (await profiles.delete("/v1/sessions", headers=m.auth)).status_code == 204
    assert (await profiles.post("/v1/sessions/refresh", json={"refresh_token": m.refresh})).json()["error"] == "refresh_token_revoked"
    r = await profiles.post("/v1/sessions/refresh", json={"refresh_token": other["refresh_token"]})
    assert r.status_code == 200
    third = await login(profiles, m.email, PASSWORD)
    resp = await profiles.delete("/v1/sessions", params={"everywhere": "true"}, headers={"authorization": f"Bearer {third['access_token']}"})
    assert resp.status_code == 204
    for token in (r.json()["refresh_token"], third["refresh_token"]):
        assert (await profiles.post("/v1/sessions/refresh", json={"refresh_token": token})).status_code == 401


async def test_bad_or_expired_access_tokens_are_401(profiles: httpx.AsyncClient, keys_file: Path) -> None:
    m = await register(profiles, "bad")
    assert (await profiles.get("/v1/profiles/me")).status_code == 401
    assert (await profiles.get("/v1/profiles/me", headers={"authorization": "Bearer nonsense"})).json()["error"] == "invalid_token"
    ring = keys.KeyRing.from_file(keys_file)
    now = int(time.time())
    expired = ring.sign({"iss": "agora", "aud": "agora", "sub": str(m.id), "iat": now - 1000, "exp": now - 100, "jti": "x", "typ": "access"})
    resp = await profiles.get("/v1/profiles/me", headers={"authorization": f"Bearer {expired}"})
    assert resp.status_code == 401 and resp.json()["error"] == "token_expired"
    # Right claims, signed by a key profiles never published.
    forged = keys.KeyRing(keys.parse_key_set({"keys": [keys.new_key()]})).sign(
        {"iss": "agora", "aud": "agora", "sub": str(m.id), "iat": now, "exp": now + 100, "jti": "y", "typ": "access"})
    assert (await profiles.get("/v1/profiles/me", headers={"authorization": f"Bearer {forged}"})).status_code == 401


async def test_key_rotation_keeps_older_tokens_valid(profiles: httpx.AsyncClient, keys_file: Path) -> None:
    m = await register(profiles, "rotkey")
    old_kid = jwt.get_unverified_header(m.access)["kid"]
    new_kid = keys.rotate(keys_file)
    ring = profiles._transport.app.state.identity.keys  # type: ignore[attr-defined]
    ring._checked_at = 0.0  # the running service notices the rewritten file (without waiting the reload interval)
    published = {k["kid"] for k in (await profiles.get("/.well-known/jwks.json")).json()["keys"]}
    assert {old_kid, new_kid} <= published
    fresh = await login(profiles, m.email, PASSWORD)
    assert jwt.get_unverified_header(fresh["access_token"])["kid"] == new_kid
    verifier = AppJwks(profiles)
    for token in (m.access, fresh["access_token"]):
        assert (await verifier.verify(token)).member_id == m.id
        assert (await profiles.get("/v1/profiles/me", headers={"authorization": f"Bearer {token}"})).status_code == 200


async def test_failed_sign_ins_are_throttled_per_account_with_retry_after(profiles: httpx.AsyncClient, test_infra: Any) -> None:
    m = await register(profiles, "thr", sign_in=False)
    for _ in range(3):  # the free failures (3 in tests), each from a different address
        r = await profiles.post("/v1/sessions", json={"email": m.email, "password": "wrong password"}, headers={"x-agora-client-origin": uuid.uuid4().hex})
        assert r.status_code == 401
    # Locked now: even the right password from a fresh address is refused without being checked.
    locked = await profiles.post("/v1/sessions", json={"email": m.email, "password": PASSWORD}, headers={"x-agora-client-origin": uuid.uuid4().hex})
    assert locked.status_code == 429 and locked.json()["error"] == "rate_limited"
    assert 1 <= int(locked.headers["retry-after"]) <= 30
    # When the wait is over, the right password works and clears the counter.
    conn = await asyncpg.connect(test_infra.database_url)
    try:
        await conn.execute("UPDATE profiles.login_failures SET locked_until = now() - interval '1 second' WHERE key = $1", f"email:{m.email.lower()}")
    finally:
        await conn.close()
    await login(profiles, m.email, PASSWORD)
    r = await profiles.post("/v1/sessions", json={"email": m.email, "password": "wrong password"}, headers={"x-agora-client-origin": uuid.uuid4().hex})
    assert r.status_code == 401  # the counter started over


async def test_failed_sign_ins_are_throttled_per_client_address(profiles: httpx.AsyncClient) -> None:
    origin = uuid.uuid4().hex
    for i in range(6):  # 6 free per address in tests, spread over accounts that do not exist
        r = await profiles.post("/v1/sessions", json={"email": f"spray{i}-{origin}@example.org", "password": "guess guess"}, headers={"x-agora-client-origin": origin})
        assert r.status_code == 401
    m = await register(profiles, "addr", sign_in=False)
    r = await profiles.post("/v1/sessions", json={"email": m.email, "password": PASSWORD}, headers={"x-agora-client-origin": origin})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # The same account from another address is fine.
    await login(profiles, m.email, PASSWORD)


async def test_concurrent_refreshes_of_one_token_leave_at_most_one_winner(profiles: httpx.AsyncClient) -> None:
    m = await register(profiles, "race")
    results = await asyncio.gather(*(profiles.post("/v1/sessions/refresh", json={"refresh_token": m.refresh}) for _ in range(3)))
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) <= 1 and all(c in (200, 401) for c in codes)


async def test_tokens_of_a_missing_signing_setup_are_refused_with_503(settings_for: Any) -> None:
    from services.profiles.main import create_app
    from tests.conftest import AppClient
    from tests.integration.profiles.conftest import TEST_OVERRIDES

    wrapper = AppClient(create_app(settings_for("profiles", **TEST_OVERRIDES)))
    client = await wrapper.__aenter__()
    try:
        r = await client.post("/v1/sessions", json={"email": "x@example.org", "password": "whatever1234"})
        assert r.status_code == 503 and r.json()["error"] == "signing_keys_unavailable"
        assert (await client.get("/.well-known/jwks.json")).json() == {"keys": []}
    finally:
        await wrapper.__aexit__(None, None, None)



async def test_without_the_gateway_origin_failures_count_per_account_only(profiles: httpx.AsyncClient) -> None:
    # Every direct request shares one peer address (the gateway's, in production): counting it would lock everybody out.
    for i in range(8):
        r = await profiles.post("/v1/sessions", json={"email": f"nobody{i}-{uuid.uuid4().hex}@example.org", "password": "guess guess"})
        assert r.status_code == 401
    m = await register(profiles, "direct", sign_in=False)
    assert (await profiles.post("/v1/sessions", json={"email": m.email, "password": PASSWORD})).status_code == 201


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/sessions", '{"email": "a\\u0000@example.org", "password": "whatever1234"}'),
    ("/v1/sessions", '{"email": "a@example.org", "password": "bad \\udca1 surrogate"}'),
    ("/v1/sessions/refresh", '{"refresh_token": "\\udca1"}'),
    ("/v1/accounts", '{"email": "nul@example.org", "handle": "nul_user", "password": "long enough \\u0000"}'),
])
async def test_text_postgres_cannot_store_is_422_not_500(profiles: httpx.AsyncClient, path: str, body: str) -> None:
    resp = await profiles.post(path, content=body.encode(), headers={"content-type": "application/json"})
    assert resp.status_code == 422 and resp.json()["error"] == "invalid"


async def test_each_failure_after_the_free_ones_doubles_the_wait(profiles: httpx.AsyncClient, test_infra: Any) -> None:
    m = await register(profiles, "backoff", sign_in=False)
    key = f"email:{m.email.lower()}"

    async def fail() -> httpx.Response:
        return await profiles.post("/v1/sessions", json={"email": m.email, "password": "wrong password"}, headers={"x-agora-client-origin": uuid.uuid4().hex})

    async def unlock() -> None:
        conn = await asyncpg.connect(test_infra.database_url)
        try:
            await conn.execute("UPDATE profiles.login_failures SET locked_until = now() - interval '1 second' WHERE key = $1", key)
        finally:
            await conn.close()

    for _ in range(3):
        assert (await fail()).status_code == 401
    first = int((await fail()).headers["retry-after"])  # locked: base (30 s in tests)
    await unlock()
    assert (await fail()).status_code == 401  # the 4th failure is counted...
    second = int((await fail()).headers["retry-after"])  # ...and locks twice as long
    assert 25 <= first <= 30 and 55 <= second <= 60
