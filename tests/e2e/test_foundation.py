"""End to end on the running system: HTTP through the gateway → service → outbox → relay → real Kafka →
consumers → tallies, and an independent plain aiokafka reader checking the CloudEvents on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx

from tests.conftest import wait_until
from tests.support.kafka import headers, read_all


async def test_registration_is_announced_as_a_cloudevent_on_the_real_broker(system: Any, test_infra: Any, unique: str) -> None:
    trace = "00-" + uuid.uuid4().hex + "-" + uuid.uuid4().hex[:16] + "-01"
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        r = await client.post("/v1/accounts", json={"email": f"E2E-{unique}@Example.org", "handle": f"e2e_{unique}", "password": "correct horse battery"}, headers={"traceparent": trace})
    assert r.status_code == 201, r.text
    member_id = r.json()["id"]
    assert r.headers["traceparent"].split("-")[1] == trace.split("-")[1]

    async def published() -> list[Any]:
        msgs = await read_all(test_infra.bootstrap, f"{system.prefix}agora.profiles")
        return [m for m in msgs if headers(m).get("ce_subject") == member_id]

    (msg,) = await wait_until(published, timeout=30)
    h = headers(msg)
    assert h["ce_specversion"] == "1.0"
    assert h["ce_type"] == "profile.registered"
    assert h["ce_source"] == "agora/profiles"
    assert uuid.UUID(h["ce_id"])
    assert datetime.fromisoformat(h["ce_time"]).tzinfo is not None
    assert h["content-type"] == "application/json"
    assert h["ce_traceparent"].split("-")[1] == trace.split("-")[1]  # the request's trace reached Kafka
    assert msg.key == member_id.encode()
    import orjson

    data = orjson.loads(msg.value)
    assert data["member_id"] == member_id and data["handle"] == f"e2e_{unique}"
    assert "password" not in msg.value.decode() and "password_hash" not in data


async def test_sign_in_and_use_the_token_across_services(system: Any, unique: str) -> None:
    """A real session: profiles signs the token, content and connections verify it through the JWKS."""
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        creds = {"email": f"si-{unique}@example.org", "password": "correct horse battery"}
        r = await client.post("/v1/accounts", json={**creds, "handle": f"si_{unique}"})
        assert r.status_code == 201, r.text
        me = r.json()["id"]
        r = await client.post("/v1/sessions", json=creds)
        assert r.status_code == 201, r.text
        auth = {"authorization": f"Bearer {r.json()['access_token']}"}
        r = await client.post("/v1/posts", json={"kind": "question", "title": f"Hello {unique}?", "topics": ["intro"]}, headers=auth)
        assert r.status_code == 201, r.text
        assert r.json()["author_id"] == me
        bad = {"authorization": "Bearer " + r.request.headers["authorization"].split()[1][:-4] + "AAAA"}
        assert (await client.post("/v1/posts", json={"kind": "question", "title": "x", "topics": ["intro"]}, headers=bad)).status_code == 401


async def test_post_vote_and_tally_through_the_gateway(system: Any, issuer: Any, unique: str) -> None:
    author, voter, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        r = await client.post("/v1/posts", json={"kind": "link", "title": f"A link {unique}", "url": "https://example.org/a", "topics": ["news"]}, headers=issuer.headers(author))
        assert r.status_code == 201, r.text
        post_id = r.json()["id"]

        async def votable() -> bool:  # voting learns the post's author from content's event
            return (await client.get(f"/v1/tallies/{post_id}")).status_code == 200

        await wait_until(votable, timeout=30)
        for who, value in ((voter, 1), (other, 1), (other, 1), (voter, -1)):  # a repeat changes nothing; a change replaces
            r = await client.post("/v1/votes", json={"target_id": post_id, "value": value}, headers=issuer.headers(who))
            assert r.status_code == 202, r.text
            assert uuid.UUID(r.json()["vote_id"])

        async def tallied() -> dict[str, Any] | None:
            t = (await client.get(f"/v1/tallies/{post_id}")).json()
            return t if (t["ups"], t["downs"]) == (1, 1) else None

        t = await wait_until(tallied, timeout=30)
        assert t["score"] == 0


async def test_gateway_keeps_upstream_errors_and_the_error_shape(system: Any, issuer: Any, unique: str) -> None:
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        r = await client.post("/v1/votes", json={"target_id": str(uuid.uuid4()), "value": 1}, headers=issuer.headers(uuid.uuid4()))
        assert r.status_code == 404 and r.json()["error"] == "target_not_found"
        r = await client.post("/v1/votes", json={"target_id": "not-a-uuid", "value": 2}, headers=issuer.headers(uuid.uuid4()))
        assert r.status_code == 422 and r.json()["error"] == "invalid" and len(r.json()["detail"]) == 2
        r = await client.post("/v1/posts", content=b"{not json", headers={**issuer.headers(uuid.uuid4()), "content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] == "malformed_json"
        r = await client.post("/v1/posts", json={"kind": "link", "title": "x", "url": "https://e.org", "topics": ["a"]})
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
        r = await client.post("/v1/posts", json={"kind": "link", "title": "x", "url": "https://e.org", "topics": ["a"]}, headers={"authorization": "Bearer forged.token.here"})
        assert r.status_code == 401 and r.json()["error"] == "invalid_token"
        r = await client.get("/v1/nothing-here")
        assert r.status_code == 404 and r.json()["error"] == "route_not_found"
        r = await client.post("/v1/accounts", json={"email": "a@b.org", "handle": "ok_handle", "password": "long enough pw", "admin": True})
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "extra_forbidden"
