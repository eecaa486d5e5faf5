"""Members for end-to-end journeys, made through the gateway like a client app would."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import wait_until

PASSWORD = "correct horse battery"
Member = tuple[uuid.UUID, dict[str, str]]  # (member id, Authorization header)


async def member(client: httpx.AsyncClient, handle: str) -> Member:
    """Register and sign in; the member id and the header carrying a real access token."""
    creds = {"email": f"{handle}@example.org", "password": PASSWORD}
    r = await client.post("/v1/accounts", json={**creds, "handle": handle})
    assert r.status_code == 201, r.text
    r2 = await client.post("/v1/sessions", json=creds)
    assert r2.status_code == 201, r2.text
    return uuid.UUID(r.json()["id"]), {"authorization": f"Bearer {r2.json()['access_token']}"}


async def connect(client: httpx.AsyncClient, a: Member, b: Member, note: str | None = None) -> None:
    """a invites b, b accepts (waiting until connections has heard of both from profiles' events)."""

    async def invited() -> dict[str, Any] | None:
        r = await client.post("/v1/invitations", json={"to_id": str(b[0]), **({"note": note} if note else {})}, headers=a[1])
        assert r.status_code in (201, 404), r.text
        return r.json() if r.status_code == 201 else None

    invitation = await wait_until(invited, timeout=30)
    r = await client.post(f"/v1/invitations/{invitation['invitation_id']}/accept", headers=b[1])
    assert r.status_code == 200, r.text
